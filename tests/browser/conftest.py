"""A real Chromium (Debian's, at /usr/bin/chromium) driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("BASTION_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Fails (not skips) when chromium is missing and CI is set: CI must run the browser tests."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh page; any Content-Security-Policy violation on it fails the test (the pages must not need one).

    `@pytest.mark.timezone("Asia/Kolkata")` runs the browser in that zone, as an officer's would be.
    """
    marker = request.node.get_closest_marker("timezone")
    context = browser.new_context(timezone_id=marker.args[0]) if marker else browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.csp_violations = violations  # a test may remove a violation it expects (and says why)
    yield page
    context.close()
    assert not violations, f"the page broke its Content-Security-Policy: {violations}"
