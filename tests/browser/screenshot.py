"""Make docs/dashboard.png: the dashboard showing a realistic half hour (tests/browser/scenario.py).

    .venv/bin/python -m tests.browser.screenshot [PATH]

Starts a local stack of its own on free ports, posts the scenario's events, opens the page in
Debian's headless Chromium, opens the newest failure's details, and saves a screenshot.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.scenario import realistic_events
from tests.browser.support import Dashboard, launch, post_events
from tests.e2e.conftest import ROOT, start_stack

DEFAULT_PATH = ROOT / "docs" / "dashboard.png"
VIEWPORT = {"width": 1600, "height": 940}


def take(path: Path = DEFAULT_PATH) -> Path:
    with tempfile.TemporaryDirectory(prefix="dashboard-screenshot-") as logs:
        stack = start_stack(Path(logs))
        try:
            stored = post_events(stack, realistic_events())
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
                    dashboard = Dashboard(page, stack).open()
                    dashboard.wait_rows([str(stored[-1]["eventId"])])
                    # The newest failure (a build that broke a minute ago), opened: its JSON beside the stream.
                    failed = [item for item in stored if item["event"] == "PostToolUseFailure"][-1]
                    dashboard.row(str(failed["eventId"])).click()
                    expect(page.locator("#detail")).to_be_visible()
                    page.wait_for_timeout(300)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(path))
                finally:
                    browser.close()
        finally:
            stack.stop()
    return path


if __name__ == "__main__":
    print(take(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH))
