"""The progress sender: a lot's end waits for its own artifacts' values, not for every lot's."""
import threading
import time
import uuid

import pytest

import line.prefect_api
from line import progress as pg


class SlowClient:
    """Stands in for Prefect's client: each request takes a while and is remembered."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, float]] = []

    def create_artifact(self, art):
        time.sleep(0.02)
        self.sent.append((art.key, art.data))
        return type("Made", (), {"id": uuid.uuid4()})()

    def update_artifact(self, art_id, art):
        time.sleep(0.02)
        self.sent.append((str(art_id), art.data))


def progress_of(run: uuid.UUID, key: str) -> pg.Progress:
    p = pg.Progress(key, key)          # outside a flow run: attached by hand
    p.flow_run_id = run
    return p


@pytest.fixture
def sender(monkeypatch):
    client = SlowClient()
    monkeypatch.setattr(line.prefect_api, "client", lambda: client)
    fresh = pg._Sender()
    monkeypatch.setattr(pg, "_SENDER", fresh)
    yield client
    fresh.flush(timeout_s=5)


def test_a_flush_waits_for_its_runs_values_only_while_another_run_keeps_sending(sender):
    mine, busy = uuid.uuid4(), uuid.uuid4()
    stop = threading.Event()

    def other_lot() -> None:      # another lot's job, moving all the time
        p, n = progress_of(busy, "other"), 0
        while not stop.is_set():
            n += 1
            p.update(n % 100, 100)
            time.sleep(0.001)

    t = threading.Thread(target=other_lot)
    t.start()
    try:
        time.sleep(0.1)
        lot = progress_of(mine, "lot")
        lot.update(7, 7)
        assert pg.flush_progress(mine, timeout_s=5)        # returns although the sender is never idle
        assert ("lot", 100.0) in sender.sent               # and the lot's last value was sent before it did
    finally:
        stop.set()
        t.join()


def test_a_flush_with_nothing_queued_returns_at_once(sender):
    t0 = time.monotonic()
    assert pg.flush_progress(uuid.uuid4(), timeout_s=5)
    assert time.monotonic() - t0 < 1


def test_a_lot_sends_its_own_last_values_while_the_sender_is_stuck_on_another_runs_request(sender, monkeypatch):
    release = threading.Event()
    slow_create = sender.create_artifact

    def stuck_for_other(art):       # the Prefect server answers another run's request very late
        if art.key == "other":
            release.wait(10)
        return slow_create(art)

    monkeypatch.setattr(sender, "create_artifact", stuck_for_other)
    other, mine = uuid.uuid4(), uuid.uuid4()
    progress_of(other, "other").update(1, 2)
    time.sleep(0.2)                                      # the sender is now inside that request
    lot = progress_of(mine, "lot")
    lot.update(7, 7)
    t0 = time.monotonic()
    try:
        assert pg.flush_progress(mine, timeout_s=5)
        assert time.monotonic() - t0 < 2                 # not behind the stuck request
        assert ("lot", 100.0) in sender.sent
    finally:
        release.set()
