"""Deployment settings, read from `LDNKIT_*` environment variables (and a `.env` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ldnkit.validation import InputError, Problem, problems_from


class Settings(BaseSettings):
    """Everything an operator can set without touching code."""

    model_config = SettingsConfigDict(env_prefix="LDNKIT_", env_file=".env", extra="ignore")

    # SQLite in the working directory by default; any SQLAlchemy URL (PostgreSQL) otherwise.
    database_url: str = "sqlite:///ldnkit.db"
    # The public base URL when behind a proxy; CDS Hooks checks JWT `aud` against it.
    public_url: str | None = None
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


def get_settings() -> Settings:
    """Settings as the environment says now (tests change the environment between apps).

    A bad value is an input error named by its environment variable, not a traceback.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise InputError(
            Problem(f"LDNKIT_{p.field.upper()}", p.received, p.expected) for p in problems_from(exc)
        ) from None
