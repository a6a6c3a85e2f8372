"""`bumpline sim …`: run the simulated line, inject faults, look at the world model."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from drivers.transport.address import parse_address
from line.cli.common import LineOption, console, err, or_exit
from line.config import LineConfig, load_line
from sim_hw.control_client import SimControl, SimControlError
from sim_hw.line import SimLine, SimToolSpec

T = TypeVar("T")
app = typer.Typer(no_args_is_help=True, help="Simulated tools.")


def control_for(cfg: LineConfig) -> SimControl:
    """A client of the simulated line's control port (the line config's, else the default one)."""
    host, port = (cfg.simulation.control if cfg.simulation else "127.0.0.1:15000").rsplit(":", 1)
    return SimControl(host, int(port), token_file=cfg.simulation.token_file if cfg.simulation else None)


def sim_line(cfg: LineConfig, any_port: bool = False, speed: float | None = None,
             control_port: int | None = None, serve: bool = True, noise: float = 1.0) -> SimLine:
    """Build (not start) the simulators a line config names (`serve=False`: the in-process tier)."""
    specs = []
    sim = cfg.simulation
    for t in cfg.tools:
        addr = parse_address(t.address)
        endpoints = {n: 0 if any_port else parse_address(a).port for n, a in t.endpoints.items()}
        specs.append(SimToolSpec(t.id, t.kind, addr.host, 0 if any_port else addr.port, endpoints,
                                 t.effective_limits(), {"drift": bool(sim and sim.drift), **t.capabilities, **t.options}))
    return SimLine(specs, speed=speed or (sim.speed if sim else 600.0), seed=sim.seed if sim else 0,
                   control_port=control_port, serve=serve, noise=noise, token_file=sim.token_file if sim else None)


@app.command()
def up(line: str = LineOption, speed: float = typer.Option(None, help="override the config's clock speed")) -> None:
    """Start every simulator the line config names, each on its own loopback port, in one process."""
    cfg = or_exit(lambda: load_line(line))
    control_port = int((cfg.simulation.control if cfg.simulation else "127.0.0.1:15000").rsplit(":", 1)[1])
    simline = sim_line(cfg, speed=speed, control_port=control_port)

    async def serve() -> None:
        await simline.start()
        table = Table(title=f"{cfg.metadata.name}: simulators up (clock ×{simline.clock.speed:g})")
        for col in ("tool", "kind", "address", "faults"):
            table.add_column(col)
        for t in cfg.tools:
            table.add_row(t.id, t.kind, "\n".join([t.address, *(f"{n}: {a}" for n, a in t.endpoints.items())]),
                          ", ".join(sorted(simline.tools[t.id].faults.known)))
        console.print(table)
        control = simline.control.port if simline.control else "none"
        token = simline.control.token_file if simline.control else None
        console.print(f"control port 127.0.0.1:{control}, its token in {token}  (bumpline sim fault TOOL FAULT)  "
                      "— Ctrl-C stops")
        try:
            await asyncio.Event().wait()
        finally:
            await simline.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        console.print("simulators stopped")
    except OSError as exc:
        err.print(f"[red]error[/red] cannot listen: {exc} (is another `bumpline sim up` running?)")
        raise typer.Exit(1) from None


def parse_params(params: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in params:
        key, sep, value = p.partition("=")
        if not sep:
            err.print(f"[red]error[/red] parameter {p!r} is not KEY=VALUE")
            raise typer.Exit(1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@app.command()
def fault(tool: str = typer.Argument(..., help="tool id"),
          name: str = typer.Argument(..., help="fault name (see the kind's simulator)"),
          params: list[str] = typer.Argument(None, help="KEY=VALUE …"),
          line: str = LineOption) -> None:
    """Arm a fault in a running simulator (e.g. `bumpline sim fault PVD01 hard_arc slot=7`)."""
    cfg = or_exit(lambda: load_line(line))
    result = ask(lambda: control_for(cfg).inject(tool, name, **parse_params(params or [])))
    console.print(f"armed {result['fault']} on {result['tool']} {result['params'] or ''}")


def ask(call: Callable[[], T]) -> T:
    """A control-port request; a refusal or an unreachable port is a one-line error and exit 1."""
    try:
        return call()
    except (OSError, SimControlError) as exc:
        err.print(f"[red]error[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None


@app.command()
def clear(tool: str = typer.Argument(..., help="tool id"),
          name: str = typer.Argument(None, help="one fault to clear (default: all)"), line: str = LineOption) -> None:
    """Disarm one fault (or all) on a simulated tool."""
    cfg = or_exit(lambda: load_line(line))
    ask(lambda: control_for(cfg).request("clear", tool=tool, fault=name))
    console.print(f"cleared {name or 'all faults'} on {tool}")


@app.command()
def world(wafer: str = typer.Argument(None, help="one wafer id (default: every wafer)"), line: str = LineOption) -> None:
    """Print the simulated physical truth (layer stacks) as JSON."""
    cfg = or_exit(lambda: load_line(line))
    console.print_json(data=ask(lambda: control_for(cfg).world(wafer)))


@app.command()
def jobs(tool: str = typer.Argument(None, help="one tool id (default: every tool)"), line: str = LineOption) -> None:
    """Print the simulators' job logs (what each tool actually ran)."""
    cfg = or_exit(lambda: load_line(line))
    console.print_json(data=ask(lambda: control_for(cfg).jobs(tool)))
