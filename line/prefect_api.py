"""bumpline's own calls to the Prefect API (artifacts, progress) through one client per process.

Prefect's `create_*_artifact` helpers open a new HTTP client per call, and each new client loads
the CA bundle into a fresh SSL context — ~10 ms of CPU, more than the rest of a step's host work
at 20 lots. One client, kept per API URL (tests point a process at several servers), costs it once.
httpx clients are safe to share between threads."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

_clients: dict[tuple[str, str], SyncPrefectClient] = {}
_lock = threading.Lock()


def client() -> SyncPrefectClient:
    """The process's client for the API the current settings name."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL

    key = (str(PREFECT_API_URL.value() or ""), str(PREFECT_API_AUTH_STRING.value() or ""))
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = get_client(sync_client=True)
            found.__enter__()           # open for the life of the process (closed with it)
            _clients[key] = found
    return found


def create_artifact(kind: str, data: str, description: str, key: str | None = None) -> UUID:
    """An artifact of the flow or task run this thread is in (`kind`: markdown, image, table …)."""
    from prefect.client.schemas.actions import ArtifactCreate
    from prefect.utilities.context import get_task_and_flow_run_ids

    task_run_id, flow_run_id = get_task_and_flow_run_ids()
    return client().create_artifact(ArtifactCreate(type=kind, key=key, description=description, data=data,
                                                   flow_run_id=flow_run_id, task_run_id=task_run_id)).id
