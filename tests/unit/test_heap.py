"""The orchestrator's heap is settled once per process when its first lot starts."""
import subprocess
import sys


def test_settle_freezes_what_start_up_loaded_and_collects_the_young_generation_less_often():
    code = ("import gc; from line import heap; before = gc.get_threshold(); heap.settle(); frozen = gc.get_freeze_count(); "
            "heap.settle(); print(before[0], frozen > 1000, gc.get_freeze_count() == frozen, gc.get_threshold())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout.split(" ", 3)
    assert out[0] == "700"                       # Python's default, for the record of what changed
    assert out[1:3] == ["True", "True"]          # frozen once; a second lot does not freeze again
    assert out[3].strip() == "(10000, 20, 20)"
