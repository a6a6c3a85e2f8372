"""The line view has one writer that follows the ledger: written when anything changed, not when
nothing did; an alarm shows the tool down until the tool reports it cleared (an acknowledgement
changes nothing but who is named); the history under each key is bounded."""
from __future__ import annotations

import json

import pytest

from drivers.jobs import Alarm
from line.config import load_line
from line.ledger import Ledger
from line.line_view import LineView
from tests.support import ROOT

pytestmark = pytest.mark.prefect
LINE = ROOT / "deploy/lines/sim.yaml"


def versions(key: str) -> list:
    """The versions under a key, newest first."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                     sort=ArtifactSort.CREATED_DESC)


def table(key: str) -> dict[str, dict]:
    data = versions(key)[0].data
    rows = json.loads(data) if isinstance(data, str) else data
    return {row["tool"]: row for row in rows}


def test_the_line_view_follows_every_alarm_and_keeps_a_bounded_history(prefect_server, sqlite_url):
    ledger = Ledger(sqlite_url)
    view = LineView(ledger, load_line(LINE), keep=2)
    assert view.tick() and not view.tick()
    ledger.record_alarm("SP01", Alarm(7001, "MISALIGNMENT", "offset 46 µm", "L.C04.r0", "L.01", 3.0), None)
    assert view.tick()
    latest = versions(view.key)[0]
    assert "## Open alarms: 1" in latest.data and "SP01 7001 MISALIGNMENT (open, not acknowledged)" in latest.data
    assert "/v2/artifacts/key/line-sim-line-tools)" in latest.data            # a link to its tools table
    tools = table(f"{view.key}-tools")
    assert (tools["SP01"]["state"], tools["SP01"]["E10"]) == ("ALARM", "UNSCHEDULED_DOWNTIME")

    ledger.acknowledge_alarms("SP01", "ana", note="cleaning fiducials")
    assert view.tick()
    tools = table(f"{view.key}-tools")
    assert tools["SP01"]["E10"] == "UNSCHEDULED_DOWNTIME" and "ack by ana" in tools["SP01"]["last alarm"]

    ledger.alarms_cleared("SP01")                          # the tool says it is gone
    assert view.tick()
    assert "## Open alarms: 0" in versions(view.key)[0].data
    assert "SP01 7001 MISALIGNMENT (cleared)" in versions(view.key)[0].data      # still in the recent list
    view.prune()
    assert len(versions(view.key)) == 2 and len(versions(f"{view.key}-tools")) == 2
    ledger.dispose()
