"""Prefect progress artifacts (a lot's steps, a job's wafers), sent off the step's path: one sender
thread per process carries the newest value of each, so polling a tool never waits on the API."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

log = logging.getLogger(__name__)
PACE_S = 0.5
"""the sender's rest after each batch: an artifact moves at most twice a second, a lot's many small moves cost one request"""


class Progress:
    """A Prefect progress artifact (a lot's steps, a job's wafers) of the run it was made in. Updates
    never wait: the newest value goes to one sender thread per process (a lot's end sends its own: `flush`), so a
    step's polling — and the simulated clock — never waits on the Prefect API. Only a real change is
    queued; failures are logged, never a reason to stop a lot."""

    def __init__(self, key: str, what: str) -> None:
        from prefect.context import FlowRunContext, TaskRunContext

        self.key, self.what = key, what
        self.id: UUID | None = None
        self.last = -1.0
        flow, task = FlowRunContext.get(), TaskRunContext.get()
        self.flow_run_id = flow.flow_run.id if flow and flow.flow_run else (task.task_run.flow_run_id if task else None)
        self.task_run_id = task.task_run.id if task else None

    def update(self, done: int, total: int, note: str = "") -> None:
        pct = round(100.0 * done / total, 1) if total else 0.0
        if pct == self.last or self.flow_run_id is None:
            return                                  # unchanged, or no run to attach it to (a unit test)
        self.last = pct
        _SENDER.put(self, pct, f"{self.what}: {done}/{total}" + (f" — {note}" if note else ""))

    def send(self, client: SyncPrefectClient, pct: float, description: str) -> None:
        from prefect.client.schemas.actions import ArtifactCreate, ArtifactUpdate

        if self.id is None:
            self.id = client.create_artifact(ArtifactCreate(
                key=self.key, type="progress", data=pct, description=description,
                flow_run_id=self.flow_run_id, task_run_id=self.task_run_id)).id
        else:
            client.update_artifact(self.id, ArtifactUpdate(data=pct, description=description))


class _Sender:
    """One daemon thread that sends the newest pending value of each progress artifact."""

    def __init__(self) -> None:
        self.pending: dict[Progress, tuple[float, str]] = {}
        self.sending: set[Progress] = set()
        self.changed = threading.Condition()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def put(self, progress: Progress, pct: float, description: str) -> None:
        with self.changed:
            self.pending[progress] = (pct, description)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="progress-sender", daemon=True)
                self.thread.start()
        self.wake.set()

    def flush(self, flow_run_id: UUID | None = None, timeout_s: float = 10.0) -> bool:
        """Send now, from this thread, what is queued for this flow run's artifacts (None: for any
        run), after any of them the sender has in flight; False when that took past the timeout. A
        lot's last value is not lost when its process ends right after it, and a lot's end waits
        for its own few requests only — with 20 lots in a process the one sender is never idle, and
        a lot that waited until it was spent 0.6 s median (up to 4 s) at its end."""
        def mine(progress: Progress) -> bool:
            return flow_run_id is None or progress.flow_run_id == flow_run_id

        deadline = time.monotonic() + timeout_s
        while True:
            with self.changed:
                if not self.changed.wait_for(lambda: not any(map(mine, self.sending)),
                                             max(0.0, deadline - time.monotonic())):
                    return False
                own = self._take(mine)
                if not own:
                    return True
            self._send(own)

    def _take(self, which: Callable[[Progress], bool]) -> dict[Progress, tuple[float, str]]:
        """Pending values to send (the caller holds the lock): never one whose artifact is being
        written by another thread meanwhile (its first write creates it)."""
        out = {p: v for p, v in self.pending.items() if which(p) and p not in self.sending}
        for p in out:
            del self.pending[p]
        self.sending |= set(out)
        return out

    def _send(self, batch: dict[Progress, tuple[float, str]]) -> None:
        from line.prefect_api import client

        try:
            for progress, (pct, description) in batch.items():
                try:
                    progress.send(client(), pct, description)
                except Exception as exc:  # noqa: BLE001 - a view, never a reason to stop a lot
                    log.debug("progress %s not written: %s", progress.key, exc)
                with self.changed:
                    self.sending.discard(progress)
                    self.changed.notify_all()
        finally:
            with self.changed:
                self.sending -= set(batch)
                self.changed.notify_all()
                if self.pending:
                    self.wake.set()          # what was held back while this batch was in flight

    def _run(self) -> None:
        while True:
            try:
                self._serve()
            except Exception as exc:  # noqa: BLE001 - a view, never a reason to stop a lot
                log.debug("progress sender restarts: %s", exc)
                time.sleep(PACE_S)

    def _serve(self) -> None:
        while True:
            self.wake.wait(30)
            self.wake.clear()
            with self.changed:
                batch = self._take(lambda p: True)
            self._send(batch)
            time.sleep(PACE_S)            # gather a moment: one request per PACE_S, not one per move


_SENDER = _Sender()


def flush_progress(flow_run_id: UUID | None = None, timeout_s: float = 10.0) -> bool:
    """Wait until this flow run's progress values (None: every run's) reached Prefect (or the timeout)."""
    return _SENDER.flush(flow_run_id, timeout_s)
