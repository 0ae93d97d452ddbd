"""The composition root: settings -> the store (migrated) -> the apps.

The one place that reads the settings from the environment. Everything else is handed what it
needs: the web app and the CDS Hooks service get the settings and the store built here; the
command line opens its store here. `ldnkit serve --workers N` starts each worker process from
`web_app` (a factory uvicorn imports by name), so every worker is wired the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.validation import InputError, Problem, problems_from

if TYPE_CHECKING:
    from fastapi import FastAPI

_URL_SETTING = "LDNKIT_DATABASE_URL"
_URL_EXAMPLE = "a database URL such as sqlite:///ldnkit.db or postgresql+psycopg://user@host/db"
# What `ldnkit serve --workers N` hands uvicorn: each worker imports it and calls it.
WEB_APP_FACTORY = "ldnkit.bootstrap:web_app"


def load_settings() -> Settings:
    """Settings as the environment says now (tests change the environment between apps).

    A bad value is an input error named by its environment variable, not a traceback.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise InputError(
            Problem(f"LDNKIT_{p.field.upper()}", p.received, p.expected) for p in problems_from(exc)
        ) from None


def open_store(settings: Settings | None = None, *, upgrade: bool = True) -> Store:
    """The store named by LDNKIT_DATABASE_URL, migrated to the newest schema unless told not to.

    A URL that cannot be read or a database that cannot be reached is one input error naming
    the setting (the password left out), not a driver traceback.
    """
    url = (settings or load_settings()).database_url
    try:
        store = Store.open(url)
    except ArgumentError:
        raise InputError(
            [Problem(_URL_SETTING, "a value that is not a URL", _URL_EXAMPLE)]
        ) from None
    except ImportError as exc:
        # A URL for a database whose driver is not installed (mysql://, oracle://...).
        shown = _shown(url)
        raise InputError.single(
            _URL_SETTING, shown, f"{_URL_EXAMPLE} (the driver {exc.name} is not installed)"
        ) from None
    try:
        with store.engine.connect() as conn:
            # Reading the table list opens the file: "not a database" shows here, not later.
            inspect(conn).get_table_names()
    except DBAPIError as exc:
        store.close()
        raise InputError.single(
            _URL_SETTING, _shown(url), f"a database that can be opened ({_reason(exc)})"
        ) from None
    if upgrade:
        upgrade_store(store)
    return store


def upgrade_store(store: Store) -> None:
    """Apply pending migrations; a database that cannot be written is an input error."""
    try:
        store.upgrade()
    except OperationalError as exc:
        # The database opened but cannot be written: read-only, a device, a full disk.
        store.close()
        raise InputError.single(
            _URL_SETTING, shown_url(store), f"a database that can be written ({_reason(exc)})"
        ) from None


def shown_url(store: Store) -> str:
    """The store's database URL as it may be printed: without its password."""
    return store.engine.url.render_as_string(hide_password=True)


def web_app(settings: Settings | None = None) -> FastAPI:
    """The whole web app (pages, JSON API, CDS Hooks) over its store, migrated first.

    The app closes the store when it shuts down.
    """
    from ldnkit.web.app import create_app  # late: the CLI imports this module at start

    return _over_store(create_app, settings)


def cds_app(settings: Settings | None = None) -> FastAPI:
    """An app serving only the CDS Hooks service (tests, benchmarks, a CDS-only deployment)."""
    from ldnkit.cdshooks.service import create_cds_app

    return _over_store(create_cds_app, settings)


def _over_store(create: Callable[[Settings, Store], FastAPI], settings: Settings | None) -> FastAPI:
    """`create(settings, store)` with the store the settings name; closed if building fails."""
    settings = settings or load_settings()
    store = open_store(settings)
    try:
        return create(settings, store)
    except BaseException:
        store.close()
        raise


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else "cannot connect"


def _shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
