"""Deployment settings, read from `LDNKIT_*` environment variables (and a `.env` file).

Read once, by the composition root (`ldnkit.bootstrap.load_settings`), and passed on from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The names `make run` is reached by; a deployment lists its own in LDNKIT_TRUSTED_HOSTS.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


class Settings(BaseSettings):
    """Everything an operator can set without touching code."""

    model_config = SettingsConfigDict(env_prefix="LDNKIT_", env_file=".env", extra="ignore")

    # SQLite in the working directory by default; any SQLAlchemy URL (PostgreSQL) otherwise.
    database_url: str = "sqlite:///ldnkit.db"
    # The base URL users and EHRs reach the app at (behind a proxy: the proxy's); CDS Hooks
    # checks each JWT's `aud` against it, and its host is one the app answers to.
    public_url: str | None = None
    # Host names the app answers to, comma-separated (`*.example.org` for subdomains); a
    # request naming any other Host is refused, so no redirect is ever built from it. Unset:
    # localhost, 127.0.0.1 and the host of public_url.
    trusted_hosts: Annotated[tuple[str, ...] | None, NoDecode] = None
    # JSON file of trusted CDS clients: [{"iss": ..., "jwks": {...}} | {"iss": ..., "jku": ...}]
    cds_clients: Path | None = None
    # "off" disables CDS Hooks JWT checks: for local testing only, announced loudly at start.
    cds_auth: Literal["on", "off"] = "on"
    # Sign-in: after 5 wrong passwords for one email (30 from one client address) each further
    # attempt waits this many seconds, twice as long each time, up to the maximum.
    login_wait_seconds: float = Field(30.0, gt=0, le=86400)
    login_max_wait_seconds: float = Field(900.0, gt=0, le=86400)
    # A browser session or API token unused for this many minutes ends (sign in again).
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    # The clinic's name (and address) as prescriptions print it; unset: a line to fill in.
    clinic_name: str | None = Field(None, max_length=300)

    # The clinic's time zone (an IANA name such as Europe/London): the diary's "today", after
    # which no day may be recorded. Unset: the server's own time zone.
    time_zone: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("a time zone name such as Europe/London or America/New_York") from None
        return value.strip()

    def today(self) -> dt.date:
        """Today's date in the clinic (time_zone), the last day a diary may record."""
        zone = ZoneInfo(self.time_zone) if self.time_zone else None
        return dt.datetime.now(zone).date()

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an http(s) URL such as https://ldn.clinic.example")
        return value.strip().rstrip("/")

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            value = [host.strip() for host in value.split(",")]
        if isinstance(value, list | tuple):
            hosts = tuple(str(host).strip().lower() for host in value if str(host).strip())
            return hosts or None
        return value

    def allowed_hosts(self) -> list[str]:
        """The Host names requests may carry (see trusted_hosts)."""
        if self.trusted_hosts:
            return list(self.trusted_hosts)
        public = urlsplit(self.public_url).hostname if self.public_url else None
        return [*LOOPBACK_HOSTS, *([public] if public else [])]


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Whether a Host name matches one of the allowed names (`*.x.org` covers subdomains)."""
    host = host.lower()
    for pattern in patterns:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False
