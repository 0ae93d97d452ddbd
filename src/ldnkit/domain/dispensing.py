"""How a plan is dispensed: compounded capsules, or a liquid made from a tablet.

Part of what a prescriber asks for (`PlanRequest.dispensing`): the form decides which doses a
plan may hold (capsules come in fixed strengths; a liquid measures any dose in whole
micrograms), and the quantities are counted by `ldnkit.domain.formulation.dispense`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DoseForm = Literal["capsules", "liquid"]
Recipe = Literal["water", "fawcett"]
MAX_SUPPLY_DAYS = 366


class Dispensing(BaseModel):
    """Capsules, or a liquid from `tablet_mg` tablets dissolved in `volume_ml` (by `recipe`),
    counted for the first `days` days of the plan."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    form: DoseForm = "capsules"
    days: Annotated[int, Field(ge=1, le=MAX_SUPPLY_DAYS)]
    tablet_mg: Annotated[float, Field(gt=0, le=100)] | None = None
    # A tablet dissolves in a measurable volume: 1 mL at the least (1e-300 mL is a typo).
    volume_ml: Annotated[float, Field(ge=1, le=1000)] | None = None
    recipe: Recipe | None = None

    @model_validator(mode="after")
    def _liquid_is_described(self) -> Dispensing:
        if self.form == "liquid" and (
            self.tablet_mg is None or self.volume_ml is None or self.recipe is None
        ):
            raise ValueError("a liquid with its tablet_mg, volume_ml and recipe")
        return self
