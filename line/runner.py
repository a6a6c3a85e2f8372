"""The process that executes lots started from the UI: it serves the `run-lot` deployment and the
operator's `acknowledge-alarm` and `maintain-tool` forms (a Prefect runner: it polls the server for scheduled runs of its
deployments and runs each in a subprocess).
`bumpline serve` starts it with PREFECT_API_URL and BUMPLINE_LINE set; run it alone on a tool-bay
machine against a shared server (`python -m line.runner`)."""
from __future__ import annotations

import line.prefect_env  # noqa: F401 - Prefect's settings, before Prefect is imported

# isort: split

import os
from typing import cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from line.operate import acknowledge_alarm, maintain_tool, run_lot

DEPLOYMENT = "bumpline"


def main() -> None:
    limit = int(os.environ.get("BUMPLINE_MAX_LOTS", "8"))
    deployment = run_lot.to_deployment(name=DEPLOYMENT, tags=["bumpline"], description=(
        "Start a lot: pick its route (product), give it an id (blank: one is made) and a wafer count. "
        "Holds pause the run for a decision in its Resume form."))
    ack = acknowledge_alarm.to_deployment(name=DEPLOYMENT, tags=["bumpline"], description=(
        "Acknowledge a tool's open alarms (who, when, why). The tool stays down until it reports the alarm cleared."))
    maint = maintain_tool.to_deployment(name=DEPLOYMENT, tags=["bumpline"], description=(
        "Record maintenance (who, when, why): a consumable restarted on the tool, or the tool taken down / brought up."))
    serve(cast(RunnerDeployment, deployment), cast(RunnerDeployment, ack), cast(RunnerDeployment, maint), limit=limit,
          print_starting_message=True)   # sync call: a value


if __name__ == "__main__":
    main()
