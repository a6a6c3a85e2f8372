"""5. Cold start: from typing `bumpline run` to the first wafer in a tool, against Prefect's own
start-up on this machine (a new Python process running a trivial flow: import, ephemeral server,
flow run). Both are separate processes started the way a user starts them, with a Prefect home
of their own that already holds its database (a first start ever also creates it: reported apart
when it happens). The tool is a simulator in this process; "first wafer in the tool" is the
moment it starts the job (the wafers enter the load lock)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from bench import BENCH_HOME, ROOT
from bench.common import Section, new_id, sim_line

COLD_HOME = BENCH_HOME / "cold"
SEED = "recipes/sputter/ti100-cu300-seed.yaml"
PROBE = """
import time
from prefect import flow

@flow(name="cold-start-probe", persist_result=False)
def probe():
    print("BODY", time.time(), flush=True)

probe()
"""


def cold_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(BUMPLINE_HOME=str(COLD_HOME), PREFECT_HOME=str(COLD_HOME / "prefect"),
               BUMPLINE_DB_URL=f"sqlite:///{COLD_HOME / 'ledger.db'}", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180", PYTHONUNBUFFERED="1")
    return env


def probe_flow(env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawn to the flow body running, and to the process exit."""
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, "-c", PROBE], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    body = float("nan")
    for line in proc.stdout:
        if line.startswith("BODY "):
            body = float(line.split()[1]) - t0
    proc.wait(300)
    return body, time.time() - t0


def import_prefect(env: dict[str, str]) -> float:
    t0 = time.time()
    subprocess.run([sys.executable, "-c", "import prefect"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time() - t0


def bumpline_run(env: dict[str, str]) -> tuple[float, float, int]:
    """`bumpline run` of one wafer on a simulated PVD01: seconds to the tool starting the job, to
    exit, and the exit code."""
    import yaml

    COLD_HOME.mkdir(parents=True, exist_ok=True)
    one = COLD_HOME / "line-one-tool.yaml"
    one.write_text(yaml.safe_dump({"apiVersion": "bumpline/v1", "kind": "Line", "metadata": {"name": "cold-start"},
                                   "tools": [{"id": "PVD01", "kind": "sputter",
                                              "address": "TCPIP0::127.0.0.1::15101::SOCKET"}]}))
    with sim_line(one, speed=600) as (sim, cfg):
        bound = COLD_HOME / "line-cold.yaml"
        bound.write_text(yaml.safe_dump({"apiVersion": "bumpline/v1", "kind": "Line", "metadata": {"name": "cold-start"},
                                         "tools": [{"id": "PVD01", "kind": "sputter", "address": cfg.tools[0].address}]}))
        lot = new_id("COLD")
        job_id = f"{lot}.S1.r0"
        tool = sim.tools["PVD01"]
        first: dict[str, float] = {}
        t0 = time.time()
        proc = subprocess.Popen([str(ROOT / ".venv/bin/bumpline"), "run", "--tool", "PVD01", "--recipe", SEED,
                                 "--wafers", "1", "--lot", lot, "--line", str(bound)], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def watch() -> None:
            while proc.poll() is None:
                job = tool.jobs.get(job_id)
                if job is not None and job.started_s is not None:
                    first["t"] = time.time() - t0
                    return
                time.sleep(0.005)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        rc = proc.wait(300)
        watcher.join(1)
        return first.get("t", float("nan")), time.time() - t0, rc


def run(section: Section, quick: bool = False) -> None:
    from line.ledger import Ledger

    env = cold_env()
    COLD_HOME.mkdir(parents=True, exist_ok=True)
    Ledger(env["BUMPLINE_DB_URL"]).dispose()            # the ledger exists, as on a line in use
    if not (COLD_HOME / "prefect" / "prefect.db").exists():
        body, total = probe_flow(env)
        section.add("first start ever: trivial Prefect flow (creates its database)", body, "s",
                    note=f"exit after {total:.1f} s; once per machine")
    imp = import_prefect(env)
    body, total = probe_flow(env)
    first, run_total, rc = bumpline_run(env)
    section.add("`bumpline run` → first wafer in the tool", first, "s", "Prefect start-up (spawn → flow body)", body,
                note=f"exit code {rc}")
    section.add("`bumpline run` → exit (1 wafer)", run_total, "s", "trivial Prefect flow → exit", total)
    section.add("`import prefect` in a new process", imp, "s")
    section.text += [
        "Each figure is one new process, started as a user starts it: `.venv/bin/bumpline run --tool PVD01 --recipe "
        f"{SEED} --wafers 1` against a simulated PVD01 (clock ×600) in the benchmark's process, and `python -c` of a "
        "trivial `@flow` for Prefect's own start-up. Both use Prefect's ephemeral server (no PREFECT_API_URL) with a "
        f"Prefect home of their own (`{COLD_HOME.relative_to(ROOT)}/prefect`) whose database already exists; the "
        "ledger already exists too. One run each — a start-up varies by several seconds here."]
    section.data.update(first=first, prefect_body=body, import_prefect=imp)
