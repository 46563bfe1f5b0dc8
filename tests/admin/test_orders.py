"""The back office's orders and fills: read-only lists with their filters and a bounded number of
queries, and the operator's cancel of an open order with a reason: the margin it held is free
again, the audit log records it, and every refusal changes nothing.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001), ETHUSDT 3,000; taker fee 0.05 %,
maker 0.02 %, no slippage. Every trader starts with 10,000 USDT.
"""

import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.builders import changelist_rows, market_order
from trading.errors import OperatorNotPermitted, OrderNotFound
from trading.models import AuditEntry, Fill, Order
from trading.selectors import account_summary
from trading.services import leverage_set, order_place
from trading.services.interventions import order_cancel_by_operator

pytestmark = pytest.mark.django_db

D = Decimal
ORDERS = reverse("admin:trading_order_changelist")
FILLS = reverse("admin:trading_fill_changelist")


# --- helpers -------------------------------------------------------------------------------


def resting_limit_buy(user, *, price="50000", quantity="1", symbol="BTCUSDT"):
    """A limit buy below the mark rests: at 20x it holds 50000 / 20 = 2500 of margin and the
    maker fee 50000 x 0.0002 = 10."""
    leverage_set(user=user, symbol=symbol, margin_mode="CROSS", leverage=20)
    return order_place(
        user=user, symbol=symbol, side="BUY", quantity=quantity, order_type="LIMIT",
        price=price, margin_mode="CROSS",
    )  # fmt: skip


def cancel(client, order_ids, reason="Stale order left by a departed student"):
    selected = order_ids if isinstance(order_ids, list) else [order_ids]
    return client.post(
        ORDERS,
        {"action": "cancel_order", "_selected_action": selected, "apply": "1", "reason": reason},
    )


# --- the lists -----------------------------------------------------------------------------


def test_the_order_list_shows_each_order_with_its_figures(operator_client, trader):
    resting = resting_limit_buy(trader)
    filled = market_order(trader, "SELL", "2", symbol="ETHUSDT", margin_mode="ISOLATED")

    rows = changelist_rows(operator_client.get(ORDERS))

    assert {k: rows[resting.pk][k] for k in rows[resting.pk] if k != "created_at"} == {
        "id": str(resting.pk),
        "user": "alice",
        "symbol": "BTCUSDT",
        "order_type": "Limit",
        "side": "Buy",
        "margin_mode": "Cross",
        "size": "1.000",
        "limit_price": "50,000.0",
        "stop": "—",
        "reduce_only": "False",
        "status": "Open",
        "filled": "0.000",
        "average_price": "—",
        "held": "2,510.00",
    }
    assert (rows[filled.pk]["status"], rows[filled.pk]["average_price"]) == ("Filled", "3,000.00")


def test_the_order_list_filters_by_status_type_mode_and_symbol(operator_client, trader):
    resting = resting_limit_buy(trader)
    filled = market_order(trader, "SELL", "2", symbol="ETHUSDT", margin_mode="ISOLATED")

    def ids(**query):
        return list(changelist_rows(operator_client.get(ORDERS, query)))

    assert ids(status__exact="NEW") == [resting.pk]
    assert ids(order_type__exact="MARKET") == [filled.pk]
    assert ids(margin_mode__exact="ISOLATED") == [filled.pk]
    assert ids(instrument__id__exact=resting.instrument_id) == [resting.pk]


def test_the_order_page_is_read_only_and_shows_its_fills(operator_client, trader, unchanged):
    order = market_order(trader, "BUY", "1", margin_mode="ISOLATED")
    url = reverse("admin:trading_order_change", args=[order.pk])

    response = operator_client.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="quantity"' not in content
    assert 'name="_save"' not in content
    fill = Fill.objects.get(order=order)
    inline = re.search(r'<tr class="form-row[^"]*"\s+id="fills-0">(.*?)</tr>', content, re.S)
    assert inline is not None, "the order's fill is shown on its page"
    cells = re.findall(r'<td class="field-([a-z_]+)">\s*<p>(.*?)</p>', inline.group(1), re.S)
    assert [(name, re.sub(r"<[^>]+>", "", text)) for name, text in cells][:6] == [
        ("position", str(fill.position)),
        ("price", "60000.00000000"),
        ("quantity", "1.00000000"),
        ("fee", "30.00000000"),
        ("realized_pnl", "0.00000000"),
        ("liquidity", "Taker"),
    ]
    with unchanged():
        assert operator_client.post(url, {"quantity": "5", "_save": "1"}).status_code == 403
    assert operator_client.get(reverse("admin:trading_order_add")).status_code == 403


def test_the_fill_list_shows_each_fill_with_its_fee_and_realized_pnl(operator_client, trader):
    opening = market_order(trader, "BUY", "1", margin_mode="ISOLATED")
    closing = market_order(trader, "SELL", "1", margin_mode="ISOLATED")
    close_fill = Fill.objects.get(order=closing)

    rows = changelist_rows(operator_client.get(FILLS))

    assert {k: rows[close_fill.pk][k] for k in rows[close_fill.pk] if k != "created_at"} == {
        "id": str(close_fill.pk),
        "order_id": str(closing.pk),
        "user": "alice",
        "symbol": "BTCUSDT",
        "margin_mode": "Isolated",
        "side": "Sell",
        "price_shown": "60,000.0",
        "size": "1.000",
        "fee_shown": "30.00",
        "pnl_shown": "0.00",
        "liquidity": "Taker",
    }
    assert sorted(rows) == sorted([close_fill.pk, Fill.objects.get(order=opening).pk])
    only_cross = changelist_rows(
        operator_client.get(FILLS, {"position__margin_mode__exact": "CROSS"})
    )
    assert only_cross == {}


def test_the_lists_cost_the_same_queries_for_few_or_many_orders(
    operator_client, make_trader, django_assert_max_num_queries
):
    market_order(make_trader(), "BUY", "0.1", margin_mode="ISOLATED")
    with django_assert_max_num_queries(10):
        assert len(changelist_rows(operator_client.get(ORDERS))) == 1
    with django_assert_max_num_queries(10):
        assert len(changelist_rows(operator_client.get(FILLS))) == 1

    for _ in range(5):
        user = make_trader()
        market_order(user, "BUY", "0.1", margin_mode="ISOLATED")
        resting_limit_buy(user, quantity="0.1")
    with django_assert_max_num_queries(10):
        assert len(changelist_rows(operator_client.get(ORDERS))) == 11
    with django_assert_max_num_queries(10):
        assert len(changelist_rows(operator_client.get(FILLS))) == 6


# --- cancel --------------------------------------------------------------------------------


def test_the_operator_cancels_an_open_order_and_its_margin_is_free_again(
    operator_client, operator, trader, balanced_ledger
):
    order = resting_limit_buy(trader)
    assert account_summary(user=trader).open_order_margin == D("2510")

    response = cancel(operator_client, order.pk)

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.margin_held) == ("CANCELED", D("0"))
    summary = account_summary(user=trader)
    assert (summary.open_order_margin, summary.available_balance) == (D("0"), D("10000"))
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_type, entry.target_id) == (
        operator,
        "ORDER_CANCELED",
        "trading.Order",
        str(order.pk),
    )
    assert entry.target_label == f"alice: order {order.pk} LIMIT BUY BTCUSDT"
    assert entry.before == {"status": "NEW", "margin_held": "2510.00000000"}
    assert entry.after == {"status": "CANCELED", "margin_held": "0"}
    assert entry.reason == "Stale order left by a departed student"


@pytest.mark.parametrize("reason", ["", "  ", "x" * 301])
def test_a_cancel_without_a_valid_reason_is_refused_and_changes_nothing(
    operator_client, trader, unchanged, reason
):
    order = resting_limit_buy(trader)

    with unchanged():
        response = cancel(operator_client, order.pk, reason=reason)

    assert response.status_code == 400
    assert AuditEntry.objects.count() == 0


def test_cancelling_an_order_that_is_not_open_is_refused_with_its_status(
    operator_client, trader, unchanged
):
    order = market_order(trader, "BUY", "1", margin_mode="ISOLATED")

    with unchanged():
        response = cancel(operator_client, order.pk)

    assert response.status_code == 409
    assert f"Order {order.pk} is FILLED; only open orders can be canceled." in html.unescape(
        response.content.decode()
    )
    assert AuditEntry.objects.count() == 0


def test_a_cancel_takes_one_order_at_a_time(operator_client, trader, unchanged):
    first = resting_limit_buy(trader)
    second = resting_limit_buy(trader, price="49000")

    with unchanged():
        response = cancel(operator_client, [first.pk, second.pk])

    assert response.status_code == 400
    assert "Cancel one order at a time" in response.content.decode()


@pytest.mark.parametrize("order_id", [10**9, "999999", "abc", "", None, True, "-1", 1.5])
def test_cancelling_an_unknown_order_is_not_found(operator, trader, unchanged, order_id):
    resting_limit_buy(trader)

    with unchanged(), pytest.raises(OrderNotFound, match="Order not found"):
        order_cancel_by_operator(operator=operator, order_id=order_id, reason="cleanup")

    assert AuditEntry.objects.count() == 0


# --- permissions ---------------------------------------------------------------------------


def test_support_sees_orders_and_fills_but_cannot_cancel(
    support_client, support, trader, unchanged
):
    order = resting_limit_buy(trader)

    page = support_client.get(ORDERS)
    assert page.status_code == 200
    assert order.pk in changelist_rows(page)
    assert 'value="cancel_order"' not in page.content.decode()
    assert support_client.get(FILLS).status_code == 200
    with unchanged():
        forged = cancel(support_client, order.pk)
        with pytest.raises(OperatorNotPermitted):
            order_cancel_by_operator(operator=support, order_id=order.pk, reason="because")

    # no action is offered to support: a forged one is refused
    assert forged.status_code == 403
    assert Order.objects.get(pk=order.pk).status == "NEW"
    assert AuditEntry.objects.count() == 0


def test_a_trader_gets_no_order_or_fill_page(trader_client, trader, unchanged):
    order = resting_limit_buy(trader)

    with unchanged():
        responses = [
            trader_client.get(ORDERS),
            trader_client.get(FILLS),
            cancel(trader_client, order.pk),
        ]

    for response in responses:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert AuditEntry.objects.count() == 0
