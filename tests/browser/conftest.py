"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright) against the
local stack in a subprocess, as `make run` starts it.

Without /usr/bin/chromium the suite is skipped (`make chromium` installs it, as root); under CI
(CI=true) a missing browser fails it instead, so a broken install step cannot pass unnoticed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.support import CHROMIUM, Dashboard, Watch, launch
from tests.e2e.conftest import RunningStack, start_stack

VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}: `make chromium` installs Debian's package (as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One local stack for the browser tests that do not stop it."""
    running = start_stack(tmp_path_factory.mktemp("browser-stack"))
    yield running
    running.stop()


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    """A page in a context of its own (its own localStorage); no script error or CSP violation allowed."""
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    watch.attach(opened)
    yield opened
    context.close()
    assert not watch.errors, watch.errors
    assert not watch.csp_violations, watch.csp_violations


@pytest.fixture
def dashboard(page: Page, stack: RunningStack) -> Dashboard:
    return Dashboard(page, stack)
