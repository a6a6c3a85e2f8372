"""The operator's day in real headless Chromium (Debian's) against `bumpline serve` on loopback:
start a lot from the deployment's run form, see it hold on a simulator fault the test injects,
answer the hold in the run's Resume form, and see the lot finish; the tool's alarm reaches a
webhook through a Prefect automation; the line view shows the alarm, an operator acknowledges it
from a form; the lot's progress advances; its charts and wafer maps load. Screenshots (the held
lot, the line view, the answered hold, the lot's artifact, a trend chart, the wafer maps) go to
.bumpline/screenshots/ (CI keeps them)."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from line.ledger import Ledger
from line.recipes.catalog import RecipeCatalog
from line.recipes.route import load_route
from tests.support import IN_CI, ROOT, cli, free_port, spawn, stop, wait_until
from tests.support import http_json as api

pytestmark = pytest.mark.prefect
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / ".bumpline" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]



@pytest.fixture
def alarm_inbox():
    """A stand-in for the fab's alarm system: an HTTP endpoint that keeps every JSON body posted to it."""
    received: list[dict] = []

    class Inbox(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alarms", received
    server.shutdown()


@pytest.fixture
def served(tmp_path, alarm_inbox):
    """`bumpline serve` as an operator starts it, on free ports; its UI base URL and home."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail("Debian's chromium is missing (make test installs it)")
        pytest.skip("chromium not installed (make test installs it)")
    port = free_port()
    home = tmp_path / "home"
    env = {**os.environ, "BUMPLINE_HOME": str(home), "COLUMNS": "200"}
    for key in [k for k in env if k.startswith("PREFECT_") and k != "PREFECT_SERVER_ANALYTICS_ENABLED"]:
        env.pop(key)                              # serve makes its own Prefect home and API address
    env.pop("BUMPLINE_DB_URL", None)
    log = (tmp_path / "serve.log").open("w")
    proc = spawn("serve", "--any-port", "--port", str(port), "--speed", "3000", "--alarm-webhook", alarm_inbox[0],
                 env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is None and api(base, "GET", "/api/deployments/name/run-lot/bumpline"),
                   300, "the run-lot deployment (see serve.log)")
        yield base, home, env
    finally:
        asked = time.monotonic()
        stop(proc, signal.SIGTERM, grace_s=60)    # as systemd or a shell's kill stops it
        took = time.monotonic() - asked
        log.close()
        text = (tmp_path / "serve.log").read_text()
        assert "stopped: runner, simulators, Prefect server" in text, text[-3000:]
        assert took < 5.0, f"serve took {took:.1f} s to stop on SIGTERM"


def state_badge(page, name: str):
    return page.locator('[data-slot="badge"]').filter(has_text=re.compile(rf"^\s*{name}\s*$")).first


def test_an_operator_starts_a_lot_and_answers_its_hold_in_the_ui(served, alarm_inbox):
    from playwright.sync_api import expect, sync_playwright

    base, home, env = served
    alarms = alarm_inbox[1]
    SHOTS.mkdir(parents=True, exist_ok=True)
    fault = cli("sim", "fault", "SP01", "misalignment", "um=45", "persistent=true",
                "--line", str(home / "serve" / "line.yaml"), env=env, timeout=60)
    assert fault.returncode == 0, fault.stdout + fault.stderr
    deployment = api(base, "GET", "/api/deployments/name/run-lot/bumpline")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/])[a-z]+://"), lambda r: r.abort())   # offline
        ctx.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)
        page = ctx.new_page()
        try:
            # the operator starts a lot from the deployment's run form
            page.goto(f"{base}/v2/deployments/deployment/{deployment['id']}")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Custom run").click()
            page.get_by_role("button", name="Select route").click()
            page.get_by_role("option", name="product-c-paste-core-bump", exact=True).click()
            page.get_by_label("lot_id (Optional)").fill("UI-1")
            page.get_by_label("wafers (Optional)").fill("2")
            page.screenshot(path=str(SHOTS / "01-start-lot-form.png"), full_page=True)
            page.get_by_role("button", name="Submit", exact=True).click()
            page.wait_for_url(re.compile(r"/v2/deployments/deployment/.*tab=Runs"))
            runs = wait_until(lambda: api(base, "POST", "/api/flow_runs/filter", {
                "deployments": {"id": {"any_": [deployment["id"]]}}}), 30, "the flow run")
            run = runs[0]
            assert run["parameters"]["route"] == "product-c-paste-core-bump" and run["parameters"]["lot_id"] == "UI-1"
            wait_until(lambda: api(base, "GET", f"/api/flow_runs/{run['id']}")["name"] == "UI-1", 120,
                       "the run named by its lot (once a worker starts it)")
            page.goto(f"{base}/v2/runs/flow-run/{run['id']}")

            def lot_progress() -> tuple[float, str]:
                found = api(base, "GET", "/api/artifacts/progress-lot-ui-1/latest")
                return (float(found["data"]), found["description"]) if found else (-1.0, "")

            # the printer misaligns: the lot holds and its run pauses for a decision
            expect(state_badge(page, "Paused")).to_be_visible(timeout=240_000)
            # the lot's progress artifact has advanced to the steps done before the held one
            route = load_route(ROOT / "recipes/routes/product-c-paste-core-bump.yaml", RecipeCatalog(ROOT / "recipes"))
            before = [s.step.id for s in route.steps].index("C04")          # the steps done before the held one
            pct, said = wait_until(lambda: (p := lot_progress())[0] > 0 and p, 30, "the lot's progress artifact")
            assert pct == round(100.0 * before / len(route.steps), 1), (pct, said)
            assert said.startswith(f"lot UI-1 steps done: {before}/{len(route.steps)}"), said
            ledger = Ledger(f"sqlite:///{home / 'ledger.db'}")
            assert ledger.lot("UI-1").status == "ON_HOLD" and "SP01" in ledger.lot("UI-1").hold_reason
            # the held step's task run is drawn as a failure named OnHold, never as a green success
            page.get_by_role("tab", name="Task Runs").click()
            expect(state_badge(page, "OnHold")).to_be_visible()
            held = wait_until(lambda: [t for t in api(base, "POST", "/api/task_runs/filter", {
                "flow_runs": {"id": {"any_": [run["id"]]}}}) if t["state"]["name"] == "OnHold"], 30, "the OnHold task run")
            assert held[0]["state"]["type"] == "FAILED" and held[0]["name"] == "C04"
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "02-lot-run-paused-on-hold.png"), full_page=True)

            # the line view (its one writer, started by serve) shows the printer down with the open alarm
            def line_view() -> str:
                found = api(base, "GET", "/api/artifacts/line-sim-line/latest")
                return found["data"] if found else ""
            wait_until(lambda: "SP01 7001 MISALIGNMENT (open, not acknowledged)" in line_view(), 60,
                       "the alarm in the line view")
            # an operator acknowledges it from the UI's form: recorded, and the tool stays down
            ack = api(base, "GET", "/api/deployments/name/acknowledge-alarm/bumpline")
            page.goto(f"{base}/v2/deployments/deployment/{ack['id']}")
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Custom run").click()
            page.get_by_label("tool", exact=True).fill("SP01")
            page.get_by_label("operator", exact=True).fill("ui-operator")
            page.get_by_label("note (Optional)").fill("cleaning the fiducials")
            page.get_by_role("button", name="Submit", exact=True).click()
            page.wait_for_url(re.compile(r"/v2/deployments/deployment/.*tab=Runs"))     # the UI made the run
            acks = wait_until(lambda: api(base, "POST", "/api/flow_runs/filter", {
                "deployments": {"id": {"any_": [ack["id"]]}}}), 30, "the acknowledge-alarm flow run")
            wait_until(lambda: "SP01 7001 MISALIGNMENT (open, ack by ui-operator)" in line_view(), 120,
                       lambda: f"the acknowledgement in the line view (its run: "
                               f"{api(base, 'GET', '/api/flow_runs/' + acks[0]['id'])['state']})")
            tools = {row["tool"]: row for row in json.loads(api(base, "GET", "/api/artifacts/line-sim-line-tools/latest")["data"])}
            assert tools["SP01"]["E10"] == "UNSCHEDULED_DOWNTIME"             # acknowledged is not cleared
            page.goto(f"{base}/v2/artifacts/key/line-sim-line")
            page.locator('a[href*="/artifacts/artifact/"]').first.click()
            expect(page.get_by_text(re.compile("Open alarms: 1")).first).to_be_visible()
            page.screenshot(path=str(SHOTS / "06-line-view-alarm-acknowledged.png"), full_page=True)
            page.goto(f"{base}/v2/runs/flow-run/{run['id']}")

            page.get_by_role("button", name="Open menu", exact=True).click()
            page.get_by_role("menuitem", name="Resume").click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_text("Lot UI-1 is on hold.")).to_be_visible()
            expect(dialog.get_by_text("7001 MISALIGNMENT", exact=True)).to_be_visible()   # the evidence behind it
            # no decision is pre-set and the operator must sign: an unsigned, undecided answer is refused
            dialog.get_by_role("button", name="Resume", exact=True).click()
            page.wait_for_timeout(1000)
            expect(dialog).to_be_visible()
            assert api(base, "GET", f"/api/flow_runs/{run['id']}")["state"]["type"] == "PAUSED"
            dialog.get_by_role("button", name="Select Decision").click()
            page.get_by_role("option", name="rework", exact=True).click()
            dialog.get_by_label("Operator", exact=True).fill("ui-operator")
            dialog.get_by_label("Note (Optional)").fill("SP01 fiducials dirty; rework on the other printer")
            dialog.screenshot(path=str(SHOTS / "03-hold-answer-form.png"))
            dialog.get_by_role("button", name="Resume", exact=True).click()
            expect(dialog).to_be_hidden()

            # the lot goes on with the decision and finishes
            wait_until(lambda: api(base, "GET", f"/api/flow_runs/{run['id']}")["state"]["type"] == "COMPLETED", 240,
                       "the lot's run to complete")
            assert wait_until(lambda: lot_progress()[0] == 100.0, 30, "the lot's progress at 100 %")
            page.reload()
            expect(state_badge(page, "Completed")).to_be_visible()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(SHOTS / "04-lot-run-completed.png"), full_page=True)
            page.get_by_role("tab", name="Artifacts").click()
            card = page.locator('a[href$="/artifacts/key/lot-ui-1"]').first
            expect(card).to_be_visible()
            latest = api(base, "GET", "/api/artifacts/lot-ui-1/latest")      # the newest version of the lot's view
            assert "rework by ui-operator" in latest["data"] and "fiducials dirty" in latest["data"]
            card.click()                                  # the key's page: its versions, newest first
            page.locator('a[href*="/artifacts/artifact/"]').first.click()
            expect(page.get_by_role("heading", name=re.compile("Lot UI-1"))).to_be_visible()
            expect(page.get_by_text(re.compile("rework by ui-operator")).first).to_be_visible()
            expect(page.get_by_text(re.compile("fiducials dirty")).first).to_be_visible()     # the operator's note
            expect(page.get_by_role("cell", name="COMPLETE (rework 1)")).to_be_visible()   # C04, redone on SP02
            page.screenshot(path=str(SHOTS / "05-lot-artifact-with-answered-hold.png"), full_page=True)

            # each finished step's charts are image artifacts of the run, drawn by the line's chart service
            images = api(base, "POST", "/api/artifacts/filter", {"artifacts": {"type": {"any_": ["image"]}},
                                                                  "flow_runs": {"id": {"any_": [run["id"]]}}})
            trends = [a["data"] for a in images if "/charts/trend.png" in a["data"]]
            assert trends and any("/charts/step.png" in a["data"] for a in images)
            shown = page.goto(trends[0])
            assert shown is not None and shown.status == 200 and shown.headers["content-type"] == "image/png"
            page.screenshot(path=str(SHOTS / "07-trend-chart.png"))
            # the final metrology's wafer maps: an image artifact the UI draws from the chart service
            maps = [a for a in images if "/charts/map.png" in a["data"] and "bump.height" in a["data"]]
            assert maps, [a["data"] for a in images]
            page.goto(f"{base}/v2/artifacts/artifact/{maps[0]['id']}")
            drawn = page.locator('img[src*="/charts/map.png"]').first
            expect(drawn).to_be_visible()
            assert page.evaluate("(img) => img.complete && img.naturalWidth > 400", drawn.element_handle())
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / "08-wafer-map.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    # the tool's alarm went out through the Prefect automation `serve --alarm-webhook` installed
    posted = wait_until(lambda: [a for a in alarms if a["tool"] == "SP01"], 60, "the alarm webhook")
    assert posted[0]["name"] == "MISALIGNMENT" and posted[0]["lot"] == "UI-1" and posted[0]["alid"] == 7001
    assert posted[0]["event"] == "bumpline.tool.alarm.7001-MISALIGNMENT" and "µm" in posted[0]["text"]
    hold = ledger.holds("UI-1")[0]
    assert (hold.reason_type, hold.decision, hold.decided_by) == ("ALARM", "rework", "ui-operator")
    assert hold.note == "SP01 fiducials dirty; rework on the other printer"
    assert ledger.lot("UI-1").status == "COMPLETE"
    c04 = [(r.rework, r.tool_id, r.status) for r in ledger.step_runs("UI-1") if r.step_id == "C04"]
    assert c04 == [(0, "SP01", "ON_HOLD"), (1, "SP02", "COMPLETE")]
    ledger.dispose()
