"""Wiring: settings -> the store (migrated) -> the web app. The one place that reads Settings."""

from __future__ import annotations

from ldnkit.settings import Settings, get_settings
from ldnkit.store.repository import Store


def open_store(settings: Settings | None = None, *, upgrade: bool = True) -> Store:
    """The store named by LDNKIT_DATABASE_URL, migrated to the newest schema unless told not to."""
    store = Store.open((settings or get_settings()).database_url)
    if upgrade:
        store.upgrade()
    return store
