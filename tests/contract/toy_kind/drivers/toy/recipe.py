"""What a spin-clean recipe holds."""
from pydantic import BaseModel, ConfigDict

from drivers.limits import limited
from drivers.toy.interface import LIMITS


class ToyRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rinse_s: float = limited(LIMITS, "rinse_s")
    spin_rpm: float = limited(LIMITS, "spin_rpm")
