"""Prefect settings this machine needs, applied before Prefect is imported (an env var set by the
user always wins). Measured on this kind of machine: a cold ephemeral server takes 23–36 s here,
past Prefect's 20 s default; telemetry has nowhere to go offline."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_API_REQUEST_TIMEOUT": "120",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
}


def configure() -> None:
    home = Path(os.environ.get("BUMPLINE_HOME", ".bumpline")).resolve()
    os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


configure()
