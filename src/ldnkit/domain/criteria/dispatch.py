"""One entry point for every calculator: `evaluate(name, data)` parses, then computes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from pydantic import BaseModel, ValidationError

from ldnkit.domain.criteria.fibromyalgia import (
    Acr2010Input,
    Acr2010Result,
    Acr2011Input,
    Acr2011Result,
    Acr2016Input,
    Acr2016Result,
    acr2010,
    acr2011,
    acr2016,
)
from ldnkit.domain.criteria.fiqr import FiqrInput, FiqrResult, fiqr
from ldnkit.domain.criteria.mecfs import Iom2015Input, Iom2015Result, iom2015
from ldnkit.validation import InputError, input_error

CriteriaResult: TypeAlias = (
    Acr2010Result | Acr2011Result | Acr2016Result | FiqrResult | Iom2015Result
)


CALCULATORS: dict[str, tuple[type[BaseModel], Callable[[Any], CriteriaResult]]] = {
    "acr2010": (Acr2010Input, acr2010),
    "acr2011": (Acr2011Input, acr2011),
    "acr2016": (Acr2016Input, acr2016),
    "fiqr": (FiqrInput, fiqr),
    "iom2015": (Iom2015Input, iom2015),
}

NAMES: tuple[str, ...] = tuple(CALCULATORS)


def check_name(name: str) -> str:
    """The calculator name, or InputError naming the choices."""
    if name not in CALCULATORS:
        raise InputError.single("name", name, "one of " + ", ".join(NAMES))
    return name


def evaluate(name: str, data: Any) -> CriteriaResult:
    """Run the calculator called `name` on raw input (a dict from JSON or a form).

    Raises InputError naming every bad field, or the name itself when it is unknown.
    """
    model, compute = CALCULATORS[check_name(name)]
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc) from None
    return compute(parsed)
