"""The back office's liquidation events: a read-only list with the loss and the insurance fund's
change, and each event's page with the receipt exactly as its user sees it.

Seeded market: BTCUSDT mark 60,000 (tick 0.1), ETHUSDT 3,000, SOLUSDT 150; taker fee 0.05 %.
BTCUSDT and ETHUSDT brackets: notional below 50,000 -> MMR 0.004, cum 0; 50,000 up to 600,000
-> MMR 0.005, cum 50. SOLUSDT below 5,000 -> MMR 0.005, cum 0. Every trader starts with 10,000.
"""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.builders import changelist_rows, isolated_btc_long_liquidated
from trading.models import LiquidationEvent
from trading.services import leverage_set, mark_price_set, order_place, sweep_run

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:trading_liquidationevent_changelist")


# --- helpers -------------------------------------------------------------------------------


def cross_eth_and_sol_liquidated(user) -> LiquidationEvent:
    """Cross longs of 50 ETH at 3,000 and 20 SOL at 150, 20x (wallet 10000 - 75 - 1.5), the ETH
    mark to 2,810: cross margin balance 423.5 <= MM 667.5."""
    for symbol, quantity in (("ETHUSDT", "50"), ("SOLUSDT", "20")):
        leverage_set(user=user, symbol=symbol, margin_mode="CROSS", leverage=20)
        order_place(user=user, symbol=symbol, side="BUY", quantity=quantity, margin_mode="CROSS")
    mark_price_set(symbol="ETHUSDT", price="2810")
    sweep_run()
    return LiquidationEvent.objects.get(user=user)


def receipt_html(response) -> str:
    """The receipt's sections, as served."""
    content = response.content.decode()
    start = content.index('<section class="panel receipt"')
    end = content.rindex("</section>") + len("</section>")
    return content[start:end]


def page_text(fragment: str) -> str:
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
    return text.replace("\N{MINUS SIGN}", "-").replace("\N{MULTIPLICATION SIGN}", "x")


def users_receipt(user, event) -> str:
    client = Client()
    client.force_login(user)
    return receipt_html(client.get(reverse("liquidation_detail", args=[event.pk])))


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_liquidation_with_its_loss_and_the_funds_change(
    operator_client, trader, make_trader
):
    isolated = isolated_btc_long_liquidated(trader)
    cross = cross_eth_and_sol_liquidated(make_trader("bob"))

    rows = changelist_rows(operator_client.get(CHANGELIST))

    drop = {"created_at"}
    assert {k: v for k, v in rows[isolated.pk].items() if k not in drop} == {
        "id": str(isolated.pk),
        "user": "alice",
        "margin_mode": "Isolated",
        "symbols": "BTCUSDT long 1",
        "margin_balance_shown": "200.00",
        "maintenance_margin_shown": "236.00",
        "loss_shown": "3,000.00",
        "insurance_fund_shown": "+200.00",
    }
    assert {k: v for k, v in rows[cross.pk].items() if k not in drop} == {
        "id": str(cross.pk),
        "user": "bob",
        "margin_mode": "Cross",
        "symbols": "ETHUSDT long 50, SOLUSDT long 20",
        "margin_balance_shown": "423.50",
        "maintenance_margin_shown": "667.50",
        "loss_shown": "9,923.50",
        "insurance_fund_shown": "+423.50",
    }
    only_cross = changelist_rows(operator_client.get(CHANGELIST, {"margin_mode__exact": "CROSS"}))
    assert list(only_cross) == [cross.pk]


def test_the_list_costs_the_same_queries_for_one_or_many_liquidations(
    operator_client, make_trader, django_assert_max_num_queries
):
    isolated_btc_long_liquidated(make_trader(), quantity="0.1")
    with django_assert_max_num_queries(7):
        assert len(changelist_rows(operator_client.get(CHANGELIST))) == 1

    for _ in range(4):
        isolated_btc_long_liquidated(make_trader(), quantity="0.1")
    with django_assert_max_num_queries(7):
        assert len(changelist_rows(operator_client.get(CHANGELIST))) == 5


# --- the receipt ---------------------------------------------------------------------------


def test_the_event_page_shows_the_isolated_receipt_exactly_as_the_user_sees_it(
    operator_client, trader
):
    event = isolated_btc_long_liquidated(trader)

    response = operator_client.get(
        reverse("admin:trading_liquidationevent_change", args=[event.pk])
    )

    assert response.status_code == 200
    receipt = receipt_html(response)
    assert receipt == users_receipt(trader, event)
    text = page_text(receipt)
    assert "margin balance 200.00 USDT ≤ maintenance margin 236.00 USDT" in text
    assert (
        "liquidation price = (3,000 + 50 - 1 x 60,000) / (1 x 0.005 - 1) = 57,236.18090452"
    ) in text
    assert "insurance fund change = isolated margin + uPnL = 3,000 - 2,800 = 200.00 USDT" in text
    assert "Your loss 3,000.00 USDT" in text
    # the receipt's styles, in the admin's colours
    content = response.content.decode()
    assert "/static/css/admin_receipt.css" in content
    # and the liquidated position, linked to its page
    position = event.positions.get()
    assert (
        f'<a href="/admin/trading/position/{position.pk}/change/">BTCUSDT Isolated long '
        f"(position {position.pk})</a>"
    ) in content


def test_the_event_page_shows_the_cross_receipt_exactly_as_the_user_sees_it(
    operator_client, make_trader
):
    bob = make_trader("bob")
    event = cross_eth_and_sol_liquidated(bob)

    response = operator_client.get(
        reverse("admin:trading_liquidationevent_change", args=[event.pk])
    )

    receipt = receipt_html(response)
    assert receipt == users_receipt(bob, event)
    text = page_text(receipt)
    assert "cross margin balance = wallet + Σ uPnL = 9,923.5 - 9,500 + 0 = 423.50 USDT" in text
    assert "TMM1 = 652.5 and UPNL1 = -9,500" in text


def test_an_unknown_event_is_not_shown(operator_client, trader):
    response = operator_client.get(reverse("admin:trading_liquidationevent_change", args=[999]))

    # Django's admin answers a missing object by going back to the index with a message
    assert response.status_code == 302


# --- permissions ---------------------------------------------------------------------------


def test_nothing_about_a_liquidation_can_be_changed_here(operator_client, trader, unchanged):
    event = isolated_btc_long_liquidated(trader)
    url = reverse("admin:trading_liquidationevent_change", args=[event.pk])

    with unchanged():
        assert operator_client.post(url, {"loss": "0", "_save": "1"}).status_code == 403
        deleted = operator_client.post(
            reverse("admin:trading_liquidationevent_delete", args=[event.pk]), {"post": "yes"}
        )
    assert deleted.status_code == 403
    assert operator_client.get(reverse("admin:trading_liquidationevent_add")).status_code == 403
    assert LiquidationEvent.objects.get(pk=event.pk).loss == event.loss


def test_support_sees_the_liquidations_and_their_receipts(support_client, trader):
    event = isolated_btc_long_liquidated(trader)

    assert event.pk in changelist_rows(support_client.get(CHANGELIST))
    response = support_client.get(reverse("admin:trading_liquidationevent_change", args=[event.pk]))
    assert response.status_code == 200
    assert receipt_html(response) == users_receipt(trader, event)


def test_a_trader_gets_no_liquidation_page(trader_client, trader):
    event = isolated_btc_long_liquidated(trader)

    for url in (CHANGELIST, reverse("admin:trading_liquidationevent_change", args=[event.pk])):
        response = trader_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
