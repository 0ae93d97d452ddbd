"""Diagnostic criteria and questionnaires: ACR 2010/2011/2016, PSD, FIQR, IOM 2015.

Each calculator takes a validated input model and returns a result model whose
`model_dump(mode="json")` is the contract JSON of `ldnkit criteria NAME`; every criterion in a
result says what it requires, whether it passed and why. `evaluate(name, data)` parses raw
input and dispatches, for the CLI and the web app.
"""

from ldnkit.domain.criteria.areas import (
    PAIN_AREAS,
    PainAreaId,
    RegionResult,
    psd_band,
    region_breakdown,
)
from ldnkit.domain.criteria.common import CriterionResult, Note
from ldnkit.domain.criteria.dispatch import (
    CALCULATORS,
    NAMES,
    CriteriaResult,
    check_name,
    evaluate,
)
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
from ldnkit.domain.criteria.fiqr import (
    FIQR_ITEMS,
    FiqrDomain,
    FiqrInput,
    FiqrResult,
    FiqrSeverity,
    fiqr,
)
from ldnkit.domain.criteria.mecfs import Iom2015Input, Iom2015Result, iom2015
from ldnkit.domain.criteria.texts import PainArea

__all__ = [
    "CALCULATORS",
    "FIQR_ITEMS",
    "NAMES",
    "PAIN_AREAS",
    "Acr2010Input",
    "Acr2010Result",
    "Acr2011Input",
    "Acr2011Result",
    "Acr2016Input",
    "Acr2016Result",
    "CriteriaResult",
    "CriterionResult",
    "FiqrDomain",
    "FiqrInput",
    "FiqrResult",
    "FiqrSeverity",
    "Iom2015Input",
    "Iom2015Result",
    "Note",
    "PainArea",
    "PainAreaId",
    "RegionResult",
    "acr2010",
    "acr2011",
    "acr2016",
    "check_name",
    "evaluate",
    "fiqr",
    "iom2015",
    "psd_band",
    "region_breakdown",
]
