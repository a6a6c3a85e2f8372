"""The spin cleaner, declared once."""
from drivers.spec import AlarmSpec, KindSpec, MeasurementSpec, fault
from drivers.toy import interface
from drivers.toy.recipe import ToyRecipe

SPIN_S = 30.0
SPEC = KindSpec(
    kind=interface.KIND, doc=__doc__ or "", phases=interface.PHASES, recipe_model=ToyRecipe, limits=interface.LIMITS,
    alarms=(AlarmSpec(9501, "BOWL_JAMMED", "the spin bowl did not reach speed"),),
    measurements=(MeasurementSpec("clean.particles", "count", "particles left on the wafer", "particles"),),
    faults=(fault("jam", "the bowl jams on wafer `slot`: BOWL_JAMMED", slot=(int, None, "default: the next wafer")),),
    job_time_s=lambda body, n, options: n * (body["rinse_s"] + SPIN_S),
    wires={"scpi": interface.INTERFACE},
)
