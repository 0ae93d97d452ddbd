"""EHR authentication for CDS Hooks: each call carries a JWT signed by a trusted client.

Rules (CDS Hooks 2.0, "Trusting CDS Clients"): asymmetric signatures only (`none` and HMAC are
refused), `kid` names the key, `aud` is the endpoint URL that was called, `exp` at most five
minutes after `iat`, and each `jti` is accepted once. Trusted issuers and their keys come from
the JSON file named by LDNKIT_CDS_CLIENTS: an inline JWK Set, or a `jku` URL that is fetched
only when the token names exactly that URL.

The replay memory the service uses is the store's (`StoredReplayGuard`): a `jti` is claimed in
the database until its token expires, so a token replayed to another worker process, or after a
restart, is refused too.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import heapq
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ldnkit.jsoninput import read_json_file
from ldnkit.validation import InputError, Problem, input_error

# Asymmetric JWS algorithms only: the spec forbids `none` and every shared-secret (HMAC) one.
ALLOWED_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
_KEY_TYPE = {"ES": "EC", "RS": "RSA", "PS": "RSA"}
MAX_LIFETIME_SECONDS = 300  # the spec: exp no more than five minutes after iat
LEEWAY_SECONDS = 30  # clock difference tolerated between the EHR and this server
JKU_TIMEOUT_SECONDS = 2.0
JKU_CACHE_SECONDS = 300.0
# A token naming an unknown kid may mean the EHR rotated its keys; look again, but not often.
JKU_REFRESH_SECONDS = 30.0
JKU_MAX_BYTES = 256 * 1024
MAX_CLIENTS_FILE_BYTES = 1024 * 1024  # issuers with inline keys: a few kB each
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class AuthError(Exception):
    """The call is not from a trusted EHR (answered 401); the message says why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JwkSet(BaseModel):
    """A JSON Web Key Set; each key is kept as given and parsed by PyJWT."""

    model_config = ConfigDict(extra="allow", frozen=True)

    keys: list[dict[str, Any]] = Field(min_length=1)


class TrustedClient(_Strict):
    """One EHR allowed to call: its `iss`, with inline keys or the one `jku` URL to fetch."""

    iss: str = Field(min_length=1)
    jwks: JwkSet | None = None
    jku: str | None = None

    @model_validator(mode="after")
    def _one_key_source(self) -> TrustedClient:
        if (self.jwks is None) == (self.jku is None):
            raise ValueError("either jwks (inline keys) or jku (a URL), not both")
        if self.jku is not None and not _acceptable_jku(self.jku):
            raise ValueError("an https jku URL (http only for localhost)")
        return self


def _acceptable_jku(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK


def load_clients(path: Path) -> dict[str, TrustedClient]:
    """Read the trusted-clients file; bad content is an InputError naming the entry and field."""
    raw = read_json_file(
        path, "LDNKIT_CDS_CLIENTS", MAX_CLIENTS_FILE_BYTES, expected="a JSON list of clients"
    )
    try:
        clients = TypeAdapter(list[TrustedClient]).validate_python(raw)
    except ValidationError as exc:
        # Name the setting, so an operator knows which file "[0].jwks" is in.
        raise InputError(
            Problem(
                "LDNKIT_CDS_CLIENTS" + ("" if p.field == "input" else p.field),
                p.received,
                p.expected,
            )
            for p in input_error(exc).problems
        ) from exc
    by_iss: dict[str, TrustedClient] = {}
    for client in clients:
        if client.iss in by_iss:
            raise InputError.single("iss", client.iss, "each issuer listed once")
        if client.jwks is not None:
            _parse_keys(client.jwks.keys, client.iss)  # fail at start, not at the first call
        by_iss[client.iss] = client
    return by_iss


@dataclass(frozen=True)
class SigningKey:
    """One public key of a client, with the algorithm its JWK declares (if any)."""

    jwk: jwt.PyJWK
    kty: str
    alg: str | None


def _parse_keys(keys: list[dict[str, Any]], where: str) -> dict[str, SigningKey]:
    """Signing keys by kid; a key without kid, or one PyJWT cannot read, is an error."""
    parsed: dict[str, SigningKey] = {}
    for index, key in enumerate(keys):
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InputError.single(f"{where}.keys[{index}].kid", kid, "a key id (kid)")
        if key.get("use", "sig") != "sig":
            continue
        try:
            declared = key.get("alg")
            parsed[kid] = SigningKey(
                jwt.PyJWK(key), str(key.get("kty")), declared if isinstance(declared, str) else None
            )
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise InputError.single(
                f"{where}.keys[{index}]", key.get("kty"), f"a usable public JWK ({exc})"
            ) from exc
    return parsed


class ReplayMemory(Protocol):
    """Where accepted tokens are remembered until they expire; a second use is a replay."""

    def first_use(self, iss: str, jti: str, exp: float) -> bool:
        """True the first time (iss, jti) is seen while its token lives; False for a replay."""
        ...


class TokenLedger(Protocol):
    """What the store offers a replay memory (see `ldnkit.store.cds`)."""

    def first_token_use(self, iss: str, jti: str, keep_until: dt.datetime) -> bool: ...


class StoredReplayGuard:
    """The replay memory every worker process shares: each (iss, jti) is claimed in the store,
    atomically, until its token can no longer be used."""

    def __init__(self, ledger: TokenLedger) -> None:
        self._ledger = ledger

    def first_use(self, iss: str, jti: str, exp: float) -> bool:
        try:
            # Kept past exp by the leeway: a token is still accepted that long after exp.
            keep_until = dt.datetime.fromtimestamp(exp + LEEWAY_SECONDS, dt.UTC)
        except (OverflowError, ValueError, OSError) as exc:
            raise AuthError("the JWT exp is not a time this server can keep") from exc
        return self._ledger.first_token_use(iss, jti, keep_until)


class ReplayGuard:
    """Remembers each (iss, jti) until its token expires, in this process only.

    For a verifier used on its own (the unit tests); a service with more than one worker
    process needs the shared `StoredReplayGuard`.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seen: set[tuple[str, str]] = set()
        self._expiry: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()

    def first_use(self, iss: str, jti: str, exp: float) -> bool:
        now = self._clock()
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                _, old_iss, old_jti = heapq.heappop(self._expiry)
                self._seen.discard((old_iss, old_jti))
            if (iss, jti) in self._seen:
                return False
            self._seen.add((iss, jti))
            # Kept past exp by the leeway: a token is still accepted that long after exp.
            heapq.heappush(self._expiry, (exp + LEEWAY_SECONDS, iss, jti))
            return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass
class _FetchedKeys:
    keys: dict[str, SigningKey]
    fetched_at: float


@dataclass
class JkuKeys:
    """Keys fetched from allowlisted jku URLs, cached; one fetch at a time per process."""

    timeout: float = JKU_TIMEOUT_SECONDS
    clock: Callable[[], float] = time.monotonic
    _cache: dict[str, _FetchedKeys] = field(default_factory=dict)
    _attempts: dict[str, float] = field(default_factory=dict)
    _failures: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, url: str, kid: str) -> SigningKey | None:
        entry = self._cache.get(url)
        if entry is None or self.clock() - entry.fetched_at > JKU_CACHE_SECONDS:
            return None
        return entry.keys.get(kid)

    async def key(self, url: str, kid: str) -> SigningKey:
        found = self.cached(url, kid)
        if found is not None:
            return found
        # The fetch runs in a worker thread under a plain lock, so fifty calls arriving together
        # after a restart cause one fetch, whatever event loop each call runs on.
        return await anyio.to_thread.run_sync(self._fetch_for, url, kid)

    def _fetch_for(self, url: str, kid: str) -> SigningKey:
        with self._lock:
            entry = self._cache.get(url)
            now = self.clock()
            fresh = entry is not None and now - entry.fetched_at <= JKU_CACHE_SECONDS
            if entry is not None and fresh and kid in entry.keys:
                return entry.keys[kid]
            last = self._attempts.get(url)
            if last is not None and now - last < JKU_REFRESH_SECONDS:
                if entry is not None and kid in entry.keys:
                    return entry.keys[kid]  # stale but the newest there is
                if url in self._failures:
                    raise AuthError(f"{self._failures[url]} (not tried again for a few seconds)")
                raise AuthError(f"kid {kid!r} is not in the key set at {url}")
            self._attempts[url] = now
            try:
                keys = self._download(url)
            except AuthError as exc:
                self._failures[url] = str(exc)
                raise
            self._failures.pop(url, None)
            self._cache[url] = _FetchedKeys(keys, now)
            if kid not in keys:
                raise AuthError(f"kid {kid!r} is not in the key set at {url}")
            return keys[kid]

    def _download(self, url: str) -> dict[str, SigningKey]:
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise AuthError(f"could not fetch the key set at {url}: {type(exc).__name__}") from exc
        if response.status_code != 200 or len(response.content) > JKU_MAX_BYTES:
            raise AuthError(f"could not fetch the key set at {url}: HTTP {response.status_code}")
        try:
            document = JwkSet.model_validate_json(response.content)
            return _parse_keys(document.keys, url)
        except (ValidationError, InputError) as exc:
            raise AuthError(f"the key set at {url} is not a usable JWK Set") from exc


@dataclass(frozen=True)
class Caller:
    """Who called, once the token checked out."""

    iss: str
    sub: str | None
    jti: str
    tenant: str | None


class Verifier:
    """Checks the bearer JWT of one call against the trusted clients."""

    def __init__(
        self,
        clients: Mapping[str, TrustedClient],
        *,
        replay: ReplayMemory,
        jku_keys: JkuKeys | None = None,
    ) -> None:
        self._clients = dict(clients)
        self._inline = {
            iss: _parse_keys(c.jwks.keys, iss)
            for iss, c in self._clients.items()
            if c.jwks is not None
        }
        self._replay = replay
        self._jku = jku_keys or JkuKeys()

    async def verify(self, authorization: str | None, audience: str) -> Caller:
        """The caller behind an `Authorization: Bearer <JWT>` header, or AuthError saying why."""
        caller, exp = await self.authenticate(authorization, audience)
        # The memory may be the database: claimed in a worker thread, off the event loop.
        await anyio.to_thread.run_sync(self.claim, caller, exp)
        return caller

    async def authenticate(self, authorization: str | None, audience: str) -> tuple[Caller, float]:
        """The caller and the token's exp once its signature and claims check out, before its
        jti is claimed: `claim` must follow before the call is acted on. (A service claims in
        the worker thread that reads the request, so that a call crosses threads once.)"""
        token = _bearer(authorization)
        header, unverified = _peek(token)
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise AuthError(
                f"JWT alg {alg!r} is refused; expected an asymmetric signature such as ES384 or "
                "RS384 (none and HMAC are not allowed)"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the JWT header has no kid naming the signing key")
        iss = unverified.get("iss")
        client = self._clients.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise AuthError(f"issuer {iss!r} is not a trusted CDS client")
        key = await self._key(client, header, kid)
        _check_key_fits(key, alg, kid)
        try:
            claims = jwt.decode(
                token,
                key=key.jwk.key,
                algorithms=[alg],
                audience=audience,
                issuer=client.iss,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the JWT has expired (exp is in the past)") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError(
                f"the JWT aud does not name this endpoint; expected {audience!r}"
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError(f"the JWT signature does not match key {kid!r}") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"the JWT was refused: {exc}") from exc
        return self._caller(claims), float(claims["exp"])

    def claim(self, caller: Caller, exp: float) -> None:
        """Claim the token's (iss, jti) in the replay memory; AuthError if it was used before.
        Blocking (the memory may be the database): call it from a worker thread."""
        if not self._replay.first_use(caller.iss, caller.jti, exp):
            raise AuthError(f"the JWT jti {caller.jti!r} was already used (replay)")

    async def _key(self, client: TrustedClient, header: dict[str, Any], kid: str) -> SigningKey:
        jku = header.get("jku")
        if client.jku is None:
            if jku is not None:
                raise AuthError(f"jku {jku!r} is not allowlisted for issuer {client.iss!r}")
            key = self._inline[client.iss].get(kid)
            if key is None:
                raise AuthError(f"kid {kid!r} is not a key of issuer {client.iss!r}")
            return key
        if jku is not None and jku != client.jku:
            raise AuthError(f"jku {jku!r} is not allowlisted for issuer {client.iss!r}")
        return await self._jku.key(client.jku, kid)

    def _caller(self, claims: dict[str, Any]) -> Caller:
        """The caller, once the claims PyJWT does not check hold (the replay is checked after)."""
        exp, iat, jti, sub = claims["exp"], claims["iat"], claims["jti"], claims.get("sub")
        for name, value in (("iat", iat), ("exp", exp)):
            # A NumericDate is a JSON number; PyJWT would also read "1767225600" or true.
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AuthError(f"the JWT {name} must be a number (seconds since 1970)")
        if not isinstance(jti, str) or not jti:
            raise AuthError("the JWT jti is empty")
        # CDS Hooks 2.0 defines no sub (it was taken out of the payload in 2018); when a client
        # sends one anyway it is recorded, and it must then be what RFC 7519 says: text.
        if sub is not None and (not isinstance(sub, str) or not sub):
            raise AuthError("the JWT sub, when sent, must be text naming the client")
        if float(exp) - float(iat) > MAX_LIFETIME_SECONDS:
            raise AuthError(
                f"the JWT lives {int(float(exp) - float(iat))} s; expected exp at most "
                f"{MAX_LIFETIME_SECONDS} s after iat"
            )
        tenant = claims.get("tenant")
        return Caller(
            iss=claims["iss"],
            sub=sub,
            jti=jti,
            tenant=tenant if isinstance(tenant, str) else None,
        )


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("no Authorization header; expected 'Bearer <JWT>' signed by the EHR")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header is not 'Bearer <JWT>'")
    return token.strip()


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified: only to choose the issuer's key. The signed decode that
    follows checks everything again; PyJWT's own unverified decode costs several times more."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three dot-separated parts")
        header, claims = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            for part in parts[:2]
        )
    except (ValueError, TypeError, RecursionError, binascii.Error) as exc:
        raise AuthError(f"the bearer token is not a readable JWT ({exc})") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise AuthError("the bearer token is not a readable JWT (header or claims not objects)")
    return header, claims


def _check_key_fits(key: SigningKey, alg: str, kid: str) -> None:
    """The token's alg must suit the key it names: no RSA key used under an EC alg or back."""
    if key.alg is not None and key.alg != alg:
        raise AuthError(f"key {kid!r} is for {key.alg}; the JWT says {alg}")
    if key.kty != _KEY_TYPE[alg[:2]]:
        raise AuthError(f"key {kid!r} is a {key.kty} key; the JWT says {alg}")
