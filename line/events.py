"""Tool state changes and alarms as Prefect events, so they show in the UI's event feed and can
drive automations (e.g. page the equipment engineer on `bumpline.tool.alarm.*`). Each event's name
carries what happened, so the feed reads as a log: `bumpline.tool.state.EXECUTING_DEPOSIT`,
`bumpline.tool.alarm.7001-MISALIGNMENT` — alarms apart from state changes. The ledger stays the
record; an event that cannot be sent is logged and dropped, never a reason to stop a step."""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def emit_tool_event(tool_id: str, kind: str, name: str, payload: dict[str, Any],
                    related: dict[str, str] | None = None, detail: str = "") -> None:
    """`name` is the event's last word: `state` for an E10-relevant change, `alarm` for an alarm."""
    try:
        from prefect.events import emit_event

        rel = [{"prefect.resource.id": f"bumpline.{role}.{value}", "prefect.resource.role": role}
               for role, value in (related or {}).items() if value]
        tail = "".join(c if c.isalnum() or c in "-_" else "-" for c in detail)
        emit_event(event=f"bumpline.tool.{name}" + (f".{tail}" if tail else ""),
                   resource={"prefect.resource.id": f"bumpline.tool.{tool_id}", "prefect.resource.name": tool_id,
                             "bumpline.tool.kind": kind},
                   related=rel, payload=payload)
    except Exception as exc:  # noqa: BLE001 - the dashboard must never stop a step
        log.debug("event bumpline.tool.%s for %s not sent: %s", name, tool_id, exc)
