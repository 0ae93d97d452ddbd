"""Deployment settings, read from `LDNKIT_*` environment variables (and a `.env` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # Secret for signing session cookies and CSRF tokens; generated per process when unset.
    secret_key: str | None = None


def get_settings() -> Settings:
    """Settings as the environment says now (tests change the environment between apps)."""
    return Settings()
