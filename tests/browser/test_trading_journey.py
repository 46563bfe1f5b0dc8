"""The product's journey in real Chromium, from sign-up to a liquidation receipt (issue 5).

A trader signs up, makes Isolated their default, opens BTCUSDT: the confirmation preselects
Isolated; they switch to Cross with the keyboard and see the figures change; confirm; then open
an Isolated short on the same symbol, add margin to it and see its liquidation price move. The
operator moves the mark; the sweep liquidates the Isolated short only, and its receipt is in the
history while the Cross long survives. The run saves screenshots of the trade page, the
confirmation and the portfolio (1280x800 and 390x844) to SCREENSHOTS (see docs/traders.md).

Figures (seeded BTCUSDT at 60,000, 20x both modes, taker fee 0.05 %, MMR 0.4 % below 50,000 of
notional, 0.5 % and 50 from 50,000):
- 1 BTC long. Isolated: margin 3,000, LP (3,000 + 50 - 60,000) / -0.995 = 57,236.2. Cross: wallet
  after the fee 9,970, LP (9,970 + 50 - 60,000) / -0.995 = 50,231.2.
- 0.5 BTC Isolated short: margin 1,500, LP (1,500 + 30,000) / 0.502 = 62,749.0 (a short's
  rounds down); with 500 more margin (31,500 + 500) / 0.502 = 63,745.0.
- At a mark of 64,000 the short's margin balance is 2,000 - 2,000 = 0 <= 128: liquidated.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from trading.models import Position
from trading.services import prices_tick, sweep_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def snap(page, name: str) -> None:
    """The page at desktop and phone sizes, full length; the layout must not scroll sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {size} width"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def position_row(page, mode: str):
    return page.locator(f'tr[data-position][data-symbol="BTCUSDT"][data-mode="{mode}"]')


def figure(row, name: str) -> str:
    return row.locator(f'[data-figure="{name}"]').inner_text().strip()


def test_from_sign_up_to_a_liquidation_receipt(live_server, page, settings):
    settings.PRICE_FEED = "manual"  # a tick writes the seed marks' first candles, moving nothing
    prices_tick()
    page.set_viewport_size(DESKTOP)

    # sign up: a funded paper wallet, straight to the trade page
    page.goto(f"{live_server.url}/signup/")
    page.locator("#id_username").fill("carol")
    page.locator("#id_password1").fill("a-long-pass-phrase-42")
    page.locator("#id_password2").fill("a-long-pass-phrase-42")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/trade/BTCUSDT/")
    assert page.locator('[data-figure="wallet"]').inner_text() == "10,000.00 USDT"

    # Isolated as the default on /settings
    page.goto(f"{live_server.url}/settings/")
    page.locator("#default-mode-isolated").check(force=True)
    page.get_by_role("button", name="Save default mode").click()
    assert page.locator("#default-mode-isolated").is_checked()

    # open BTCUSDT: a market buy of 1 BTC, reviewed
    page.goto(f"{live_server.url}/trade/BTCUSDT/")
    page.locator("#chart canvas").first.wait_for()  # the vendored chart drew
    assert page.locator("#order-form input[name='margin_mode'][value='ISOLATED']").is_checked()
    page.get_by_label("Quantity", exact=True).fill("1")
    snap(page, "trade")
    page.get_by_role("button", name="Review order").click()

    # the confirmation preselects Isolated, and shows both modes
    page.wait_for_url("**/trade/BTCUSDT/confirm/")
    isolated = page.locator("input[name='margin_mode'][value='ISOLATED']")
    assert isolated.is_checked()
    assert isolated.evaluate("e => e === document.activeElement")
    summary = page.locator('[data-summary="liquidation"]')
    assert summary.inner_text() == "57,236.2"
    assert page.locator('[data-summary="initial-margin"]').inner_text() == "3,000.00 USDT"
    assert (
        "Most you can lose: the margin plus the fees, 3,058.62 USDT (margin 3,000.00, fee 30.00 "
        "now, about 28.62 to close)." in page.locator(".mode-option.isolated").inner_text()
    )
    snap(page, "confirmation")

    # switch to Cross with the keyboard: the figures change; Tab, Enter confirms
    page.keyboard.press("ArrowUp")
    assert page.locator("input[name='margin_mode'][value='CROSS']").is_checked()
    assert summary.inner_text() == "50,231.2"
    assert page.locator('[data-summary="mode"]').inner_text() == "Cross"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "confirm-button"
    page.keyboard.press("Enter")

    # the position: a Cross badge and a liquidation price
    page.wait_for_url("**/trade/BTCUSDT/")
    cross = position_row(page, "CROSS")
    assert cross.locator(".badge.cross").inner_text() == "Cross"
    assert figure(cross, "liquidation-price") == "50,231.2"

    # an Isolated position on the same symbol, the other way
    page.get_by_text("Sell / Short").click()
    page.get_by_label("Quantity", exact=True).fill("0.5")
    page.get_by_role("button", name="Review order").click()
    page.wait_for_url("**/confirm/")
    assert (
        "this opens a separate Isolated position"
        in page.locator(".mode-option.isolated").inner_text()
    )
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/trade/BTCUSDT/")
    short = position_row(page, "ISOLATED")
    assert figure(short, "liquidation-price") == "62,749.0"

    # add 500 of margin: the liquidation price moves away from the mark
    short.get_by_role("link", name="Add/remove margin").click()
    page.get_by_label("Amount (USDT)").fill("500")
    page.get_by_role("button", name="Review").click()
    assert "63,745.0" in page.locator("main").inner_text()
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/trade/BTCUSDT/")
    assert figure(position_row(page, "ISOLATED"), "liquidation-price") == "63,745.0"
    page.goto(f"{live_server.url}/portfolio/")
    snap(page, "portfolio")

    # the operator moves the mark: the open trade page shows it without a reload
    page.goto(f"{live_server.url}/trade/BTCUSDT/")
    call_command("set_mark_price", "BTCUSDT", "64000")
    page.locator('[data-live="mark"]:text-is("64,000.0")').wait_for()
    assert page.locator('[data-live="source"]').inner_text() == "Manual"
    # and the sweep runs
    report = sweep_run()
    assert (report.isolated_liquidations, report.cross_liquidations) == (1, 0)

    # the banner, the receipt, and the Cross long still open
    page.goto(f"{live_server.url}/trade/BTCUSDT/")
    assert page.locator("#liquidation-banner").is_visible()
    assert position_row(page, "ISOLATED").count() == 0
    assert position_row(page, "CROSS").count() == 1
    page.goto(f"{live_server.url}/history/liquidations/")
    assert page.locator("#liquidation-banner").count() == 0
    page.get_by_role("link", name="Receipt").first.click()
    receipt = page.locator("main").inner_text()
    assert "margin balance 0.00 USDT ≤ maintenance margin 128.00 USDT" in receipt
    assert Position.objects.filter(status="OPEN", margin_mode="CROSS").count() == 1
