"""One number changed in the knowledge data changes the screen, the plan, the CDS card, the
messages and the pages together.

A copy of `knowledge/data/` with a longer hold (4 days, at least 3), a longer short-acting
washout (8 days) and a longer latest window of the response (21 days) is put in place the
supported way (`LDNKIT_KNOWLEDGE_DIR` and `reload_knowledge()`), and every path that states or
decides with those numbers is asked.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from ldnkit.cdshooks.cards import order_cards
from ldnkit.domain.diary import DiaryEntry
from ldnkit.domain.drugs import drug_facts
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.response import assess
from ldnkit.domain.rules import SessionDrug, order_findings
from ldnkit.domain.screening import screen
from ldnkit.domain.titration import PlanRequest, build_plan, hold_for_procedure
from ldnkit.knowledge.files import DATA_DIR_ENV, data_dir, reload_knowledge
from ldnkit.knowledge.limits import limits
from ldnkit.services.ask import ask
from ldnkit.validation import InputError
from ldnkit.web.citations import Citations
from ldnkit.web.render import environment

AS_OF = dt.date(2026, 11, 23)
HOLD, LEAST_HOLD, WASHOUT = 4, 3, 8  # the data ship 3, 2 and 7
LATEST = 21  # the data ship 14
RECORDED: dict[str, Any] = {
    "age": 47,
    "sex": "female",
    "pregnant": False,
    "liver": "normal",
    "kidney": "normal",
    "alcohol": "none",
}


@pytest.fixture
def changed_knowledge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    copy = tmp_path / "data"
    shutil.copytree(Path(str(data_dir())), copy)
    numbers = yaml.safe_load((copy / "limits.yaml").read_text(encoding="utf-8"))
    numbers["hold"]["usual"]["days"] = HOLD
    numbers["hold"]["minimum"]["days"] = LEAST_HOLD
    numbers["washout"]["short_acting"]["days"] = WASHOUT
    numbers["response"]["latest_window"]["days"] = LATEST
    (copy / "limits.yaml").write_text(yaml.safe_dump(numbers), encoding="utf-8")
    monkeypatch.setenv(DATA_DIR_ENV, str(copy))
    reload_knowledge()
    yield copy
    monkeypatch.delenv(DATA_DIR_ENV)
    reload_knowledge()


def _screen(**fields: Any) -> Any:
    return screen(PatientProfile.model_validate({"as_of": AS_OF.isoformat(), **RECORDED, **fields}))


def _session(name: str, draft: bool = False) -> SessionDrug:
    reference = "MedicationRequest/d1" if draft else None
    return SessionDrug(name, drug_facts(name, None), None, draft, reference)


def test_the_copy_is_what_ldnkit_reads(changed_knowledge: Path) -> None:
    assert limits().hold.usual.days == HOLD
    assert limits().washout.short_acting.days == WASHOUT


def test_the_screen_waits_the_changed_washout_and_holds_the_changed_days(
    changed_knowledge: Path,
) -> None:
    # Tramadol stopped 7 days ago: enough with the shipped data, one day short now.
    stopped = AS_OF - dt.timedelta(days=7)
    procedure = AS_OF + dt.timedelta(days=20)
    result = _screen(
        medications=[
            {"name": "tramadol 50 mg", "status": "stopped", "last_dose": stopped.isoformat()}
        ],
        planned_procedures=[
            {"date": procedure.isoformat(), "opioids_expected": True, "name": "knee arthroscopy"}
        ],
    )
    by_rule = {f.rule: f for f in result.findings}
    washout = by_rule["opioid-washout"]
    assert washout.resolves_on == stopped + dt.timedelta(days=WASHOUT)
    assert f"An opioid-free interval of {WASHOUT} days" in washout.message
    hold = by_rule["procedure-hold"]
    assert hold.blocks == (
        procedure - dt.timedelta(days=HOLD),
        procedure + dt.timedelta(days=WASHOUT),
    )
    assert f"({HOLD} days before;" in hold.message
    assert f"at the latest, {LEAST_HOLD} days before" in hold.message
    assert f"({WASHOUT} days after short-acting opioids)" in hold.message
    assert result.earliest_start == stopped + dt.timedelta(days=WASHOUT)


def test_the_hold_window_follows_the_changed_hold(changed_knowledge: Path) -> None:
    # Four days ahead: outside the shipped 3-day window, inside the changed 4-day one.
    procedure = AS_OF + dt.timedelta(days=HOLD)
    result = _screen(
        medications=[{"name": "ibuprofen 400 mg", "status": "active"}],
        planned_procedures=[{"date": procedure.isoformat(), "opioids_expected": True}],
    )
    [window] = [f for f in result.findings if f.rule == "procedure-hold-window"]
    assert f"it is stopped {HOLD} days before such a procedure ({LEAST_HOLD} at the least)" in (
        window.message
    )
    assert result.earliest_start == procedure + dt.timedelta(days=WASHOUT)


def test_the_plan_adjustment_holds_and_restarts_by_the_changed_numbers(
    changed_knowledge: Path,
) -> None:
    plan = build_plan(PlanRequest(protocol="standard", start=AS_OF))
    procedure, opioids_stop = dt.date(2026, 12, 20), dt.date(2026, 12, 22)
    held = hold_for_procedure(plan, procedure, opioids_stop)
    dosed = [s for s in held.steps if s.end is not None and s.end < procedure]
    assert dosed[-1].end == procedure - dt.timedelta(days=HOLD)
    restart = next(s for s in held.steps if s.start > procedure)
    assert restart.start == opioids_stop + dt.timedelta(days=WASHOUT)
    message = held.adjustments[-1].message
    assert f"take the last dose {HOLD} days before it" in message
    assert f"once opioids have stopped for {WASHOUT} days" in message
    with pytest.raises(InputError) as refused:
        hold_for_procedure(plan, procedure, opioids_stop, hold_days=LEAST_HOLD - 1)
    assert refused.value.problems[0].expected.startswith(f"{LEAST_HOLD} to ")


def test_the_cds_cards_state_the_changed_hold_and_washout(changed_knowledge: Path) -> None:
    opioid_card = order_cards(
        order_findings([_session("oxycodone 5 mg", draft=True)], [], [_session("LDN 4.5 mg")])
    )[0]
    assert opioid_card.indicator == "critical"
    assert f"LDN is held {LEAST_HOLD} to {HOLD} days beforehand" in (opioid_card.detail or "")
    assert f"opioid-free interval ({WASHOUT} to 10 days)" in (opioid_card.detail or "")
    ldn_card = order_cards(
        order_findings([_session("naltrexone 4.5 mg", draft=True)], [], [_session("tramadol")])
    )[0]
    assert f"at least {WASHOUT} to 10 opioid-free days" in (ldn_card.detail or "")


def test_the_messages_elsewhere_state_the_changed_numbers(changed_knowledge: Path) -> None:
    undated = _screen(medications=[{"name": "hydrocodone", "status": "stopped"}])
    assert f"({WASHOUT} to 10 days after short-acting opioids" in undated.findings[0].message
    active = _screen(medications=[{"name": "Norco", "status": "active"}])
    assert f"wait {WASHOUT} days after the last dose" in active.findings[0].message
    # The cited answers render the same rule from the same numbers.
    answer = ask("Can I take LDN with Norco?")
    assert f"wait {WASHOUT} days after the last dose" in answer.statements[0].text


def test_the_response_pages_name_the_changed_latest_window(changed_knowledge: Path) -> None:
    start = AS_OF - dt.timedelta(days=40)
    diary = [
        DiaryEntry.model_validate(
            {
                "day": (start + dt.timedelta(days=n)).isoformat(),
                "dose_mg": 1.5 if n >= 0 else None,
                "pain": 6 if n < 0 else 4,
                "fatigue": 5,
                "sleep_quality": 5,
            }
        )
        for n in range(-14, 41)
    ]
    assessment = assess(diary, start, AS_OF)
    assert assessment.latest_from == AS_OF - dt.timedelta(days=LATEST - 1)
    assert "pain" in assessment.measures
    view = SimpleNamespace(
        record=SimpleNamespace(id=1, name="Ada Example"),
        as_of=AS_OF,
        assessment=assessment,
        plan=None,
        entries=[],
    )
    context: dict[str, Any] = {
        "view": view,
        "profile": [],
        "screening": None,
        "plan": None,
        "cite": Citations(),
        "entries": [],
        "going": [],
        "chart": "",
        "chart_text": "",
    }
    pages = {
        name: environment().get_template(name).render(context)
        for name in ("_response.html", "summary.html", "progress.html")
    }
    # The clinician's record and the printed summary head the column with the window...
    for name in ("_response.html", "summary.html"):
        assert f'<th scope="col">Last {LATEST} days</th>' in pages[name], name
        assert "Last 14 days" not in pages[name], name
    # ...and the patient reads it in the sentence about their pain.
    assert f"over the last {LATEST} days" in pages["progress.html"]


def test_the_shipped_numbers_are_back_after_the_copy_is_left() -> None:
    assert limits().hold.usual.days == 3
    assert limits().washout.short_acting.days == 7
    assert limits().response.latest_window.days == 14
