"""Metrology program: what to measure, where, at how many sites."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from drivers.limits import limited
from drivers.metrology.interface import LIMITS, MEASUREMENTS


class MetrologyRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    measurement: Literal[MEASUREMENTS]  # type: ignore[valid-type]  # choices from the interface's tuple, one source
    region: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="a region of the product design")
    material: str | None = None
    sites: int = limited(LIMITS, "sites")

    @model_validator(mode="after")
    def _material(self) -> MetrologyRecipe:
        if self.measurement == "film_thickness" and not self.material:
            raise ValueError("film_thickness needs the material of the film to measure")
        return self
