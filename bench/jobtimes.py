"""How long a job takes on a tool, in simulated seconds: each kind's nominal job-time model, declared
in its spec (`drivers/<kind>/spec.py`) from the same handling times and physics its simulator runs —
computed, not measured, so the bottleneck bound and the SimPy model do not depend on how well the
host drives the line. The throughput benchmark checks them against the job logs of the real run."""
from __future__ import annotations

from typing import Any

from drivers.registry import kind_spec


def job_time_s(kind: str, body: dict[str, Any], n_wafers: int, options: dict[str, Any] | None = None) -> float:
    """Simulated seconds a job of `n_wafers` runs on a tool of `kind` (its `options`: cells …)."""
    return kind_spec(kind).job_time_s(body, n_wafers, options or {})
