"""One medication name meets the same rules on every path into ldnkit.

A name as a pharmacy or EHR prints it goes through the command line (a profile file), the FHIR
import (`ldnkit screen --fhir`), the clinician's intake form in the web app, a population run
over a Bulk Data export, and a CDS Hooks order for LDN. Each path reads its input its own way,
then asks the one domain for the drug's facts and the rules: the medication rules that fire must
be the same everywhere, and the CDS card must say what the screen says (an opioid: critical; a
name that cannot be read in full: a warning; anything else: no card).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ldnkit.cli import main
from ldnkit.domain.drugs.facts import drug_facts
from ldnkit.domain.rules import SCREEN
from ldnkit.services.accounts import NewAccount, create_account
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.server import background_server, csrf_from, sign_in

AS_OF = dt.date.today()
DOCTOR, PASSWORD = "doc@paths.test", "one medication, every path"
# Names as pharmacies and EHRs print them: combination abbreviations, a brand, an unknown word
# beside a known one, an ambiguous abbreviation, a name the lexicon cannot read, a non-opioid.
NAMES = [
    "HYCD/APAP 5-325 MG TABLET",
    "APAP/COD 300-30",
    "Ultram 50 mg",
    "BUP/NAL 8-2 film",
    "Xyzzy/acetaminophen 325 mg",
    "HC 10 mg tablet",
    "tianeptine 12.5 mg",
    "vitamin D 1000 IU",
]
# The rules about a medication itself (not about the liver, a procedure or a condition).
MEDICATION_RULES = frozenset(
    rule.id
    for rule in SCREEN
    if rule.check.__module__.rsplit(".", 1)[1] in ("opioids", "medications", "products")
)


def _medication_rules(findings: list[dict[str, Any]]) -> set[str]:
    return {f["rule"] for f in findings if f["rule"] in MEDICATION_RULES}


def _cli_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def _profile_file(folder: Path, name: str) -> Path:
    path = folder / "profile.json"
    medication = {"name": name, "status": "active"}
    path.write_text(json.dumps({"as_of": AS_OF.isoformat(), "medications": [medication]}))
    return path


def _medication_request(patient: str, name: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"rx-{uuid.uuid4().hex[:12]}",
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "medicationCodeableConcept": {"text": name},
        "authoredOn": (AS_OF - dt.timedelta(days=30)).isoformat(),
    }


def _patient(patient: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": patient, "gender": "female", "birthDate": "1975-05-05"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('paths')}/clinic.db"
    store = Store.open(db_url)
    store.upgrade()
    create_account(store, NewAccount(role="clinician", email=DOCTOR, password=PASSWORD))
    store.close()
    with background_server(Settings(database_url=db_url, cds_auth="off")) as url:
        yield url, db_url


def _through_the_web(site: tuple[str, str], name: str) -> set[str]:
    url, db_url = site
    with httpx.Client(base_url=url, follow_redirects=False, timeout=30) as client:
        assert sign_in(client, DOCTOR, PASSWORD).status_code == 303
        page = client.get("/clinic/patients/new").text
        token = re.search(r'name="intake_token" value="([^"]+)"', page)
        assert token is not None
        form = {
            "csrf_token": csrf_from(page),
            "intake_token": token.group(1),
            "name": f"Patient on {name}",
            "med_name_0": name,
            "med_status_0": "active",
        }
        created = client.post("/clinic/patients/new", data=form)
        assert created.status_code == 303, created.text[:2000]
        patient_id = int(created.headers["location"].split("#")[0].rsplit("/", 1)[1])
    store = Store.open(db_url)
    try:
        doctor = store.account_by_email(DOCTOR)
        assert doctor is not None
        saved = store.screenings(doctor.actor, patient_id)[0]
    finally:
        store.close()
    return _medication_rules(saved.result["findings"])


def _through_cds_hooks(site: tuple[str, str], name: str) -> list[str]:
    """The indicators of the cards for LDN ordered for a patient taking `name`."""
    url, _ = site
    draft = _medication_request("paths-patient", "naltrexone 4.5 mg capsule", "draft")
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/example",
            "patientId": "paths-patient",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]},
        },
        "prefetch": {
            "medications": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": _medication_request("paths-patient", name)}],
            }
        },
    }
    answer = httpx.post(f"{url}/cds-services/ldn-order-sign", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return sorted(card["indicator"] for card in answer.json()["cards"])


def _through_a_population_run(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> dict[str, set[str]]:
    """Every name in one Bulk Data export, a patient each; the rules of each patient's row."""
    export = folder / "export"
    export.mkdir()
    patients = {f"p{i}": name for i, name in enumerate(NAMES)}
    (export / "Patient.000.ndjson").write_text(
        "".join(json.dumps(_patient(p)) + "\n" for p in patients)
    )
    (export / "MedicationRequest.000.ndjson").write_text(
        "".join(json.dumps(_medication_request(p, n)) + "\n" for p, n in patients.items())
    )
    out = folder / "screened.csv"
    args = ["population", "screen", str(export), "--out", str(out), "--as-of", AS_OF.isoformat()]
    _cli_json([*args, "--json"], capsys)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = {row["patient_id"]: row for row in csv.DictReader(handle)}
    return {
        name: {r for r in rows[p]["rules"].split(";") if r in MEDICATION_RULES}
        for p, name in patients.items()
    }


def test_the_medication_rules_are_the_same_on_every_path(
    site: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    population = _through_a_population_run(tmp_path, capsys)
    for i, name in enumerate(NAMES):
        folder = tmp_path / f"name-{i}"
        folder.mkdir()
        cli = _cli_json(["screen", str(_profile_file(folder, name)), "--json"], capsys)
        expected = _medication_rules(cli["findings"])
        bundle = folder / "bundle.json"
        resources = [_patient("one"), _medication_request("one", name)]
        entries = [{"resource": r} for r in resources]
        bundle.write_text(
            json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
        )
        fhir_args = ["screen", "--fhir", str(bundle), "--as-of", AS_OF.isoformat(), "--json"]
        fhir = _cli_json(fhir_args, capsys)
        assert _medication_rules(fhir["findings"]) == expected, ("FHIR import", name)
        assert _through_the_web(site, name) == expected, ("web intake", name)
        assert population[name] == expected, ("population run", name)


def test_a_cds_card_says_what_the_screen_says_about_the_drug(site: tuple[str, str]) -> None:
    readings = set()
    for name in NAMES:
        facts = drug_facts(name, None)
        reading = "opioid" if facts.is_opioid else "unknown" if facts.unknown else "not an opioid"
        expected = {"opioid": ["critical"], "unknown": ["warning"], "not an opioid": []}[reading]
        assert _through_cds_hooks(site, name) == expected, (name, reading)
        readings.add(reading)
    assert readings == {"opioid", "unknown", "not an opioid"}  # the names cover all three
