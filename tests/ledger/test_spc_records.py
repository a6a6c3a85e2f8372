"""SPC in the ledger on SQLite and PostgreSQL: a lot judged on a frozen baseline signals, its signal
and flag are recorded once even when a resumed step judges it again, and clearing a flag is recorded
with who and why."""
from __future__ import annotations

from drivers.jobs import Measurement, WaferResult
from line.ledger import Ledger
from line.recipes.route import SpcSpec, Spec
from line.recorder import Recorder, SpcSignalled, StepContext
from line.spc.control import freeze, judge
from line.spec_limits import judged


def run_with(ledger: Ledger, lot: str, mean: float) -> int:
    ledger.ensure_lot(lot, 3)
    run = ledger.begin_step(lot, "C03", "sputter", "PVD01", "r", 1, "h" * 64, f"{lot}.C03.r0")
    rows = [WaferResult(f"{lot}.0{i + 1}", i + 1, "PROCESSED", (Measurement("thickness.Cu", mean + d, "nm", 300.0),), {})
            for i, d in enumerate((-1.0, 0.0, 1.0))]
    ledger.record_results(run.id, "PVD01", rows, judged(rows, 10, None))
    return run.id


def baselined(db_url: str) -> Ledger:
    """A ledger with five calm lots at C03 on PVD01 and an X̄-R baseline frozen from them."""
    ledger = Ledger(db_url)
    for n, mean in enumerate([300.0, 300.8, 299.4, 300.3, 299.7]):
        run_with(ledger, f"L{n}", mean)
    freeze(ledger, "C03", "thickness.Cu", "PVD01", "xbar_r", 5, "eng-anna")
    return ledger


def test_a_signal_and_its_flag_are_recorded_once_and_a_clear_names_who(db_url):
    ledger = baselined(db_url)
    spec = Spec(measurement="thickness.Cu", lsl=270, usl=330, target=300, spc=SpcSpec(chart="xbar_r", action="flag"))
    calm = run_with(ledger, "L5", 300.2)
    assert judge(ledger, "C03", "PVD01", "L5", calm, [spec]) == []
    shifted = run_with(ledger, "L6", 306.0)
    findings = judge(ledger, "C03", "PVD01", "L6", shifted, [spec])
    assert [s.rule for f in findings for s in f.signals] == [1] and findings[0].action == "flag"
    record = Recorder(ledger, StepContext("L6", "C03", shifted, "PVD01", "sputter", "L6.C03.r0", ("L6.01",)))
    record(SpcSignalled(tuple(findings)))
    record(SpcSignalled(tuple(judge(ledger, "C03", "PVD01", "L6", shifted, [spec]))))   # a resumed step, again
    assert [e.dest for e in ledger.events("spc", step_run_id=shifted)] == ["SIGNAL"]
    (flag,) = ledger.open_spc_flags("C03")
    assert (flag.tool_id, flag.lot_id, flag.step_run_id) == ("PVD01", "L6", shifted)
    assert ledger.clear_spc_flags("PVD01", "C03", "eng-anna", "target replaced") == 1 and not ledger.open_spc_flags()
    cleared = [e for e in ledger.events("spc", step_run_id=shifted) if e.trigger == "clear"]
    assert cleared[0].data == {"by": "eng-anna", "note": "target replaced"}
    ledger.dispose()


def test_a_lot_an_xbar_chart_cannot_take_is_recorded_as_not_judged_never_passed_silently(db_url):
    from line.dashboard import process_control_markdown

    ledger = baselined(db_url)
    spec = Spec(measurement="thickness.Cu", lsl=270, usl=330, target=300, spc=SpcSpec(chart="xbar_r", action="hold"))
    ledger.ensure_lot("ONE", 1)
    run = ledger.begin_step("ONE", "C03", "sputter", "PVD01", "r", 1, "h" * 64, "ONE.C03.r0")
    rows = [WaferResult("ONE.01", 1, "PROCESSED", (Measurement("thickness.Cu", 330.0, "nm", 300.0),), {})]
    ledger.record_results(run.id, "PVD01", rows, judged(rows, 10, None))
    (finding,) = judge(ledger, "C03", "PVD01", "ONE", run.id, [spec])
    assert finding.action == "none" and not finding.signals and "not judged — one processed wafer" in finding.text
    Recorder(ledger, StepContext("ONE", "C03", run.id, "PVD01", "sputter", "ONE.C03.r0", ("ONE.01",)))(
        SpcSignalled((finding,)))
    assert [e.dest for e in ledger.events("spc", step_run_id=run.id)] == ["NOT_JUDGED"] and not ledger.open_spc_flags()
    assert "SPC at C03 thickness.Cu on PVD01: **not judged** — one processed wafer" in \
        "\n".join(process_control_markdown(ledger, "ONE"))
    ledger.dispose()
