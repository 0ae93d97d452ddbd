"""JWT checks of CDS Hooks calls: the spec's rules, each with a token that breaks one of them."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ldnkit.cdshooks.auth import (
    MAX_LIFETIME_SECONDS,
    AuthError,
    JkuKeys,
    ReplayGuard,
    Verifier,
    _FetchedKeys,
    _parse_keys,
    load_clients,
)
from ldnkit.validation import InputError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cds"
EHR = "https://ehr.example.org"
AUD = "https://cds.example.net/cds-services/ldn-order-sign"

EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP384R1())


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = (
        jwt.algorithms.ECAlgorithm
        if isinstance(key, ec.EllipticCurvePrivateKey)
        else (jwt.algorithms.RSAAlgorithm)
    )
    jwk: dict[str, Any] = json.loads(algorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}


CLIENTS = [
    {"iss": EHR, "jwks": {"keys": [public_jwk(EC_KEY, "ec-1"), public_jwk(RSA_KEY, "rsa-1")]}},
]


def token(
    key: Any = EC_KEY,
    alg: str = "ES384",
    kid: str | None = "ec-1",
    *,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    now = int(time.time())
    payload = {"iss": EHR, "aud": AUD, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    header = {"kid": kid, **(headers or {})} if kid else dict(headers or {})
    return jwt.encode(payload, key, algorithm=alg, headers=header)


@pytest.fixture
def verifier(tmp_path: Path) -> Verifier:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(CLIENTS))
    return Verifier(load_clients(path), replay=ReplayGuard())


def check(verifier: Verifier, bearer: str | None, audience: str = AUD) -> Any:
    header = f"Bearer {bearer}" if bearer is not None else None
    return asyncio.run(verifier.verify(header, audience))


def refusal(verifier: Verifier, bearer: str | None, audience: str = AUD) -> str:
    with pytest.raises(AuthError) as caught:
        check(verifier, bearer, audience)
    return str(caught.value)


def test_es384_token_from_trusted_ehr_is_accepted(verifier: Verifier) -> None:
    caller = check(verifier, token(sub="cds-client", tenant="clinic-7"))
    assert (caller.iss, caller.sub, caller.tenant) == (EHR, "cds-client", "clinic-7")


def test_rs384_token_is_accepted(verifier: Verifier) -> None:
    assert check(verifier, token(RSA_KEY, "RS384", "rsa-1")).iss == EHR


def test_aud_given_as_a_list_is_accepted(verifier: Verifier) -> None:
    assert check(verifier, token(aud=[AUD])).iss == EHR


def test_token_signed_with_another_key_is_refused(verifier: Verifier) -> None:
    assert "signature" in refusal(verifier, token(OTHER_EC_KEY))


def test_expired_token_is_refused(verifier: Verifier) -> None:
    past = int(time.time()) - 3600
    assert "expired" in refusal(verifier, token(iat=past - 60, exp=past))


def test_token_for_another_endpoint_is_refused(verifier: Verifier) -> None:
    reason = refusal(verifier, token(aud="https://cds.example.net/cds-services/other"))
    assert f"expected {AUD!r}" in reason


def test_unsigned_token_alg_none_is_refused(verifier: Verifier) -> None:
    unsigned = token(None, "none")
    assert "'none' is refused" in refusal(verifier, unsigned)


def test_hmac_token_is_refused_even_keyed_with_the_public_key(verifier: Verifier) -> None:
    # The classic key-confusion attack: HS256 "signed" with the EHR's public key bytes.
    public_pem = EC_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = _hs256_with_public_key(public_pem)
    assert "HS256" in refusal(verifier, forged)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(secret: bytes) -> str:
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "ec-1"}).encode())
    body = b64(
        json.dumps({"iss": EHR, "aud": AUD, "iat": now, "exp": now + 60, "jti": "h"}).encode()
    )
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


def test_replayed_jti_is_refused(verifier: Verifier) -> None:
    once = token()
    check(verifier, once)
    assert "replay" in refusal(verifier, once)


def test_token_living_longer_than_five_minutes_is_refused(verifier: Verifier) -> None:
    now = int(time.time())
    long_lived = token(iat=now, exp=now + MAX_LIFETIME_SECONDS + 60)
    assert "at most 300 s" in refusal(verifier, long_lived)


def test_untrusted_issuer_is_refused(verifier: Verifier) -> None:
    assert "not a trusted" in refusal(verifier, token(iss="https://evil.example.com"))


def test_token_without_kid_is_refused(verifier: Verifier) -> None:
    assert "kid" in refusal(verifier, token(kid=None))


def test_token_with_unknown_kid_is_refused(verifier: Verifier) -> None:
    assert "'ec-9'" in refusal(verifier, token(kid="ec-9"))


def test_rsa_key_named_under_an_ec_algorithm_is_refused(verifier: Verifier) -> None:
    assert "RSA key" in refusal(verifier, token(EC_KEY, "ES384", "rsa-1"))


def test_jku_not_in_the_allowlist_is_refused(verifier: Verifier) -> None:
    pointed = token(headers={"jku": "https://evil.example.com/jwks.json"})
    assert "not allowlisted" in refusal(verifier, pointed)


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt"])
def test_missing_or_malformed_authorization_is_refused(
    verifier: Verifier, header: str | None
) -> None:
    with pytest.raises(AuthError):
        asyncio.run(verifier.verify(header, AUD))


def test_missing_claims_are_refused(verifier: Verifier) -> None:
    assert "jti" in refusal(verifier, token(jti=None))


def test_a_token_without_sub_is_accepted_as_the_spec_defines_none(verifier: Verifier) -> None:
    # CDS Hooks 2.0.1 lists iss, aud, exp, iat, jti (and tenant); sub was removed from the
    # payload in 2018 (cds-hooks/docs 86bc709), and the spec's example token carries none.
    assert check(verifier, token()).sub is None


@pytest.mark.parametrize("sub", ["", 7, ["cds-client"]])
def test_a_sub_that_is_not_text_is_refused(verifier: Verifier, sub: Any) -> None:
    assert "sub" in refusal(verifier, raw_token(sub=sub)).lower()


def raw_token(**claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": EHR, "aud": AUD, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    return raw_es384({"kid": "ec-1"}, {**payload, **claims})


@pytest.mark.parametrize("claim", ["iat", "exp"])
def test_times_written_as_text_are_refused(verifier: Verifier, claim: str) -> None:
    # PyJWT reads "1767225600" as a number; the JWT spec's NumericDate is a JSON number.
    now = int(time.time())
    times = {"iat": now, "exp": now + 60}
    times[claim] = str(times[claim])  # type: ignore[assignment]
    assert f"{claim} must be a number" in refusal(verifier, raw_token(**times))


def test_a_time_given_as_true_is_refused(verifier: Verifier) -> None:
    assert "iat must be a number" in refusal(verifier, raw_token(iat=True))


def test_spec_example_token_verifies_against_its_key_but_is_refused_as_expired(
    tmp_path: Path,
) -> None:
    example = json.loads((FIXTURES / "spec-jwt-example.json").read_text())
    path = tmp_path / "clients.json"
    path.write_text(json.dumps([{"iss": example["payload"]["iss"], "jwks": example["jwks"]}]))
    spec_verifier = Verifier(load_clients(path), replay=ReplayGuard())
    # The spec's header names a jku the clients file does not list: refused before any fetch.
    assert "not allowlisted" in refusal(spec_verifier, example["token"], example["payload"]["aud"])
    jku = example["header"]["jku"]
    path.write_text(json.dumps([{"iss": example["payload"]["iss"], "jku": jku}]))
    # The key set a fetch of the spec's jku would return, known already: no network in a test.
    known = JkuKeys(
        _cache={jku: _FetchedKeys(_parse_keys(example["jwks"]["keys"], jku), 0.0)},
        clock=lambda: 0.0,
    )
    jku_verifier = Verifier(load_clients(path), replay=ReplayGuard(), jku_keys=known)
    # The signature checks out against the published key; what remains is the expiry (2015).
    assert "expired" in refusal(jku_verifier, example["token"], example["payload"]["aud"])


def test_replay_guard_forgets_a_jti_once_its_token_has_expired() -> None:
    now = [1000.0]
    guard = ReplayGuard(clock=lambda: now[0])
    assert guard.first_use(EHR, "a", exp=1010)
    assert not guard.first_use(EHR, "a", exp=1010)
    now[0] = 2000.0
    assert guard.first_use(EHR, "b", exp=2010)
    assert len(guard) == 1  # "a" was dropped when its time was up
    assert guard.first_use(EHR, "a", exp=2010)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "a JSON list of clients"),
        (json.dumps([{"iss": EHR}]), "either jwks (inline keys) or jku"),
        (json.dumps([{"iss": EHR, "jku": "http://ehr.example.org/jwks"}]), "https jku"),
        (json.dumps([{"iss": EHR, "jwks": {"keys": [{"kty": "EC"}]}}]), "a key id (kid)"),
        (
            json.dumps([{"iss": EHR, "jwks": {"keys": [public_jwk(EC_KEY, "k")]}, "x": 1}]),
            "no such field",
        ),
        (json.dumps(CLIENTS + CLIENTS), "each issuer listed once"),
    ],
)
def test_bad_clients_file_is_refused_at_start_with_a_reason(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "clients.json"
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        load_clients(path)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"x": 1}', 'LDNKIT_CDS_CLIENTS: got {"x": 1}; expected a list'),
        (
            b'[{"iss": "https://x.org", "jwks": {"keys": []}}]',
            "LDNKIT_CDS_CLIENTS[0].jwks.keys: got []",
        ),
        (b'[{"iss": "\xff"}]', "expected a JSON list of clients in UTF-8 text"),
    ],
)
def test_a_bad_clients_file_names_the_setting(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    # An operator reads "[0].jwks.keys" alone without knowing which file or setting it is in.
    path = tmp_path / "clients.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load_clients(path)
    (problem,) = caught.value.problems
    assert str(problem).startswith("LDNKIT_CDS_CLIENTS")
    assert expected in str(problem)


ODD = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
ODD_JSON = st.recursive(ODD, lambda inner: st.lists(inner, max_size=2), max_leaves=4)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    claim=st.sampled_from(["iss", "aud", "exp", "iat", "jti", "sub", "tenant"]),
    header=st.sampled_from(["kid", "jku", "typ"]),
    claim_value=ODD_JSON,
    header_value=ODD_JSON,
)
def test_odd_claims_and_headers_are_accepted_or_refused_never_crash(
    verifier: Verifier, claim: str, header: str, claim_value: Any, header_value: Any
) -> None:
    now = int(time.time())
    payload = {"iss": EHR, "aud": AUD, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    payload[claim] = claim_value
    headers = {"kid": "ec-1", header: header_value}
    with contextlib.suppress(AuthError):
        check(verifier, raw_es384(headers, payload))


def raw_es384(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A correctly signed JWS of any JSON, even what PyJWT's encoder would refuse to write."""
    head = b64(json.dumps({"alg": "ES384", **header}).encode())
    body = b64(json.dumps(payload).encode())
    es384 = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA384)
    return f"{head}.{body}.{b64(es384.sign(f'{head}.{body}'.encode(), EC_KEY))}"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=80) | st.text(alphabet="abcXYZ019-_.=", max_size=80))
def test_garbage_bearer_tokens_are_refused(verifier: Verifier, garbage: str) -> None:
    with pytest.raises(AuthError):
        check(verifier, garbage)
