"""A real Chromium (Debian's package) driven by Playwright, for the tests of this folder."""

import pytest

from tests.conftest import CHROMIUM

# Chromium, as root in a sandboxed machine with no internet: no sandbox, no GPU, and no background
# networking (its connections would be refused, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Playwright's sync API keeps an event loop running in this
    thread while it lives, which Django's async-safety guard takes for async code; the ORM calls
    of these tests (and their database teardown) stay synchronous, so the guard is lifted for
    exactly the module's lifetime, and the loop ends with it."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
