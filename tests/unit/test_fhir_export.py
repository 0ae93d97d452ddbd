"""ldnkit records as FHIR R4: plans, diary scores and FIQR, valid and readable back."""

from __future__ import annotations

import datetime as dt

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from ldnkit.domain.criteria import FIQR_ITEMS, evaluate
from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.drugs import DrugClass, recognise
from ldnkit.domain.titration import PlanRequest, build_plan
from ldnkit.fhir.export import (
    diary_to_observations,
    fiqr_to_questionnaire_response,
    plan_to_medication_request,
)
from ldnkit.fhir.mapping import medication_from_fhir

START = dt.date(2026, 11, 23)


def test_plan_has_one_dosage_instruction_per_step() -> None:
    plan = build_plan(PlanRequest(protocol="standard", start=START))
    request = plan_to_medication_request(plan, "p1")
    MedicationRequest.model_validate(request)
    dosages = request["dosageInstruction"]
    assert [d["sequence"] for d in dosages] == list(range(1, len(plan.steps) + 1))
    assert [d["doseAndRate"][0]["doseQuantity"]["value"] for d in dosages] == [
        s.dose_mg for s in plan.steps
    ]
    first, last = dosages[0]["timing"]["repeat"], dosages[-1]["timing"]["repeat"]
    assert first["boundsPeriod"] == {
        "start": plan.steps[0].start.isoformat(),
        "end": plan.steps[0].end.isoformat(),  # type: ignore[union-attr]
    }
    assert "end" not in last["boundsPeriod"]  # the target dose continues
    assert first["when"] == ["HS"]  # bedtime


def test_exported_plan_reads_back_as_active_naltrexone() -> None:
    plan = build_plan(PlanRequest(protocol="gentle", start=START))
    med = medication_from_fhir(plan_to_medication_request(plan, "p1"))
    assert med is not None
    assert med.status == "active"
    assert DrugClass.NALTREXONE in recognise(med.name, med.rxnorm).classes


def test_diary_pain_is_loinc_72514_3_and_missing_scores_are_left_out() -> None:
    entries = [
        DiaryEntry(day=START + dt.timedelta(days=1), pain=4, fatigue=5, sleep_quality=6),
        DiaryEntry(day=START, pain=7, fatigue=6, sleep_quality=3, mood=5),
    ]
    observations = diary_to_observations(entries, "p1")
    assert len(observations) == 4 + 3
    pain = [o for o in observations if o["code"].get("coding")]
    assert [(o["effectiveDateTime"], o["valueInteger"]) for o in pain] == [
        (START.isoformat(), 7),
        ((START + dt.timedelta(days=1)).isoformat(), 4),
    ]
    assert {o["code"]["coding"][0]["code"] for o in pain} == {"72514-3"}


def test_fiqr_response_carries_every_answer_and_the_scores() -> None:
    answers: dict[str, list[float | None]] = {
        "function": [2] * 9,
        "overall": [5, 6],
        "symptoms": [7] * 9 + [None],
    }
    result = evaluate("fiqr", answers).model_dump(mode="json")
    response = fiqr_to_questionnaire_response(answers, result, "p1", START)
    QuestionnaireResponse.model_validate(response)
    groups = {g["linkId"]: g["item"] for g in response["item"]}
    assert [i["text"] for i in groups["function"]] == list(FIQR_ITEMS["function"])
    assert "answer" not in groups["symptoms"][9]  # unanswered stays unanswered
    scores = {i["linkId"]: i["answer"][0]["valueDecimal"] for i in groups["score"]}
    assert scores["score.total"] == result["total"]
    assert scores["score.function"] == 6.0  # 18 / 3
