"""What an operator does to a trader's account from the back office, the trader is told: a banner
on every page ("From the operator: ...") until they dismiss it."""

from decimal import Decimal

import pytest

from trading.models import Notification, Order, Position
from trading.services import (
    account_reset,
    order_cancel_by_operator,
    order_place,
    position_force_close,
    wallet_grant,
)

pytestmark = pytest.mark.django_db


def banner(client) -> str:
    page = client.get("/portfolio/").content.decode()
    if 'id="operator-banner"' not in page:
        return ""
    start = page.index('id="operator-banner"')
    return page[start : page.index("</div>", start)]


def test_a_force_close_shows_in_the_traders_banner_until_dismissed(trader, operator, trader_client):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED")
    position = Position.objects.get(user=trader)

    position_force_close(operator=operator, position_id=position.pk, reason="class is over")

    assert (
        "An operator closed your BTCUSDT Isolated long of 1 at market, at 60,000. "
        "Reason: class is over" in banner(trader_client)
    )
    response = trader_client.post(
        "/notifications/dismiss/", {"kind": "OPERATOR", "next": "/portfolio/"}
    )
    assert response.status_code == 302
    assert banner(trader_client) == ""
    assert Notification.objects.get(user=trader).read_at is not None


def test_a_canceled_order_a_grant_and_a_reset_are_told(trader, operator, trader_client):
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="50000", margin_mode="CROSS",
    )  # fmt: skip
    order_cancel_by_operator(operator=operator, order_id=order.pk, reason="stale order")
    wallet_grant(operator=operator, user=trader, amount="500", reason="prize")
    account_reset(operator=operator, user=trader, reason="new term")

    text = banner(trader_client)
    assert f"An operator canceled your BTCUSDT limit buy order {order.pk}. Reason: stale order" in (
        text
    )
    assert "An operator granted you 500 USDT of paper funds. Reason: prize" in text
    assert "An operator reset your paper account to 10,000 USDT. Reason: new term" in text
    assert Order.objects.get().status == "CANCELED"
    assert trader.wallet.balance == Decimal("10000")


def test_dismissing_an_unknown_kind_of_notice_is_refused_and_changes_nothing(
    trader, operator, trader_client
):
    wallet_grant(operator=operator, user=trader, amount="1", reason="test")

    response = trader_client.post("/notifications/dismiss/", {"kind": "EVERYTHING"})

    assert response.status_code == 400
    assert Notification.objects.get(user=trader).read_at is None


def test_a_long_reason_is_cut_to_fit_the_notice(trader, operator):
    wallet_grant(operator=operator, user=trader, amount="1", reason="x" * 300)

    message = Notification.objects.get(user=trader).message
    assert len(message) == 300
    assert message.endswith("x\N{HORIZONTAL ELLIPSIS}")
