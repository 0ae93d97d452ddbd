"""Response assessment: is LDN helping? The diary's baseline against its latest days.

- `change`: how much each measure changed, with its interval and IMMPACT category;
- `course`: dose steps, adherence and who entered the diary days;
- `recommend`: the status from pain and the recommendation on the recommendation day;
- `assessment`: `assess`, which puts them together in one `ResponseAssessment`.

The windows and thresholds are `knowledge/data/limits.yaml`'s (`response`); every sentence with
its sources is `knowledge/data/response.yaml`'s.
"""

from ldnkit.domain.response.assessment import (
    BootstrapMethod,
    Intake,
    ResponseAssessment,
    assess,
)
from ldnkit.domain.response.change import (
    HIGHER_IS_BETTER,
    MEASURES,
    Category,
    Measure,
    MeasureChange,
    immpact_category,
)
from ldnkit.domain.response.course import Adherence, StepSummary, WhoEntered
from ldnkit.domain.response.recommend import Action, Reason, Recommendation, Status

__all__ = [
    "HIGHER_IS_BETTER",
    "MEASURES",
    "Action",
    "Adherence",
    "BootstrapMethod",
    "Category",
    "Intake",
    "Measure",
    "MeasureChange",
    "Reason",
    "Recommendation",
    "ResponseAssessment",
    "Status",
    "StepSummary",
    "WhoEntered",
    "assess",
    "immpact_category",
]
