"""Prefect automations the line installs: a tool alarm (`bumpline.tool.alarm.<ALID>-<NAME>`) posts to the fab's
alarm system or the equipment engineer's pager through a webhook.

The automation lives in the Prefect server, not in a lot's process: it fires for every alarm from
any worker, and it keeps firing while no lot runs. Installing it again replaces it (one per name).
"""
from __future__ import annotations

from typing import cast
from uuid import UUID

from drivers.errors import BumplineError

ALARM_AUTOMATION = "bumpline: tool alarm → webhook"
ALARM_WEBHOOK_BLOCK = "bumpline-alarm-webhook"

# Jinja over the event (Prefect renders it); `tojson` keeps quotes in alarm texts valid JSON.
ALARM_PAYLOAD = """{
  "source": "bumpline",
  "event": {{ event.event | tojson }},
  "tool": {{ event.resource.get("prefect.resource.name") | tojson }},
  "tool_kind": {{ event.resource.get("bumpline.tool.kind") | tojson }},
  "alid": {{ event.payload.alid | tojson }},
  "name": {{ event.payload.name | tojson }},
  "text": {{ event.payload.text | tojson }},
  "wafer": {{ event.payload.wafer | tojson }},
  "lot": {{ event.payload.lot | tojson }},
  "occurred": {{ event.occurred.isoformat() | tojson }}
}"""


def install_alarm_webhook(url: str) -> UUID:
    """Save the webhook (a Prefect Webhook block) and the automation that calls it on every tool
    alarm; replaces an earlier one of the same name. Needs PREFECT_API_URL of a server with its
    event services (any `prefect server start`). Returns the automation's id."""
    from prefect.automations import Automation, CallWebhook, EventTrigger, Posture
    from prefect.blocks.webhook import Webhook

    block_id = Webhook(method="POST", url=url, headers={"content-type": "application/json"}).save(
        ALARM_WEBHOOK_BLOCK, overwrite=True)
    remove_alarm_webhook()
    automation = Automation(
        name=ALARM_AUTOMATION,
        description="Every tool alarm of the bumpline line, posted as JSON to the alarm webhook.",
        trigger=EventTrigger(expect={"bumpline.tool.alarm.*"}, match={"prefect.resource.id": "bumpline.tool.*"},
                             posture=Posture.Reactive, threshold=1),
        actions=[CallWebhook(block_document_id=block_id, payload=ALARM_PAYLOAD)],
    ).create()
    created = cast(Automation, automation)     # Prefect's sync/async dual API: called from sync code, a value
    if created.id is None:
        raise BumplineError("the Prefect API created the alarm automation without an id")
    return created.id


def remove_alarm_webhook() -> bool:
    """Delete the alarm automation if there is one; True when it was there."""
    from prefect.automations import Automation

    try:
        cast(Automation, Automation.read(name=ALARM_AUTOMATION)).delete()
    except ValueError:          # not found
        return False
    return True
