"""Input problems: wording, and their survival across process boundaries."""

from __future__ import annotations

import pickle

from pydantic import ValidationError

from ldnkit.domain.profile import PatientProfile
from ldnkit.validation import InputError, input_error


def test_an_input_error_keeps_its_problems_through_pickling() -> None:
    # Population screening raises these in worker processes; the parent must print them whole.
    error = InputError.single("authoredOn", "2017-13-45", "a calendar date that exists")
    again = pickle.loads(pickle.dumps(error))
    assert again.problems == error.problems
    assert str(again) == 'authoredOn: got "2017-13-45"; expected a calendar date that exists'


def test_a_union_field_reports_the_deeper_problem_only() -> None:
    try:
        PatientProfile.model_validate({"conditions": [{"system": "loinc", "code": "1"}]})
    except ValidationError as exc:
        problems = input_error(exc).problems
    else:
        raise AssertionError("a LOINC condition code was accepted")
    assert [p.field for p in problems] == ["conditions[0].system"]


def test_a_profile_listing_more_than_a_record_could_is_refused_before_screening() -> None:
    try:
        PatientProfile.model_validate({"medications": [{"name": "tramadol"}] * 100_000})
    except ValidationError as exc:
        problems = input_error(exc).problems
    else:
        raise AssertionError("100,000 medications were accepted")
    assert [str(p).split("; ")[1] for p in problems] == ["expected at most 1000 items"]


def test_a_name_no_medication_has_is_refused_naming_the_field() -> None:
    try:
        PatientProfile.model_validate({"medications": [{"name": "x" * 501}]})
    except ValidationError as exc:
        problems = input_error(exc).problems
    else:
        raise AssertionError("a 501-character medication name was accepted")
    assert [p.field for p in problems] == ["medications[0].name"]
    assert problems[0].expected == "text of at most 500 characters"
