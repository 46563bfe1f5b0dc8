"""The trade page is live by push: in Chromium, against marginsite served as `make run` serves
it (gunicorn's uvicorn workers, tests/served.py), the figures change without a reload after an
order, a tick and a liquidation made by other processes (here, this test's, as the Celery worker
and other requests make them). Under the Content-Security-Policy, nothing is refused."""

import time
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.test import Client

from tests.browser.test_content_security_policy import COLLECT_VIOLATIONS
from tests.builders import market_order
from trading.models import Position
from trading.services import mark_price_set, sweep_run
from trading.templatetags.figures import to_step, to_tick

pytestmark = [pytest.mark.browser, pytest.mark.redis]

PUSH_MS = 1_000


@pytest.fixture
def site(marginsite):
    return marginsite(("web",))


def signed_in(page, site, user) -> None:
    """The browser holds the trader's session cookie, as after signing in."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}]
    )


def cents(amount: Decimal) -> str:
    return format(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN), ",f")


def test_an_order_a_tick_and_a_liquidation_reach_the_open_page_without_a_reload(
    site, page, make_trader, market
):
    trader = make_trader()
    signed_in(page, site, trader)
    page.add_init_script(COLLECT_VIOLATIONS)
    page.goto(f"{site.url}/trade/BTCUSDT/")
    page.wait_for_selector("html[data-live='open']", state="attached")
    page.evaluate("window.loadedOnce = true")

    def shows(selector: str, text: str) -> None:
        page.wait_for_function(
            "([selector, text]) => document.querySelector(selector)?.textContent === text",
            arg=[selector, text],
            timeout=PUSH_MS,
        )

    # gone if the page were reloaded
    assert page.locator("[data-live-panel='positions'] [data-position]").count() == 0

    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    position = Position.objects.get(user=trader)
    row = page.locator(f"[data-position='{position.pk}']")
    row.wait_for(timeout=PUSH_MS)
    account = page.locator("[data-figure='isolated-margin']")
    assert account.text_content() == f"{cents(position.isolated_margin)} USDT"
    assert page.locator(f"#recent-fills [data-fill='{position.fills.get().pk}']").count() == 1

    mark_price_set(symbol="BTCUSDT", price=Decimal("61000"))
    upnl = (Decimal("61000") - position.entry_price) * position.quantity
    shows("[data-live='mark']", to_tick(Decimal("61000"), position.instrument.tick_size))
    shows(f"[data-position='{position.pk}'] [data-figure='unrealized-pnl']", f"+{cents(upnl)}")

    mark_price_set(symbol="BTCUSDT", price=Decimal("50000"))
    sweep_run()
    page.locator("#liquidation-banner").wait_for(timeout=PUSH_MS)
    assert "BTCUSDT" in page.locator("#liquidation-banner").text_content()
    assert page.locator("[data-live-panel='positions'] [data-position]").count() == 0
    assert page.evaluate("window.loadedOnce") is True
    assert page.evaluate("window.cspViolations") == []


def test_a_pushed_panels_forms_still_post(site, page, make_trader, market):
    """The positions panel rendered by the socket carries a CSRF token for the browser's cookie:
    its Close button closes the position."""
    trader = make_trader()
    signed_in(page, site, trader)
    page.goto(f"{site.url}/trade/BTCUSDT/")
    page.wait_for_selector("html[data-live='open']", state="attached")
    market_order(trader, "SELL", "0.1", margin_mode="CROSS")
    position = Position.objects.get(user=trader)
    close = page.locator(f"[data-position='{position.pk}'] button", has_text="Close at market")
    close.wait_for(timeout=PUSH_MS)

    close.click()
    page.wait_for_load_state()

    position.refresh_from_db()
    assert position.status == Position.Status.CLOSED


def test_a_dropped_socket_reconnects_with_a_backoff_and_resyncs_the_page(
    site, page, make_trader, market
):
    """The test stands between the page and the server (Playwright's WebSocket routing): it drops
    the page's socket, refuses its first retry, fills an order meanwhile, then lets the next retry
    through. The page says it is reconnecting, waits longer before its second retry than its
    first, and once back shows the fill's position without a reload."""
    trader = make_trader()
    signed_in(page, site, trader)
    sockets, attempts, refusing = [], [], []

    def route(socket) -> None:
        attempts.append(time.monotonic())
        if refusing:
            socket.close(code=1011, reason="refused by the test")
            return
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket("**/live/trade/**", route)
    page.goto(f"{site.url}/trade/BTCUSDT/")
    page.wait_for_selector("html[data-live='open']", state="attached")
    page.evaluate("window.loadedOnce = true")
    status = page.get_by_role("status")
    assert status.is_hidden()

    # when the socket drops
    refusing.append(True)
    dropped = time.monotonic()
    sockets[-1].close(code=1001, reason="dropped by the test")
    page.wait_for_selector("html[data-live='closed']", state="attached", timeout=PUSH_MS)
    # then the page says so, and while it is down a fill reaches the database only
    assert status.inner_text() == (
        "Connection lost: reconnecting. Positions, orders and balances may be out of date."
    )
    market_order(trader, "BUY", "0.1", margin_mode="CROSS")
    position = Position.objects.get(user=trader)
    deadline = time.monotonic() + 5
    while len(attempts) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(attempts) == 2  # the first retry, refused
    assert page.locator("[data-live-panel='positions'] [data-position]").count() == 0
    refusing.clear()

    # when the next retry gets through, the page resyncs: the fill's position, the cue gone
    page.wait_for_selector("html[data-live='open']", state="attached", timeout=5_000)
    size = page.locator(f"[data-position='{position.pk}'] [data-figure='size']")
    assert size.inner_text() == to_step(Decimal("0.1"), position.instrument.step_size)
    assert status.is_hidden()
    assert page.evaluate("window.loadedOnce") is True
    # 1 s before the first retry, 2 s before the second
    first, second = attempts[1] - dropped, attempts[2] - attempts[1]
    assert 0.8 <= first <= 1.6, first
    assert 1.8 <= second <= 2.6, second
