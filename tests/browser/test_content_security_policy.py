"""Under the Content-Security-Policy (marginsite/security.py), Chromium refuses nothing the pages
need: the trade page's vendored chart and live mark, the back office's risk dashboard, and the
vendored Swagger UI on /api/docs/. Chromium reports each refusal on the console ("Refused to
..."), and as a securitypolicyviolation event, both collected here."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def watched(page):
    """The page, with every CSP refusal it meets in ``page.refusals``."""
    page.refusals = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and page.refusals.append(f"{message.text} at {message.location}")
        ),
    )
    page.add_init_script(COLLECT_VIOLATIONS)
    return page


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("form.auth-form button[type=submit]").click()
    page.wait_for_load_state()


def refusals(page) -> list[str]:
    return page.refusals + page.evaluate("window.cspViolations")


def test_the_trade_page_draws_its_chart_and_live_mark_under_the_policy(
    live_server, watched, trader
):
    sign_in(watched, live_server.url, "alice", "pw-0123456789")

    watched.goto(f"{live_server.url}/trade/BTCUSDT/")

    watched.locator("#chart canvas").first.wait_for()
    watched.wait_for_load_state("networkidle")
    assert refusals(watched) == []


def test_swagger_ui_lists_the_api_under_the_policy(live_server, watched, trader):
    sign_in(watched, live_server.url, "alice", "pw-0123456789")

    watched.goto(f"{live_server.url}/api/docs/")

    orders = watched.locator('.opblock-summary-path[data-path="/api/v1/orders"]')
    orders.first.wait_for()
    assert watched.locator(".opblock").count() > 20
    assert watched.evaluate("document.documentElement.classList.contains('dark-mode')")
    watched.locator(".opblock-summary").first.click()  # an operation opens, with its schema
    watched.locator(".opblock-body").first.wait_for()
    assert refusals(watched) == []


def test_the_risk_dashboard_is_styled_under_the_policy(live_server, watched, operator):
    sign_in(watched, live_server.url, "operator", "a-long-passphrase-7")

    watched.goto(f"{live_server.url}/admin/risk/")

    grid = watched.locator(".risk-grid").evaluate("e => getComputedStyle(e).display")
    assert grid == "grid"
    assert refusals(watched) == []
