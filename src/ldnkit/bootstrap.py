"""Wiring: settings -> the store (migrated) -> the web app. The one place that reads Settings."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from ldnkit.settings import Settings, get_settings
from ldnkit.store.repository import Store
from ldnkit.validation import InputError, Problem

_URL_SETTING = "LDNKIT_DATABASE_URL"
_URL_EXAMPLE = "a database URL such as sqlite:///ldnkit.db or postgresql+psycopg://user@host/db"


def open_store(settings: Settings | None = None, *, upgrade: bool = True) -> Store:
    """The store named by LDNKIT_DATABASE_URL, migrated to the newest schema unless told not to.

    A URL that cannot be read or a database that cannot be reached is one input error naming
    the setting (the password left out), not a driver traceback.
    """
    url = (settings or get_settings()).database_url
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
        shown = store.engine.url.render_as_string(hide_password=True)
        raise InputError.single(
            _URL_SETTING, shown, f"a database that can be written ({_reason(exc)})"
        ) from None


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else "cannot connect"


def _shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
