"""`ldnkit db` and `ldnkit users` against a real SQLite file."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from ldnkit.cli import main
from ldnkit.store import migrate
from ldnkit.store.passwords import verify_password
from ldnkit.store.repository import Store


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("LDNKIT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    return url


def test_db_upgrade_migrates_an_empty_database_then_reports_nothing_to_do(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["from"] is None
    assert first["to"] == migrate.head_revision()
    assert main(["db", "upgrade"]) == 0
    assert f"already at {migrate.head_revision()}" in capsys.readouterr().out
    assert main(["db", "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["up_to_date"] is True


def test_db_status_tells_an_empty_database_to_upgrade(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "status"]) == 0
    assert "run `ldnkit db upgrade`" in capsys.readouterr().out


def test_users_create_makes_a_clinician_and_a_patient_with_their_record(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["users", "create", "--role", "clinician", "--email", "Doc@Clinic.test"]
    assert main([*args, "--password", "doctor-pass-1", "--name", "Dr Doc"]) == 0
    assert "Created clinician doc@clinic.test" in capsys.readouterr().out
    patient_args = ["users", "create", "--role", "patient", "--email", "pat@home.test"]
    code = main([*patient_args, "--password", "patient-pass", "--clinician", "doc@clinic.test",
                 "--json"])  # fmt: skip
    assert code == 0
    created = json.loads(capsys.readouterr().out)
    assert created["role"] == "patient"

    store = Store.open(db_url)
    doctor = store.account_by_email("doc@clinic.test")
    patient = store.account_by_email("pat@home.test")
    assert doctor is not None
    assert patient is not None
    assert patient.patient_id == created["patient_id"]
    assert [p.id for p in store.patients(doctor.actor)] == [patient.patient_id]
    assert verify_password(patient.password_hash, "patient-pass")
    store.close()


def test_users_create_refuses_bad_input_with_one_line_per_field(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["users", "create", "--role", "patient", "--email", "nope", "--password", "short"])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        'error: email: got "nope"; expected an email address like name@example.org '
        "(An email address must have an @-sign.)",
        "error: password: got a password of 5 characters; expected a password of 12 to 1024 "
        "characters that is not a common password and not the email (a few words together are "
        "easy to remember)",
        "error: clinician: got null; expected the email of the patient's clinician, or the "
        "id of their patient record",
    ]


def test_users_create_refuses_an_unknown_clinician_and_a_taken_email(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["users", "create", "--password", "long-enough-pw"]
    assert main([*base, "--role", "patient", "--email", "p@x.test", "--clinician", "n@x.test"]) == 2
    assert 'clinician: got "n@x.test"; expected the email of a clinician account' in (
        capsys.readouterr().err
    )
    assert main([*base, "--role", "clinician", "--email", "c@x.test"]) == 0
    assert main([*base, "--role", "clinician", "--email", "C@x.test"]) == 2
    assert 'email: got "c@x.test"; expected an email that has no account yet' in (
        capsys.readouterr().err
    )


def test_demo_seeds_an_empty_database_once(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    seeded = json.loads(capsys.readouterr().out)
    assert seeded["seeded"] is True
    roles = [login["role"] for login in seeded["logins"]]
    assert roles == ["clinician", "patient", "patient", "patient", "analyst"]
    store = Store.open(db_url)
    doctor = store.account_by_email(seeded["logins"][0]["email"])
    assert doctor is not None
    patients = store.patients(doctor.actor)
    assert len(patients) == 3
    assert all(len(store.diary(doctor.actor, p.id)) >= 90 for p in patients)
    assert all(store.current_plan(doctor.actor, p.id) is not None for p in patients)
    store.close()
    assert main(["demo"]) == 0
    assert "already has accounts; nothing seeded" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "got a value that is not a URL; expected a database URL such as"),
        ("sqlite:////nonexistent-dir/x.db", "expected a database that can be opened"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/db", "u:***@127.0.0.1:1/db"),
    ],
)
def test_a_database_url_that_cannot_be_used_exits_2_naming_the_setting(
    url: str,
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LDNKIT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    for command in (
        ["db", "status"],
        [
            "users",
            "create",
            "--role",
            "clinician",
            "--email",
            "a@b.test",
            "--password",
            "long-enough-pw",
        ],
    ):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: LDNKIT_DATABASE_URL: got ")
        assert expected in err
        assert "secret" not in err


def test_a_bad_setting_exits_2_naming_its_environment_variable(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LDNKIT_CDS_AUTH", "maybe")
    assert main(["db", "status"]) == 2
    assert capsys.readouterr().err == (
        'error: LDNKIT_CDS_AUTH: got "maybe"; expected one of on or off\n'
    )


def test_serve_on_a_port_in_use_exits_2_without_claiming_to_run(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert "running" not in out
    assert err.endswith(
        f"error: --port: got {port}; expected a port free on 127.0.0.1 (Address already in use)\n"
    )


def test_serve_with_a_bad_clients_file_exits_2_without_claiming_to_run(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = tmp_path / "clients.json"
    clients.write_text('{"iss": "https://ehr.example.org"}')
    monkeypatch.setenv("LDNKIT_CDS_CLIENTS", str(clients))
    assert main(["serve", "--port", "1"]) == 2
    out, err = capsys.readouterr()
    assert "running" not in out
    assert "error: LDNKIT_CDS_CLIENTS: got" in err


def _trusted_clients(tmp_path: Path) -> Path:
    clients = tmp_path / "clients.json"
    listed = [{"iss": "https://ehr.example.org", "jku": "https://ehr.example.org/jwks.json"}]
    clients.write_text(json.dumps(listed))
    return clients


def test_serve_with_trusted_cds_clients_and_no_public_url_refuses_to_start(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without it a token's aud would be checked against the Host the request claims, so a token
    # minted for another deployment would be accepted here.
    monkeypatch.setenv("LDNKIT_CDS_CLIENTS", str(_trusted_clients(tmp_path)))
    monkeypatch.delenv("LDNKIT_PUBLIC_URL", raising=False)
    monkeypatch.delenv("LDNKIT_TRUSTED_HOSTS", raising=False)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        # A port in use: should the check ever go missing, serve still stops (and this fails).
        assert main(["serve", "--port", str(taken.getsockname()[1])]) == 2
    out, err = capsys.readouterr()
    assert "running" not in out
    assert err.startswith("error: LDNKIT_PUBLIC_URL: got nothing; expected the address EHRs call")
    assert "LDNKIT_TRUSTED_HOSTS" in err


def test_serve_with_cds_checks_off_or_no_clients_does_not_need_a_public_url(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ldnkit.bootstrap import web_app

    monkeypatch.delenv("LDNKIT_PUBLIC_URL", raising=False)
    web_app()  # no clients: make run's case
    monkeypatch.setenv("LDNKIT_CDS_CLIENTS", str(_trusted_clients(tmp_path)))
    monkeypatch.setenv("LDNKIT_CDS_AUTH", "off")
    web_app()
    monkeypatch.setenv("LDNKIT_CDS_AUTH", "on")
    monkeypatch.setenv("LDNKIT_PUBLIC_URL", "https://ldn.clinic.example")
    web_app()
