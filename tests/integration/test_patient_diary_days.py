"""The patient's diary days on a served app: today's entry shown and edited, past days opened,
changed and deleted with every version kept, future days refused, days before the plan
confirmed, the conflict box, and a form kept across an ended session."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import create_engine, text

from ldnkit.domain.titration import PlanRequest, build_plan
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store.records import Actor
from ldnkit.store.repository import Store
from ldnkit.web import server
from ldnkit.web.server import background_server, csrf_from, sign_in

PASSWORD = "diary-days-pass-1"
DOCTOR = "doc@days.test"


def today() -> dt.date:
    """Read at each use: a run that passes midnight must not compare with yesterday."""
    return dt.date.today()


PLAN_START = today() - dt.timedelta(days=20)


@dataclass(frozen=True)
class Site:
    url: str
    db_url: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('days')}/days.db"
    store = Store.open(db_url)
    store.upgrade()
    doctor = create_account(store, NewAccount(role="clinician", email=DOCTOR, password=PASSWORD))
    for name in ("pat", "other", "late", "stash"):
        patient = create_account(
            store,
            NewAccount(
                role="patient", email=f"{name}@days.test", password=PASSWORD, clinician=DOCTOR
            ),
        )
        assert patient.patient_id is not None
        request = PlanRequest(protocol="standard", start=PLAN_START)
        steps = [s.model_dump(mode="json") for s in build_plan(request).steps]
        store.save_plan(doctor.actor, patient.patient_id, "standard", PLAN_START,
                        request.model_dump(mode="json"), steps)  # fmt: skip
    store.close()
    with background_server(Settings(database_url=db_url, session_idle_minutes=5)) as url:
        yield Site(url, db_url)


def signed_in(site: Site, email: str) -> AbstractContextManager[httpx.Client]:
    return server.signed_in(site.url, email, PASSWORD)


def _form(page: str, **answers: str) -> dict[str, str]:
    """The diary form's hidden fields from the page, with the answers given."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    fields["csrf_token"] = csrf_from(page)
    return {**fields, **answers}


ANSWERS = {"pain": "6", "fatigue": "5", "sleep_quality": "4"}


def _store(site: Site) -> Store:
    return Store.open(site.db_url)


def _patient(store: Store, email: str) -> tuple[Actor, int]:
    account = store.account_by_email(email)
    assert account is not None
    assert account.patient_id is not None
    return account.actor, account.patient_id


def test_today_shows_the_saved_entry_and_saving_again_edits_it(site: Site) -> None:
    with signed_in(site, "pat@days.test") as patient:
        page = patient.get("/me/today").text
        assert patient.post("/me/today", data=_form(page, **ANSWERS)).status_code == 303
        again = patient.get("/me/today").text
        assert "Saved. Change anything below and press Save again." in again
        assert 'name="pain" value="6" checked' in again
        changed = patient.post("/me/today", data=_form(again, **{**ANSWERS, "pain": "3"}))
        assert changed.status_code == 303  # an edit of what was shown: no conflict box
        assert changed.headers["location"] == f"/me/progress?saved={today()}"
    store = _store(site)
    actor, pid = _patient(store, "pat@days.test")
    day = store.diary_day(actor, pid, today())
    assert day is not None
    assert day.entry.pain == 3
    (kept,) = store.diary_versions(actor, pid, today())
    assert kept.entry.pain == 6
    store.close()


def test_a_past_day_is_opened_from_the_picker_changed_and_deleted_with_nothing_lost(
    site: Site,
) -> None:
    day = (today() - dt.timedelta(days=3)).isoformat()
    with signed_in(site, "pat@days.test") as patient:
        page = patient.get(f"/me/today?day={day}").text
        assert 'type="date" name="day"' in page
        assert patient.post("/me/today", data=_form(page, **ANSWERS)).status_code == 303
        opened = patient.get(f"/me/today?day={day}").text
        corrected = _form(opened, **{**ANSWERS, "fatigue": "2"})
        assert patient.post("/me/today", data=corrected).status_code == 303
        shown = patient.get(f"/me/today?day={day}").text
        assert "Delete this day's entry" in shown
        version = re.search(r'name="version" value="([^"]+)"', shown)
        assert version is not None
        delete = {"csrf_token": csrf_from(shown), "day": day, "version": version.group(1)}
        deleted = patient.post("/me/today/delete", data=delete)
        assert deleted.headers["location"] == f"/me/progress?deleted={day}"
        progress = patient.get(deleted.headers["location"]).text
        assert f"Deleted your entry for {day}. A copy is kept in your record&#39;s history." in (
            progress
        )
        assert f"/me/today?day={day}" not in progress  # no longer in the diary table
    store = _store(site)
    actor, pid = _patient(store, "pat@days.test")
    when = dt.date.fromisoformat(day)
    assert store.diary_day(actor, pid, when) is None
    versions = store.diary_versions(actor, pid, when)
    assert [(v.entry.fatigue, v.deleted) for v in versions] == [(5, False), (2, True)]
    trail = [e.what for e in store.audit_trail(pid)]
    assert f"diary {day} deleted" in trail
    store.close()


def test_deleting_a_day_that_changed_since_it_was_opened_deletes_nothing(site: Site) -> None:
    day = (today() - dt.timedelta(days=4)).isoformat()
    with signed_in(site, "pat@days.test") as patient:
        page = patient.get(f"/me/today?day={day}").text
        assert patient.post("/me/today", data=_form(page, **ANSWERS)).status_code == 303
        opened = patient.get(f"/me/today?day={day}").text
        version = re.search(r'name="version" value="([^"]+)"', opened)
        assert version is not None
        # Changed on another phone in the meantime.
        elsewhere = _form(opened, **{**ANSWERS, "pain": "1"})
        assert patient.post("/me/today", data=elsewhere).status_code == 303
        stale = {"csrf_token": csrf_from(opened), "day": day, "version": version.group(1)}
        refused = patient.post("/me/today/delete", data=stale)
        assert refused.status_code == 409
        assert "nothing was deleted" in refused.text
        assert 'name="pain" value="1" checked' in refused.text


@pytest.mark.parametrize("ahead", [2, 400])
def test_a_day_after_today_is_refused_on_the_page_and_in_the_form(site: Site, ahead: int) -> None:
    future = (today() + dt.timedelta(days=ahead)).isoformat()
    with signed_in(site, "pat@days.test") as patient:
        shown = patient.get(f"/me/today?day={future}")
        assert shown.status_code == 422
        assert f"Day: please enter a date from the calendar, today ({today()}) or before." in (
            shown.text
        )
        assert f'max="{today()}"' in shown.text
        page = patient.get("/me/today").text
        sent = patient.post("/me/today", data=_form(page, **ANSWERS, day=future))
        assert sent.status_code == 422
        assert f"Day: please enter a day on or before today ({today()})" in sent.text
    store = _store(site)
    actor, pid = _patient(store, "pat@days.test")
    assert all(e.day <= today() for e in store.diary(actor, pid))
    store.close()


def test_a_past_day_before_the_plan_started_is_saved_only_once_confirmed(site: Site) -> None:
    before = (PLAN_START - dt.timedelta(days=2)).isoformat()
    with signed_in(site, "other@days.test") as patient:
        page = patient.get(f"/me/today?day={before}").text
        asked = patient.post("/me/today", data=_form(page, **ANSWERS))
        assert asked.status_code == 409
        assert f"Your plan started on {PLAN_START}." in asked.text
        assert "counts as how you were before LDN" in asked.text
        confirmed = _form(asked.text, **ANSWERS, before_plan="yes")
        saved = patient.post("/me/today", data=confirmed)
        assert saved.headers["location"] == f"/me/progress?saved={before}"


def test_the_conflict_box_keeps_by_default_and_says_what_combine_will_store(site: Site) -> None:
    day = (today() - dt.timedelta(days=6)).isoformat()
    with signed_in(site, "other@days.test") as phone, signed_in(site, "other@days.test") as tab:
        blank = tab.get(f"/me/today?day={day}").text  # opened while the day was empty
        first = _form(phone.get(f"/me/today?day={day}").text, pain="5", fatigue="4",
                      sleep_quality="6")  # fmt: skip
        assert phone.post("/me/today", data=first).status_code == 303
        clash = tab.post("/me/today", data=_form(blank, pain="4", fatigue="4", sleep_quality="7"))
        assert clash.status_code == 409
        assert 'value="keep" checked' in clash.text
        assert 'value="replace" checked' not in clash.text
        assert "Saved: pain 5, fatigue 4, sleep quality 6, no dose." in clash.text
        # 5 then 4: the half goes toward the newer answer; 6 then 7 likewise.
        assert "This stores: pain 4, fatigue 4, sleep quality 7, no dose" in clash.text
        kept = tab.post("/me/today", data=_form(clash.text, pain="4", fatigue="4",
                                                 sleep_quality="7", how="keep"))  # fmt: skip
        assert kept.headers["location"] == f"/me/progress?unchanged={day}"
        assert "Nothing changed: your saved entry for" in tab.get(kept.headers["location"]).text
        combined = tab.post("/me/today", data=_form(clash.text, pain="4", fatigue="4",
                                                     sleep_quality="7", how="combine"))  # fmt: skip
        assert combined.headers["location"] == f"/me/progress?saved={day}"
    store = _store(site)
    actor, pid = _patient(store, "other@days.test")
    stored = store.diary_day(actor, pid, dt.date.fromisoformat(day))
    assert stored is not None
    assert (stored.entry.pain, stored.entry.sleep_quality) == (4, 7)
    store.close()


def _end_sessions_by_idleness(site: Site, email: str) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    engine = create_engine(site.db_url)
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE sessions SET last_seen_at = :t WHERE account_id = "
                "(SELECT id FROM accounts WHERE email = :email)"
            ),
            {"t": long_ago, "email": email},
        )
    engine.dispose()


def test_a_form_sent_after_the_session_ended_is_kept_and_saved_after_signing_in(
    site: Site,
) -> None:
    day = (today() - dt.timedelta(days=1)).isoformat()
    with signed_in(site, "stash@days.test") as patient:
        page = patient.get(f"/me/today?day={day}").text
        _end_sessions_by_idleness(site, "stash@days.test")
        sent = patient.post("/me/today", data=_form(page, **ANSWERS, note="typed slowly"))
        assert sent.status_code == 303
        assert sent.headers["location"] == "/login?kept=1"
        login = patient.get("/login?kept=1").text
        assert "your diary entry has been kept" in login
        again = sign_in(patient, "stash@days.test", PASSWORD)
        assert again.status_code == 303
        assert again.headers["location"] == f"/me/progress?saved={day}"
        assert "ldnkit_resume" not in patient.cookies
    # Taken once: nothing is left to be saved a second time.
    engine = create_engine(site.db_url)
    with engine.connect() as c:
        kept = text(
            "SELECT count(*) FROM pending_forms WHERE account_id = "
            "(SELECT id FROM accounts WHERE email = 'stash@days.test')"
        )
        assert c.execute(kept).scalar() == 0
    engine.dispose()
    store = _store(site)
    actor, pid = _patient(store, "stash@days.test")
    saved = store.diary_day(actor, pid, dt.date.fromisoformat(day))
    assert saved is not None
    assert saved.entry.note == "typed slowly"
    store.close()


def test_a_kept_form_is_never_saved_for_another_account_or_without_its_csrf(site: Site) -> None:
    day = (today() - dt.timedelta(days=2)).isoformat()
    with signed_in(site, "late@days.test") as patient:
        page = patient.get(f"/me/today?day={day}").text
        _end_sessions_by_idleness(site, "late@days.test")
        forged = _form(page, **ANSWERS)
        forged["csrf_token"] = "not-the-sessions-token"
        refused = patient.post("/me/today", data=forged)
        assert refused.headers["location"] == "/login"  # nothing kept
        sent = patient.post("/me/today", data=_form(page, **ANSWERS, note="late's"))
        assert sent.headers["location"] == "/login?kept=1"
        # Someone else signs in on this browser: the form is not theirs and is not saved.
        assert sign_in(patient, "other@days.test", PASSWORD).headers["location"] == "/me/today"
    store = _store(site)
    for email in ("late@days.test", "other@days.test"):
        actor, pid = _patient(store, email)
        assert store.diary_day(actor, pid, dt.date.fromisoformat(day)) is None
    store.close()
