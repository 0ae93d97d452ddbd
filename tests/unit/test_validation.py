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
