"""1. Driver round trip: a status query through the bumpline driver against the same query made
with the raw library — pyvisa for SCPI, pymodbus for Modbus TCP — on loopback, in one run.

The query is the one the driver makes every 50 ms while a job runs: `ToolDriver.poll()` (job
status and live readings, decoded by the interface spec, followed by the state machine). The raw
side sends the same bytes: `JOB:INFO? <job>` as one pyvisa query; for the PLC the same two
holding-register reads (status block, readbacks block) with pymodbus. Rounds alternate between
the two so drift and other load on the machine hit both alike."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bench.common import Section, median, percentile

ROUNDS, PER_ROUND, WARMUP = 10, 150, 100
LIBRARY = {"SCPI": ("pyvisa", "pyvisa_py"), "Modbus TCP": ("pymodbus",)}


@contextmanager
def status_queries() -> Iterator[dict[str, tuple[Any, str, Callable[[], Any]]]]:
    """Per protocol, (driver, its job, raw query) against a simulator that has just finished the job."""
    import pyvisa
    from pymodbus.client import ModbusTcpClient

    from bench.common import driver_for, load_routes, pick_tool, sim_line, start_wafers
    from drivers.modbus_jobs import STATUS_SPAN
    from drivers.modbus_spec import span
    from drivers.wet_bench import interface as wet_spec

    route = load_routes("A")["A"]
    with sim_line(speed=600) as (sim, cfg), ExitStack() as stack:
        wafers = start_wafers(sim, route, "RT", 1)
        out: dict[str, tuple[Any, str, Callable[[], Any]]] = {}
        for label, kind in (("SCPI", "metrology"), ("Modbus TCP", "wet_bench")):
            rs = next(rs for rs in route.steps if rs.step.tool_kind == kind)
            tool = pick_tool(cfg, rs)
            d = driver_for(tool)
            d.connect()
            stack.callback(d.close)
            job = f"RT.{rs.step.id}"
            d.setup(job, wafers, rs.parameters)
            d.start()
            sim.clock.set_speed(1e5)
            d.wait()
            sim.clock.set_speed(600)
            assert d.poll().job_state == "PROCESS_COMPLETE"
            if label == "SCPI":
                # never rm.close(): pyvisa-py shares its resource-manager session across the process, and
                # closing it here would kill the drivers' own (drivers/transport/visa.py keeps one for good)
                rm = pyvisa.ResourceManager("@py")
                res = rm.open_resource(tool.address, timeout=3000)
                res.read_termination = res.write_termination = "\n"
                stack.callback(res.close)
                out[label] = (d, job, lambda res=res, line=f"JOB:INFO? {job}": res.query(line))
            else:
                host, port = tool.address.split("//")[1].split("/")[0].split(":")
                client = ModbusTcpClient(host, port=int(port), timeout=3, retries=0)
                client.connect()
                stack.callback(client.close)
                (s0, n0) = STATUS_SPAN
                (s1, n1) = span(wet_spec.INTERFACE.regmap[n] for n in wet_spec.INTERFACE.readbacks)

                def raw(client: Any = client, s0: int = s0, n0: int = n0, s1: int = s1, n1: int = n1) -> object:
                    a = client.read_holding_registers(s0, count=n0, device_id=1)
                    b = client.read_holding_registers(s1, count=n1, device_id=1)
                    return a.registers, b.registers
                out[label] = (d, job, raw)
        yield out


def measure(fns: dict[str, Callable[[], object]], rounds: int, per_round: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        for _ in range(WARMUP):
            fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            out = samples[name]
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t0)
    return samples


def command_kinds(queries: dict[str, tuple[Any, str, Callable[[], Any]]],
                  stack: ExitStack) -> dict[str, tuple[Callable[[], Any], Callable[[], Any], str]]:
    """Per command kind, (through the driver, the same bytes on a raw socket with Nagle off, goal)."""
    from bench import wire
    from drivers.modbus_jobs import STATUS_SPAN

    scpi, _, _ = queries["SCPI"]
    plc, _, _ = queries["Modbus TCP"]
    host, port = scpi.backend.transport.address.split("::")[1:3]
    raw_scpi = stack.enter_context(wire.connect(host, int(port)))
    mb = plc.backend.transport
    raw_mb = stack.enter_context(wire.connect(mb.host, mb.port))
    s0, n0 = STATUS_SPAN
    job_id_reg = 64                                # req_job_id: a staging register, harmless to write
    staged = [0x4A31] + [0] * 15
    return {
        "SCPI command (write + SYST:ERR?)": (lambda: scpi.backend.scpi.command("*CLS"),
                                             wire.scpi(raw_scpi, "*CLS", "SYST:ERR?"), "≤ 2×"),
        "SCPI query (*IDN?)": (lambda: scpi.backend.scpi.query("*IDN?"), wire.scpi(raw_scpi, "*IDN?"), ""),
        f"Modbus read ({n0} registers)": (lambda: mb.read(s0, n0), wire.modbus_read(raw_mb, s0, n0, mb.unit), ""),
        "Modbus write (16 registers)": (lambda: mb.write(job_id_reg, staged),
                                        wire.modbus_write(raw_mb, job_id_reg, staged, mb.unit), ""),
    }


def run(section: Section, quick: bool = False) -> None:
    rounds = 4 if quick else ROUNDS
    lib = {"SCPI": "pyvisa", "Modbus TCP": "pymodbus"}
    missed = []
    with status_queries() as queries, ExitStack() as stack:
        for label, (through_driver, raw_socket, goal) in command_kinds(queries, stack).items():
            s = measure({"driver": through_driver, "raw": raw_socket}, rounds, PER_ROUND)
            section.add(f"{label}, median", median(s["driver"]) * 1e3, "ms", "raw socket, TCP_NODELAY",
                        median(s["raw"]) * 1e3, goal=goal, note=f"{len(s['driver'])} calls each")
        section.text.append(
            "Per command kind: the driver's own call (`ScpiClient.command` / `.query`, `ModbusTransport.read` / "
            "`.write`) against the same bytes on a plain TCP socket with Nagle off, read back by hand "
            "(`bench/wire.py`) — the limit of loopback plus the simulator. Before TCP_NODELAY was set on every "
            "connection, each SCPI command paid ~44 ms for the peer's delayed ACK.")
        for label, (d, job, raw) in queries.items():
            s = measure({"driver": d.poll, "raw": raw}, rounds, PER_ROUND)
            drv_med, raw_med = median(s["driver"]) * 1e3, median(s["raw"]) * 1e3
            f = section.add(f"{label} status query, median", drv_med, "ms", f"raw {lib[label]}", raw_med,
                            goal="≤ 1.2×", note=f"{len(s['driver'])} calls each")
            section.add(f"{label} status query, p99", percentile(s["driver"], 99) * 1e3, "ms", f"raw {lib[label]}",
                        percentile(s["raw"], 99) * 1e3)
            if f.needs_why:
                missed.append((label, d, job, drv_med - raw_med, f.ratio, raw))
        section.text.append(
            "Status query = `ToolDriver.poll()` (what the driver sends every 50 ms while a job runs): SCPI "
            "`JOB:INFO? <job>` to a metrology simulator (MET01); Modbus: the status block and the readback block "
            "of a wet-bench PLC (WET01). The raw side sends the same request with pyvisa-py / pymodbus 3.11 and "
            f"does not decode. {rounds} alternating rounds of {PER_ROUND} calls after {WARMUP} warm-up calls; the "
            "simulators answer from a thread of the same process over loopback TCP (their share of the GIL is "
            "in both sides' figures).")
        for label, d, job, added_ms, ratio, raw in missed:
            explain(section, label, d, job, added_ms, ratio, raw)


def layers(label: str, d: Any, job: str, raw: Callable[[], Any]) -> list[tuple[str, float]]:
    """Median µs of the same status query entered at each layer of the driver, outermost last,
    measured in alternating rounds: each row's increase over the one before is that layer's cost."""
    b = d.backend
    if label == "SCPI":
        line = f"JOB:INFO? {job}"
        calls = {"raw pyvisa `query`": raw,
                 "`VisaTransport.query` (lock, reconnect/retry wrapper)": lambda: b.transport.query(line),
                 "`ScpiClient.query` (check and encode by the spec, split and typed decode, JSON readings)":
                     lambda: b.scpi.query("JOB:INFO?", job),
                 "`ScpiJobBackend.info` (the `JobStatus` record)": lambda: b.info(job),
                 "`ToolDriver.poll` (follow the state machine)": d.poll}
    else:
        from drivers.modbus_jobs import STATUS_SPAN

        (s0, n0), (s1, n1) = STATUS_SPAN, b._readback_span
        calls = {"raw pymodbus: two `read_holding_registers`": raw,
                 "`ModbusTransport.read` ×2 (lock, retry wrapper, chunking)":
                     lambda: (b.transport.read(s0, n0), b.transport.read(s1, n1)),
                 "`ModbusJobBackend.status` (decode both blocks by the register map)": b.status,
                 "`ModbusJobBackend.info` (match the job)": lambda: b.info(job),
                 "`ToolDriver.poll` (follow the state machine)": d.poll}
    s = measure(calls, 8, 300)
    return [(name, median(v) * 1e6) for name, v in s.items()]


def explain(section: Section, label: str, d: Any, job: str, added_ms: float, ratio: float,
            raw: Callable[[], Any], calls: int = 3000) -> None:
    """pyinstrument over driver polls (kept under bench/profiles/), and the query entered at each
    layer of the driver: what each layer adds."""
    from bench.profiles import library_time, profile

    name = "roundtrip_" + label.split()[0].lower()

    def loop() -> None:
        for _ in range(calls):
            d.poll()
    session = profile(loop, name, interval=0.0002)
    total, lib = library_time(session, "poll", LIBRARY[label])
    rows = layers(label, d, job, raw)
    section.text += ["", f"**{label}: where the driver's extra time goes.** The same query entered at each layer "
                     "(alternating rounds, medians); each row adds its layer to the one above:", "",
                     "| entered at | µs per call | added by this layer |", "|---|---:|---:|"]
    prev = None
    for n, us in rows:
        section.text.append(f"| {n} | {us:.1f} | {'' if prev is None else f'{us - prev:+.1f}'} |")
        prev = us
    section.text.append(f"\npyinstrument over {calls} `poll()` calls (`bench/profiles/{name}.txt`) puts "
                        f"{(total - lib) / total * 100:.0f} % of `poll()` outside {', '.join(LIBRARY[label])}.")
    adds = sorted(((n, b - a) for (_, a), (n, b) in zip(rows, rows[1:], strict=False)), key=lambda x: -x[1])
    total_add = rows[-1][1] - rows[0][1]
    top = "; ".join(f"{n.split(' (')[0]} {us:+.0f} µs" for n, us in adds[:2])
    section.why.append(f"- **{label} driver call**: {ratio:.2f}× the raw library ({rows[-1][1]:.0f} vs {rows[0][1]:.0f} µs "
                       f"in the layer run). The wire time is the library's; the {total_add:.0f} µs on top are bumpline's "
                       f"own Python, layer by layer: {top} — mostly decoding the reply by the interface spec "
                       + ("(fields, types, JSON readings)" if label == "SCPI" else
                          "(register map: enums, strings and floats of both blocks) and the transport's retry wrapper")
                       + " into a `JobStatus`, the price of a typed, spec-checked driver. "
                       "Once per 50 ms poll it is < 0.1 % of a core.")
