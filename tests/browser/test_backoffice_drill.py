"""The back office in real Chromium during a price drill: the operator logs in, sees the risk
dashboard, starts a drill on BTCUSDT from the Prices page (-5 % over 60 seconds and back), and
watches the dashboard as the ticks move the mark and the sweep liquidates the account at risk.

Figures (seeded BTCUSDT at 60,000; MMR 0.5 % and amount 50 from 50,000 of notional):
- alice: a cross long of 1 BTC at 20x: wallet 9,970 after the 30 USDT fee; at 60,000 the ratio is
  250 / 9,970 = 2.51 %.
- bob: an isolated long of 1 BTC at 50x: margin 1,200, ratio 250 / 1,200 = 20.83 %, liquidation
  (1,200 + 50 - 60,000) / -0.995 = 59,045.3 (rounded up).
- dave: an isolated long of 1 BTC at 10x: margin 6,000, liquidation 54,221.2.
- 30 s into the drill the mark is 60,000 x (1 - 0.05 x 30/60) = 58,500: bob is liquidated at his
  bankruptcy price 58,800, the mark already past it: the insurance fund (1,000,000 of capital)
  pays 300 in all (it takes the liquidation fee of the partial step first). alice's ratio is
  242.5 / 8,470 = 2.86 %. After 120 s the mark is back at 60,000 and released.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from accounts.services import superuser_create, user_create
from trading.models import MarkPrice, PriceDrill
from trading.services import leverage_set, order_place, prices_tick, sweep_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"


def ratio_of(page, selector: str) -> str:
    return page.locator(f'{selector} [data-figure="ratio"]').inner_text().strip()


def test_the_risk_dashboard_during_a_price_drill(live_server, page, settings, insurance_fund):
    settings.PRICE_FEED = "manual"  # only the operator and the drill move prices
    prices_tick()
    alice, bob, dave = (
        user_create(username=name, password="pw-0123456789") for name in ("alice", "bob", "dave")
    )
    order_place(user=alice, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    for user, leverage in ((bob, 50), (dave, 10)):
        leverage_set(user=user, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=leverage)
        order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED")
    superuser_create(username="operator", password="a-long-passphrase-7")

    # the operator logs in to the back office and opens the risk dashboard
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("a-long-passphrase-7")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Risk dashboard").first.click()
    page.wait_for_url("**/admin/risk/")
    assert ratio_of(page, '#cross-accounts tr[data-user="alice"]') == "2.51 %"
    isolated = page.locator("#isolated-positions tbody tr")
    assert isolated.count() == 2
    bob_row = isolated.first  # the closest to liquidation comes first
    assert "bob" in bob_row.inner_text()
    assert "59,045.3" in bob_row.inner_text()
    assert ratio_of(page, "#isolated-positions tbody tr:first-child") == "20.83 %"
    assert "No liquidations yet." in page.locator("#liquidations").inner_text()

    # a drill on BTCUSDT from the Prices page: -5 % over 60 seconds, and back
    page.goto(f"{live_server.url}/admin/trading/markprice/")
    btc = page.locator("#result_list tbody tr", has_text="BTCUSDT")
    btc.locator("input[name='_selected_action']").check()
    page.locator("select[name='action']").select_option("start_drill")
    page.get_by_role("button", name="Go").click()
    page.get_by_label("Move (%)").fill("-5")
    page.get_by_label("Seconds").fill("60")
    page.get_by_label("Reason").fill("crash rehearsal with the class")
    page.get_by_role("button", name="Start a drill").click()
    page.wait_for_url("**/admin/trading/markprice/")
    drill = PriceDrill.objects.get()
    assert (drill.status, drill.start_price) == ("RUNNING", 60000)

    # half way down: the tick moves the mark, the sweep liquidates bob
    prices_tick(now=drill.started_at + timedelta(seconds=30))
    assert MarkPrice.objects.get(instrument__symbol="BTCUSDT").price == 58500
    assert sweep_run().isolated_liquidations == 1
    page.goto(f"{live_server.url}/admin/risk/")
    assert ratio_of(page, '#cross-accounts tr[data-user="alice"]') == "2.86 %"
    assert page.locator("#isolated-positions tbody tr").count() == 1
    assert "dave" in page.locator("#isolated-positions tbody tr").inner_text()
    liquidation = page.locator("#liquidations tbody tr").first
    assert "bob" in liquidation.inner_text()
    assert "Isolated" in liquidation.inner_text()
    assert page.locator('[data-figure="insurance-balance"]').inner_text() == "999,700.00"
    assert page.locator('[data-figure="positions-checked"]').inner_text() != ""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / "backoffice-risk-drill.png"), full_page=True)

    # the receipt, from the dashboard, as bob sees it
    liquidation.get_by_role("link").click()
    assert "margin balance" in page.locator("#content").inner_text()

    # the drill ends: the mark is back and released to the feed
    prices_tick(now=drill.started_at + timedelta(seconds=120))
    mark = MarkPrice.objects.get(instrument__symbol="BTCUSDT")
    assert (mark.price, mark.held) == (60000, False)
    page.goto(f"{live_server.url}/admin/risk/")
    assert ratio_of(page, '#cross-accounts tr[data-user="alice"]') == "2.51 %"
