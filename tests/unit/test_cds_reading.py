"""How a CDS Hooks request is read: what is refused, what is read past, and what is logged.

The contract (DESIGN.md, CDS Hooks): a 400 only for a request the service cannot act on (no
hook or another hook, no context, no usable patient id); members the spec does not define are
ignored and logged; a bare resource where a Bundle is expected is read as a one-entry Bundle;
a resource missing what FHIR requires is read for what it holds, its problems logged. Unknown
is never "no": a medication that cannot be read never silently counts as no opioid.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from ldnkit.cdshooks.errors import CdsError
from ldnkit.cdshooks.models import HookRequest, read_hook_request
from ldnkit.cdshooks.orders import UNNAMED, draft_drugs, patient_profile
from ldnkit.cdshooks.salvage import salvage
from ldnkit.cdshooks.tolerance import MAX_NAMED, Tolerated
from ldnkit.domain.drugs import drug_facts
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.screening import screen

TODAY = dt.date(2026, 11, 23)
PATIENT = "p1"


def order(rid: str, text: str | None = "oxycodone 5 mg tablet", **more: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT}"},
        **more,
    }
    if text is not None:
        resource["medicationCodeableConcept"] = {"text": text}
    return resource


def request(hook: str = "order-sign", **context: Any) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"patientId": PATIENT, **context},
    }


def read(data: dict[str, Any], hook: str = "order-sign") -> tuple[HookRequest, Tolerated]:
    notes = Tolerated()
    return read_hook_request(data, hook, notes), notes


def refused(data: dict[str, Any], hook: str = "order-sign") -> str:
    with pytest.raises(CdsError) as caught:
        read(data, hook)
    assert caught.value.status == 400
    return " | ".join(caught.value.reasons)


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


# --- refused: what the service cannot act without ----------------------------------------------


def test_no_hook_no_context_are_each_named_in_one_refusal() -> None:
    reason = refused({"hookInstance": "x"})
    assert "hook: got nothing; expected 'order-sign'" in reason
    assert "context: got nothing" in reason


def test_another_hook_than_the_service_answers_is_refused() -> None:
    assert "hook: got \"patient-view\"; expected 'order-sign'" in refused(request("patient-view"))


@pytest.mark.parametrize("patient_id", [None, 7, "", "../../admin?x=1", "Patient/", "a" * 65])
def test_a_patient_id_that_is_no_fhir_id_is_refused(patient_id: Any) -> None:
    data = request()
    data["context"]["patientId"] = patient_id
    assert "context.patientId" in refused(data)


@pytest.mark.parametrize("context", [[], "p1", 7, None])
def test_a_context_that_is_no_object_is_refused(context: Any) -> None:
    data = request()
    data["context"] = context
    assert "context: got" in refused(data)


@pytest.mark.parametrize(
    "orders", [7, "MedicationRequest/1", {}, {"resourceType": "Bundle", "entry": 7}]
)
def test_draft_orders_that_hold_no_order_at_all_are_refused(orders: Any) -> None:
    assert "context.draftOrders" in refused(request(draftOrders=orders))


# --- read past: what the service can act without -------------------------------------------------


@pytest.mark.parametrize("patient_id", ["p1", "Patient/p1", " Patient/p1 "])
def test_patient_id_is_read_bare_or_as_a_reference(patient_id: str) -> None:
    data = request(draftOrders=bundle())
    data["context"]["patientId"] = patient_id
    assert read(data)[0].patient_id == "p1"


def test_unknown_members_at_every_level_are_ignored_and_named() -> None:
    data = request(draftOrders=bundle(order("rx1")), newField=1)
    data["item2"] = {"resourceType": "Patient"}
    data["extension"] = {"org.example.x": 1}  # the spec's own place for additions: not logged
    data["fhirServer"] = "https://ehr.example.org/fhir"
    data["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer", "nonce": "n"}
    data["context"]["draftOrders"]["meta2"] = {}
    data["context"]["draftOrders"]["entry"][0]["note"] = "x"
    call, notes = read(data)
    assert call.fhir_authorization is not None
    assert call.draft_orders is not None
    assert len(call.draft_orders) == 1
    assert set(notes.ignored.named) == {
        "item2",
        "context.newField",
        "fhirAuthorization.nonce",
        "context.draftOrders.meta2",
        "context.draftOrders.entry[0].note",
    }
    assert notes.problems.count == 0


@pytest.mark.parametrize(
    ("orders", "where"),
    [
        (order("rx1"), "context.draftOrders"),
        ({"resource": order("rx1"), "fullUrl": "urn:uuid:1"}, "context.draftOrders.resource"),
        ([order("rx1")], "context.draftOrders.entry[0]"),
        ({"entry": [{"resource": order("rx1")}]}, "context.draftOrders.entry[0].resource"),
    ],
    ids=["bare resource", "bare entry", "list", "Bundle without resourceType"],
)
def test_draft_orders_not_in_a_bundle_are_read_as_one(orders: Any, where: str) -> None:
    call, notes = read(request(draftOrders=orders))
    assert call.draft_orders is not None
    assert [(e.resource["id"], e.where) for e in call.draft_orders] == [("rx1", where)]
    assert notes.problems.count == 1


def test_an_order_hook_without_draft_orders_has_nothing_to_check() -> None:
    call, notes = read(request())
    assert call.draft_orders is None
    assert "context.draftOrders: got nothing" in notes.problems.named[0]


@pytest.mark.parametrize("value", ["{{fhirServerUrl}}", "ftp://ehr", 7])
def test_an_unusable_fhir_server_and_the_token_for_it_are_left_unused(value: Any) -> None:
    data = request(draftOrders=bundle())
    data["fhirServer"] = value
    data["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer"}
    call, notes = read(data)
    assert (call.fhir_server, call.fhir_authorization) == (None, None)
    assert notes.problems.named[0].startswith("fhirServer: got")
    assert "without a usable fhirServer" in notes.problems.named[1]


def test_a_missing_hook_instance_is_logged_not_refused() -> None:
    data = request(draftOrders=bundle())
    del data["hookInstance"]
    call, notes = read(data)
    assert call.hook_instance is None
    assert notes.problems.named == [
        "hookInstance: got nothing; expected the call's UUID (the spec asks one)"
    ]


# --- which drafts are ordered --------------------------------------------------------------------


def drafts_for(selections: Any, *orders: Any) -> tuple[list[str], list[str], Tolerated]:
    data = request("order-select", draftOrders=bundle(*orders), selections=selections)
    call, notes = read(data, "order-select")
    assert call.draft_orders is not None
    found = draft_drugs(call.draft_orders, call.selections, notes)
    return [d.label for d in found.ordered], [d.label for d in found.pending], notes


@pytest.mark.parametrize("selection", ["MedicationRequest/rx2", "rx2"])
def test_a_selection_names_its_draft_by_reference_or_bare_id(selection: str) -> None:
    ordered, pending, _ = drafts_for([selection], order("rx1", "ibuprofen"), order("rx2"))
    assert (ordered, pending) == (["oxycodone 5 mg tablet"], ["ibuprofen"])


def test_a_selection_names_its_draft_by_full_url() -> None:
    data = request("order-select", selections=["urn:uuid:9f3"])
    data["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "entry": [{"fullUrl": "urn:uuid:9f3", "resource": order("rx1")}],
    }
    call, notes = read(data, "order-select")
    assert call.draft_orders is not None
    assert [d.label for d in draft_drugs(call.draft_orders, call.selections, notes).ordered] == [
        "oxycodone 5 mg tablet"
    ]


@pytest.mark.parametrize("selections", [None, [], [7], ["MedicationRequest/elsewhere"]])
def test_selections_that_name_no_draft_check_every_draft(selections: Any) -> None:
    ordered, pending, notes = drafts_for(selections, order("rx1", "ibuprofen"), order("rx2"))
    assert (sorted(ordered), pending) == (["ibuprofen", "oxycodone 5 mg tablet"], [])
    assert any("context.selections" in p for p in notes.problems.named)


@pytest.mark.parametrize(
    "medication",
    [
        {"medicationCodeableConcept": 7},
        {
            "medicationCodeableConcept": {
                "coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "0054-4566"}]
            }
        },
        {"medicationReference": {"reference": "Medication/not-sent"}},
        {},
    ],
    ids=["not a concept", "a code of another system alone", "unresolved reference", "none"],
)
def test_a_draft_whose_drug_cannot_be_read_is_unreadable_not_dropped(
    medication: dict[str, Any],
) -> None:
    data = request(draftOrders=bundle(order("rx1", None, **medication)))
    call, notes = read(data)
    assert call.draft_orders is not None
    found = draft_drugs(call.draft_orders, None, notes)
    assert (found.ordered, found.pending) == ([], [])
    assert [(u.reference, u.where) for u in found.unreadable] == [
        ("MedicationRequest/rx1", "context.draftOrders.entry[0].resource")
    ]


def test_a_stopped_draft_is_no_order_being_placed() -> None:
    data = request(draftOrders=bundle(order("rx1", None, status="stopped")))
    call, notes = read(data)
    assert call.draft_orders is not None
    assert draft_drugs(call.draft_orders, None, notes).unreadable == []


# --- resources read for what they hold -----------------------------------------------------------


def test_salvage_takes_out_the_deepest_bad_element_and_keeps_the_drug() -> None:
    notes = Tolerated()
    broken = order(
        "rx1",
        None,
        status="actve",
        authoredOn="yesterday",
        medicationCodeableConcept={
            "text": "oxycodone 5 mg",
            "coding": [{"system": 7, "code": "1049621", "display": "oxyCODONE 5 MG Oral Tablet"}],
        },
    )
    del broken["subject"]
    kept = salvage(broken, "MedicationRequest/rx1", notes)
    assert kept["medicationCodeableConcept"] == {
        "text": "oxycodone 5 mg",
        "coding": [{"code": "1049621", "display": "oxyCODONE 5 MG Oral Tablet"}],
    }
    assert "status" not in kept
    assert "authoredOn" not in kept
    assert [p.split("; expected")[0] for p in notes.problems.named] == [
        'MedicationRequest/rx1.authoredOn: got "yesterday"',
        "MedicationRequest/rx1.medicationCodeableConcept.coding[0].system: got 7",
        "MedicationRequest/rx1.subject: got nothing",
        'MedicationRequest/rx1.status: got "actve"',
    ]


def profile_of(*resources: dict[str, Any]) -> tuple[PatientProfile, Tolerated]:
    notes = Tolerated()
    return patient_profile(list(resources), PATIENT, TODAY, notes), notes


def test_a_record_medication_missing_what_fhir_requires_still_counts() -> None:
    oxycodone = order("rx1", status="active")
    del oxycodone["subject"]
    del oxycodone["intent"]
    profile, notes = profile_of(oxycodone)
    assert [(m.name, m.status) for m in profile.medications] == [
        ("oxycodone 5 mg tablet", "active")
    ]
    assert notes.problems.named == [
        "MedicationRequest/rx1.subject: got nothing; expected a value (FHIR requires it)"
    ]


@pytest.mark.parametrize("status", ["Active", "actve", 7, None])
def test_a_record_status_that_is_no_fhir_code_counts_as_taken(status: Any) -> None:
    # The mapping reads `unknown` as active: unknown cannot be assumed over.
    profile, _ = profile_of(order("rx1", status=status))
    assert [(m.name, m.status) for m in profile.medications] == [
        ("oxycodone 5 mg tablet", "active")
    ]


@pytest.mark.parametrize(
    ("status", "counted"),
    [("active", "active"), ("completed", "stopped"), ("entered-in-error", None)],
)
def test_a_record_medication_whose_drug_cannot_be_read_counts_as_unnamed(
    status: str, counted: str | None
) -> None:
    unreadable = order(
        "rx1", None, status=status, medicationReference={"reference": "Medication/x"}
    )
    profile, notes = profile_of(unreadable, order("rx2", "ibuprofen 400 mg", status="active"))
    names = [(m.name, m.status) for m in profile.medications]
    assert names == [("ibuprofen 400 mg", "active"), *([(UNNAMED, counted)] if counted else [])]
    if counted:
        assert (
            "MedicationRequest/rx1: names no medication that can be read" in notes.problems.words()
        )


def test_an_unnamed_medication_is_never_read_as_no_opioid() -> None:
    # The lexicon must keep this word unread: were it ever read as a non-opioid drug, an
    # unreadable medication would pass the screen as "no opioid".
    assert drug_facts(UNNAMED, None).recognition.is_opioid is None
    result = screen(PatientProfile(as_of=TODAY, medications=[{"name": UNNAMED}]))
    assert "medication-unrecognised" in {f.rule for f in result.findings}
    assert result.verdict != "eligible"


def test_a_patient_resource_of_another_patient_is_left_out() -> None:
    other = {"resourceType": "Patient", "id": "someone-else", "birthDate": "1950-01-01"}
    profile, notes = profile_of(other, order("rx1", status="active"))
    assert profile.age is None
    assert "Patient/someone-else: another patient than Patient/p1; not read" in notes.problems.named


# --- the log line ------------------------------------------------------------------------------


def test_one_bounded_line_names_what_was_read_past(caplog: pytest.LogCaptureFixture) -> None:
    notes = Tolerated()
    notes.unknown("", {f"item{i}": None for i in range(10_000)}, frozenset())
    notes.member("x\nCDS Hooks call forged to ldn-order-sign: nothing wrong")
    notes.problem("context.draftOrders: got nothing")
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        notes.log(logging.getLogger("ldnkit.cdshooks"), "ldn-order-sign", "call\r\n1")
    (record,) = caplog.records
    line = record.getMessage()
    assert record.levelno == logging.WARNING  # a problem in the data, not only unknown members
    assert "\n" not in line
    assert "\r" not in line
    assert len(line) < 2_500
    assert f"ignored 10001 member(s): {', '.join(f'item{i}' for i in range(MAX_NAMED))}" in line
    assert f"(and {10_001 - MAX_NAMED} more)" in line
    assert "read past 1 problem(s): context.draftOrders: got nothing" in line


def test_only_unknown_members_log_at_info(caplog: pytest.LogCaptureFixture) -> None:
    notes = Tolerated()
    notes.member("item2")
    with caplog.at_level(logging.INFO, logger="ldnkit.cdshooks"):
        notes.log(logging.getLogger("ldnkit.cdshooks"), "ldn-order-sign", "c1")
        Tolerated().log(logging.getLogger("ldnkit.cdshooks"), "ldn-order-sign", "c2")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "CDS Hooks call c1 to ldn-order-sign: ignored 1 member(s): item2")
    ]
