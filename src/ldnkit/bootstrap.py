"""Wiring: settings -> the store (migrated) -> the web app. The one place that reads Settings."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

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
    try:
        with store.engine.connect():
            pass
    except OperationalError as exc:
        store.close()
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "cannot connect"
        raise InputError.single(
            _URL_SETTING, shown, f"a database that can be opened ({reason})"
        ) from None
    if upgrade:
        store.upgrade()
    return store
