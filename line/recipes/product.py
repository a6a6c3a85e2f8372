"""`Product` documents: what a product *is*, independent of any route that builds it — the incoming
wafer design (regions, their areas, which regions touch), the finished stack every region must
have, what must be absent, and each claim element as a predicate over the finished wafer.

A route names the product it builds; `bumpline recipe validate` checks the route's final paper
wafer against it and `bumpline lot verify` checks the simulated wafers against it (predicates.py).
The vocabulary is small on purpose, so a process engineer can read and write it in YAML:

- `layer`: a layer (material, role, thickness window) in a region, optionally directly `on` a
  layer or somewhere `above` one;
- `absent`: no such layer (in a region, or anywhere);
- `gap`: a released, free (not stuck) gap in a region under a layer;
- `connected`: a conductor of a role runs from one region to another over adjacent regions;
- `reflows`: solder reflowed at least / at most N times.

A claim the world model cannot express carries `not_modelled: <reason>` and is never shown held.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.jobs import body_hash
from line.recipes.tool_recipe import RecipeMetadata
from line.yamlio import DocumentError, Problem, load_yaml, locate, plain, validate


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Match(Strict):
    """Which layers: by material (one, or any of a list) and/or role."""
    material: str | list[str] | None = None
    role: str | None = None

    def matches(self, material: str, role: str) -> bool:
        mats = [self.material] if isinstance(self.material, str) else self.material
        return (mats is None or material in mats) and (self.role is None or role == self.role)

    def __str__(self) -> str:
        mat = self.material if isinstance(self.material, str) or self.material is None else "|".join(self.material)
        return " ".join(p for p in (mat, f"({self.role})" if self.role else "") if p) or "any layer"


Window = tuple[float, float]


class LayerPredicate(Match):
    region: str
    on: Match | None = Field(None, description="the layer directly below must match")
    above: Match | None = Field(None, description="some layer below must match")
    thickness_um: Window | None = None

    def __str__(self) -> str:
        where = (f" directly on {self.on}" if self.on else "") + (f" above {self.above}" if self.above else "")
        win = f" {self.thickness_um[0]:g}–{self.thickness_um[1]:g} µm" if self.thickness_um else ""
        return f"{Match.__str__(self)}{win} in {self.region}{where}"


class AbsentPredicate(Match):
    region: str | None = Field(None, description="this region only (default: everywhere)")

    def __str__(self) -> str:
        return f"no {Match.__str__(self)} {'in ' + self.region if self.region else 'anywhere'}"


class GapPredicate(Strict):
    region: str
    under: Match = Field(description="the suspended layer directly above the gap")

    def __str__(self) -> str:
        return f"a released, free gap in {self.region} under {self.under}"


class ConnectedPredicate(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_region: str = Field(alias="from")
    to_region: str = Field(alias="to")
    through: Match = Field(description="the conductor every region on the path must hold")

    def __str__(self) -> str:
        return f"{self.through} continuous from {self.from_region} to {self.to_region}"


class ReflowsPredicate(Strict):
    at_least: int = Field(0, ge=0)
    at_most: int = Field(3, ge=0, description="docs/process.md §6.6: at most three reflows")

    def __str__(self) -> str:
        return f"solder reflowed {self.at_least}–{self.at_most}×"


class Predicate(Strict):
    """Exactly one of the vocabulary's words."""
    layer: LayerPredicate | None = None
    absent: AbsentPredicate | None = None
    gap: GapPredicate | None = None
    connected: ConnectedPredicate | None = None
    reflows: ReflowsPredicate | None = None

    @model_validator(mode="after")
    def _one(self) -> Predicate:
        given = [k for k, v in self.__dict__.items() if v is not None]
        if len(given) != 1:
            raise ValueError(f"a predicate is exactly one of layer, absent, gap, connected, reflows; got {given or 'none'}")
        return self

    @property
    def word(self) -> str:
        return next(k for k, v in self.__dict__.items() if v is not None)

    @property
    def body(self) -> Any:
        return getattr(self, self.word)

    def regions(self) -> list[str]:
        b = self.body
        if isinstance(b, ConnectedPredicate):
            return [b.from_region, b.to_region]
        return [b.region] if getattr(b, "region", None) else []

    def __str__(self) -> str:
        return f"{self.word}: {self.body}"


class Claim(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    text: str = Field(description="the claim element in words (from the patent)")
    holds: list[Predicate] = Field(default=[], description="all must hold on the finished wafer")
    not_modelled: str = Field("", description="why the world model cannot show this (never shown as held)")

    @model_validator(mode="after")
    def _something(self) -> Claim:
        if not self.holds and not self.not_modelled:
            raise ValueError("a claim element needs predicates (holds) or a not_modelled reason")
        return self


class DesignLayer(Strict):
    material: str
    role: str
    thickness_nm: float = Field(gt=0)


class RegionDesign(Strict):
    area_pct: float = Field(gt=0, le=100, description="share of the wafer area")
    adjacent: list[str] = Field(default=[], description="regions this one touches (for connectivity)")
    layers: list[DesignLayer] = Field(min_length=1)


class FinishedLayer(Match):
    thickness_um: Window | None = None


class ProductSpec(Strict):
    product: str = Field(pattern=r"^[A-Z]$")
    variant: str = ""
    source: str = Field("", description="the document the claims come from")
    design: dict[str, RegionDesign] = Field(description="the incoming wafer, region by region")
    isolation: list[str] = Field(default=[], description="regions where no conductor may remain (else pads short)")
    structure: dict[str, list[FinishedLayer]] = Field(description="each region's finished stack above the substrate, bottom up")
    absent: list[AbsentPredicate] = Field(default=[], description="product-specific absences, beside the shared ones")
    claims: list[Claim] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ProductSpec:
        total = sum(r.area_pct for r in self.design.values())
        if abs(total - 100) > 0.01:
            raise ValueError(f"design region areas add up to {total:g} %, not 100 %")
        names = set(self.design)
        for name, r in self.design.items():
            if bad := sorted(set(r.adjacent) - names):
                raise ValueError(f"region {name} is adjacent to unknown {', '.join(bad)}")
            if name in r.adjacent:
                raise ValueError(f"region {name} cannot be adjacent to itself")
        for region in [*self.structure, *self.isolation] + [r for c in self.claims for p in c.holds for r in p.regions()] \
                + [a.region for a in self.absent if a.region]:
            if region not in names:
                raise ValueError(f"{region!r} is not a region of the design ({', '.join(self.design)})")
        if missing := sorted(names - set(self.structure)):
            raise ValueError(f"structure gives no finished stack for {', '.join(missing)}")
        ids = [c.id for c in self.claims]
        if dup := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"claim ids repeat: {', '.join(dup)}")
        return self

    def neighbours(self, region: str) -> set[str]:
        """Adjacency is symmetric whichever side declared it."""
        return set(self.design[region].adjacent) | {n for n, r in self.design.items() if region in r.adjacent}


class ProductDoc(Strict):
    apiVersion: Literal["bumpline/v1"]
    kind: Literal["Product"]
    metadata: RecipeMetadata
    spec: ProductSpec


@dataclass
class Product:
    path: str
    doc: Any                  # the ruamel document, for positions
    name: str
    version: int
    spec: ProductSpec
    sha256: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def key(self) -> tuple[str, str]:
        return self.spec.product, self.spec.variant

    @property
    def label(self) -> str:
        return self.spec.product + (f" ({self.spec.variant})" if self.spec.variant else "")

    def claim(self, element: str) -> Claim | None:
        return next((c for c in self.spec.claims if c.id == element), None)

    def where_claim(self, element: str) -> tuple[int, int]:
        i = next((i for i, c in enumerate(self.spec.claims) if c.id == element), 0)
        return locate(self.doc, ("spec", "claims", i))


def load_product(path: str | Path, text: str | None = None) -> Product:
    path = str(path)
    doc = load_yaml(path, text)
    if not isinstance(doc, dict):
        raise DocumentError([Problem(path, 1, 1, "", "document-type", "a Product must be a YAML mapping")])
    parsed = validate(path, doc, ProductDoc, data=plain(doc))
    return Product(path, doc, parsed.metadata.name, parsed.metadata.version, parsed.spec, body_hash(plain(doc)["spec"]))
