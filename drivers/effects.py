"""What a recipe does to a wafer, on paper: the vocabulary each kind's `model.py` speaks and the
route linter walks. Nominal numbers (no noise, no drift), computed by the physics each kind shares
with its simulator."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WAFER_RADIUS_MM = 150.0         # a 300 mm wafer
WAFER_AREA_CM2 = 706.9          # π·(15 cm)²; a design's region areas are shares of it


@dataclass(frozen=True)
class Deposit:
    """A film grows. where: "all" (blanket), "conductive" (plating: where the top layer conducts),
    "regions" (the named ones), "holes" (where a resist mold is open)."""
    material: str
    role: str
    thickness_nm: float
    where: str = "all"
    regions: tuple[str, ...] = ()
    needs_seed: bool = False
    attacks: tuple[str, ...] = ()      # roles harmed while present (cyanide gold → resist)
    props: dict[str, Any] = field(default_factory=dict)
    reported_as: str = ""              # the tool reports the film it laid down as this measurement


@dataclass(frozen=True)
class Reading:
    """A number the tool itself reports for the step (not a metrology measurement of the wafer), in
    the unit its kind declares: an oven's peak, a litho track's dose, a printer's paste volume."""
    measurement: str
    value: float


@dataclass(frozen=True)
class Open:
    """Develop: the film just coated is removed over these regions — or, where the dose or the
    develop time falls short of its depth, thinned to `residue` of it (a residue the next step meets)."""
    regions: tuple[str, ...]
    residue: float = 0.0


@dataclass(frozen=True)
class Clean:
    """Thin the top layer of a role by `depth_nm` wherever it is on top, and take it away once less than
    `gone_below_nm` is left (Ar pre-clean of the pad's native oxide); no depth: take it all."""
    role: str
    depth_nm: float | None = None
    gone_below_nm: float = 0.0


@dataclass(frozen=True)
class Heat:
    """The wafer reaches `peak_c` (nominal); a cure if it holds `hold_s` there."""
    peak_c: float
    what: str
    hold_s: float = 0.0
    liquidus_c: float | None = None
    above: dict[float, float] = field(default_factory=dict)
    """seconds the wafer spent at or above each cure threshold (an oven's integrated profile)"""


@dataclass(frozen=True)
class Etch:
    chemistry: str
    time_s: float
    temperature_c: float
    dry: str = "supercritical_co2"


@dataclass(frozen=True)
class Measure:
    measurement: str
    region: str
    material: str | None = None


Effect = Deposit | Open | Clean | Heat | Etch | Measure | Reading


@dataclass(frozen=True)
class Finding:
    """A recipe-level rule broken: where in the parameters, which rule, why."""
    path: tuple
    rule: str
    message: str
