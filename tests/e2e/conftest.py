"""Browser tests share a demo clinic served by uvicorn and Debian's chromium driven by Playwright.

`base_url` serves a fresh demo clinic per test module (diaries ending yesterday, so that today
is still to be filled in); `chromium` is one browser per module; `signed_in` opens a page in a
new context (phone or desktop) already signed in.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ldnkit.services.demo import DEMO_PASSWORD, seed_demo
from ldnkit.settings import Settings
from ldnkit.store.repository import Store
from ldnkit.web.server import background_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


def browser_available() -> None:
    """Skip (or, in CI, fail) when Debian's chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        # In CI a missing browser must fail loudly, not pass as a quiet skip.
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing; .ci/run installs it", pytrace=False)
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo clinic, its diaries ending yesterday so that today is still to be filled in."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('e2e')}/demo.db"
    store = Store.open(db_url)
    store.upgrade()
    seed_demo(store, today=dt.date.today() - dt.timedelta(days=1))
    store.close()
    with background_server(Settings(database_url=db_url)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    browser_available()
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


SignedIn = Callable[..., Any]


@pytest.fixture
def signed_in(chromium: Any, base_url: str) -> Iterator[SignedIn]:
    """`signed_in(email, viewport)`: a page signed in as `email`, in a context of its own."""
    contexts: list[Any] = []

    def open_page(email: str, viewport: dict[str, int], **options: Any) -> Any:
        phone = viewport == PHONE
        context = chromium.new_context(
            viewport=viewport, is_mobile=phone, has_touch=phone, **options
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{base_url}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    yield open_page
    for context in contexts:
        context.close()
