"""`bumpline serve`: the line as a served, long-running system on this machine — a Prefect server
with its UI (loopback by default), the simulators of the line config (unless it names real tools),
and the runner that executes lots started from the UI's `run-lot` deployment. Ctrl-C (or SIGTERM)
stops all three, runner first, so no lot is left half-told."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from ruamel.yaml import YAML

from line.cli.common import LineOption, console, err, existing, or_exit
from line.cli.sim import sim_line
from line.config import load_line, rebind_ports
from line.ledger.database import home as ledger_home

ROOT = Path(__file__).resolve().parents[2]


def control_port(simline: Any) -> int | str:
    """The simulators' control port (the serve command always starts one)."""
    return simline.control.port if simline.control else "none"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


STOP_GRACE_S = 3.0     # all children at once, then SIGKILL: `serve` is gone within 5 s of SIGTERM


def stop_all(children: list[tuple[str, subprocess.Popen]], grace_s: float = STOP_GRACE_S) -> None:
    """Ask every child to stop at once (SIGINT to its process group), wait one shared grace, then kill
    what is left. A lot cut off here loses nothing: its lease lapses and `bumpline resume` finishes it."""
    alive = [(name, p) for name, p in children if p.poll() is None]
    for _, proc in alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + grace_s
    for name, proc in alive:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            err.print(f"{name} did not stop in {grace_s:.0f} s: killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(2)


def serve(line: str = LineOption,
          host: str = typer.Option("127.0.0.1", help="address of the Prefect UI and API (loopback by default)"),
          port: int = typer.Option(4200, help="port of the Prefect UI and API"),
          prefect_db: str = typer.Option("", help="Prefect's own database, e.g. postgresql+asyncpg://…/prefect "
                                                  "(default: SQLite under BUMPLINE_HOME)"),
          any_port: bool = typer.Option(False, help="simulators on free ports (the served line config is rewritten)"),
          speed: float = typer.Option(None, help="simulated clock speed (default: the line config's)"),
          max_lots: int = typer.Option(8, help="lots the runner runs at once"),
          charts_port: int = typer.Option(4201, help="port of the chart service (0: a free one; with --any-port "
                                                      "a free one too)"),
          alarm_webhook: str = typer.Option("", help="URL that gets every tool alarm as a JSON POST "
                                                     "(a Prefect automation; see `bumpline alarms`)")) -> None:
    """Bring up the Prefect UI, the simulators and the lot runner; print the UI address."""
    cfg = or_exit(lambda: load_line(existing(line)))
    home = ledger_home()
    logs = home / "serve"
    logs.mkdir(parents=True, exist_ok=True)
    api = f"http://{host}:{port}/api"
    env = {**os.environ, "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(home / "prefect")),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": api, "PREFECT_API_URL": api,
           "BUMPLINE_HOME": str(home), "BUMPLINE_MAX_LOTS": str(max_lots),
           "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
           "PREFECT_RUNNER_POLL_FREQUENCY": os.environ.get("PREFECT_RUNNER_POLL_FREQUENCY", "2")}   # 10 s default
    if prefect_db:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_db
    charts_port = free_port() if any_port or charts_port == 0 else charts_port
    env["BUMPLINE_CHARTS_URL"] = f"http://{host}:{charts_port}"
    children: list[tuple[str, subprocess.Popen]] = []
    simline = None
    stopping = False

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        if healthy(api):
            err.print(f"[red]error[/red] something already answers at {api}: another `bumpline serve`?")
            raise typer.Exit(1)
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port",
                                   str(port)], env=env, cwd=ROOT, start_new_session=True,
                                  stdout=(logs / "prefect-server.log").open("w"), stderr=subprocess.STDOUT)
        children.append(("Prefect server", server))
        served_line = str(Path(line).resolve())
        if cfg.simulation is not None:
            control = 0 if any_port else int(cfg.simulation.control.rsplit(":", 1)[1])
            simline = sim_line(cfg, any_port=any_port, speed=speed, control_port=control).start_in_thread()
            if any_port:
                bound = rebind_ports(cfg, simline.ports(), simline.endpoint_ports(), speed=simline.clock.speed)
                doc = bound.model_dump(mode="json", exclude_none=True)
                doc["simulation"]["control"] = f"127.0.0.1:{control_port(simline)}"
                served_line = str(logs / "line.yaml")
                with open(served_line, "w") as fh:
                    YAML().dump(doc, fh)
        env["BUMPLINE_LINE"] = served_line
        with console.status("starting the Prefect server (a cold start takes 20–40 s here)…"):
            deadline = time.monotonic() + 180
            while not healthy(api):
                if server.poll() is not None or time.monotonic() > deadline:
                    err.print(f"[red]error[/red] the Prefect server did not start; see {logs / 'prefect-server.log'}")
                    raise typer.Exit(1)
                time.sleep(0.5)
        if alarm_webhook:
            hook = subprocess.run([sys.executable, "-c", "from line.cli import main; main()", "alarms", "webhook",
                                   alarm_webhook], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
            if hook.returncode != 0:
                err.print(hook.stdout + hook.stderr)
                raise typer.Exit(1)
        runner = subprocess.Popen([sys.executable, "-m", "line.runner"], env=env, cwd=ROOT, start_new_session=True,
                                  stdout=(logs / "runner.log").open("w"), stderr=subprocess.STDOUT)
        children.append(("lot runner", runner))
        view = subprocess.Popen([sys.executable, "-m", "line.line_view"], env=env, cwd=ROOT, start_new_session=True,
                                stdout=(logs / "line-view.log").open("w"), stderr=subprocess.STDOUT)
        children.append(("line view", view))
        charts = subprocess.Popen([sys.executable, "-m", "line.chart_server", "--host", host, "--port", str(charts_port)],
                                  env=env, cwd=ROOT, start_new_session=True,
                                  stdout=(logs / "charts.log").open("w"), stderr=subprocess.STDOUT)
        children.append(("chart service", charts))
        table = Table(title=f"bumpline serving line {cfg.metadata.name}", show_header=False, title_justify="left")
        table.add_row("Prefect UI", f"http://{host}:{port}")
        table.add_row("start a lot", "Deployments → run-lot/bumpline → Run → Custom run")
        table.add_row("line config", served_line)
        table.add_row("simulators", f"{len(simline.tools)} tools, control 127.0.0.1:{control_port(simline)}"
                      if simline else "none: real tools")
        table.add_row("tool alarms", f"posted to {alarm_webhook}" if alarm_webhook else "ledger and event feed")
        table.add_row("line view", f"Artifacts → line-{cfg.metadata.name.lower()} (and -tools, -wip), written on every change")
        table.add_row("charts", f"{env['BUMPLINE_CHARTS_URL']}/charts/ (image artifacts of each step)")
        table.add_row("logs", str(logs))
        console.print(table)
        console.print("Ctrl-C stops the runner, the line view, the simulators and the server", highlight=False)
        while True:
            for name, proc in children:
                if proc.poll() is not None:
                    err.print(f"[red]error[/red] {name} exited ({proc.returncode}); see {logs}")
                    raise typer.Exit(1)
            time.sleep(1)
    except KeyboardInterrupt:
        stopping = True
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop_all(list(reversed(children)))
        if simline is not None:
            simline.stop_thread()
        if stopping:
            console.print("stopped: runner, simulators, Prefect server")
