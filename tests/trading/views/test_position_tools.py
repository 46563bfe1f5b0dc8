"""The positions panel's tools in the browser app: a position's take-profit and stop-loss (set,
edited, cancelled, drawn on the chart), Reverse, and Close all (per mode or everything). Exact
orders and positions after each, and every refusal's status and message with proof that nothing
changed.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001), ETHUSDT 3,000; default leverage 20,
taker fee 0.05 %; every trader starts with 10,000 USDT.
"""

import json
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.builders import open_position
from trading.models import Order, Position
from trading.services import mark_price_set

pytestmark = pytest.mark.django_db

D = Decimal
TRADE = "/trade/BTCUSDT/"


def messages_of(response) -> list[str]:
    """The messages of this response (earlier ones, not yet shown, left out)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1:]


def tpsl_url(position) -> str:
    return reverse("position_tpsl", args=[position.pk])


def open_tpsl(user) -> list[tuple]:
    return list(
        Order.objects.filter(user=user, status="NEW", close_position=True)
        .order_by("order_type")
        .values_list("order_type", "side", "stop_price", "reduce_only", "margin_mode")
    )


def chart_lines(page: str) -> list[dict]:
    match = re.search(r'<script id="chart-lines" type="application/json">(.*?)</script>', page)
    return json.loads(match.group(1))


def test_a_positions_take_profit_and_stop_loss_are_set_drawn_edited_and_cancelled(
    signed_in, trader
):
    long = open_position(trader, "BUY", "1", margin_mode="CROSS")

    response = signed_in.post(
        tpsl_url(long), {"take_profit": "65000", "stop_loss": "58000", "next": TRADE}
    )

    assert response.status_code == 302
    assert response.url == TRADE
    assert messages_of(response) == [
        "Your BTCUSDT Cross long: take-profit 65,000.0, stop-loss 58,000.0 (each closes the "
        "whole position at the mark)."
    ]
    assert open_tpsl(trader) == [
        ("STOP_MARKET", "SELL", D("58000"), True, "CROSS"),
        ("TAKE_PROFIT_MARKET", "SELL", D("65000"), True, "CROSS"),
    ]
    page = signed_in.get(TRADE).content.decode()
    assert '<span data-figure="take-profit">65,000.0</span>' in page
    assert '<span data-figure="stop-loss">58,000.0</span>' in page
    assert {"price": "65000.00000000", "title": "Cross take-profit"} in chart_lines(page)
    assert {"price": "58000.00000000", "title": "Cross stop-loss"} in chart_lines(page)
    assert re.search(rf'id="take-profit-{long.pk}"\s+placeholder="65000"', page)

    # editing the take-profit keeps its order (and the stop-loss as it was)
    take_profit_id = Order.objects.get(order_type="TAKE_PROFIT_MARKET").pk
    signed_in.post(tpsl_url(long), {"take_profit": "66000", "stop_loss": ""})
    assert Order.objects.get(order_type="TAKE_PROFIT_MARKET", status="NEW").pk == take_profit_id
    assert open_tpsl(trader)[1][2] == D("66000")
    assert open_tpsl(trader)[0][2] == D("58000")

    # cancelling the stop-loss leaves the take-profit
    response = signed_in.post(tpsl_url(long), {"action": "cancel_stop_loss"})
    assert messages_of(response) == [
        "Your BTCUSDT Cross long: take-profit 66,000.0, no stop-loss (each closes the whole "
        "position at the mark)."
    ]
    assert open_tpsl(trader) == [("TAKE_PROFIT_MARKET", "SELL", D("66000"), True, "CROSS")]


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        # a long's take-profit at or below the mark (60,000) would close it at once
        ({"take_profit": "59000"}, 400, "take"),
        ({"stop_loss": "61000"}, 400, "stop"),
        ({"take_profit": "lots"}, 400, "must be a number"),
        ({"take_profit": "", "stop_loss": ""}, 400, "Give a take_profit price"),
        ({"action": "cancel_take_profit"}, 404, ""),
        ({"action": "explode"}, 400, "Choose Set, or cancel the take-profit or the stop-loss."),
    ],
)
def test_a_refused_tpsl_shows_why_keeps_what_was_typed_and_changes_nothing(
    signed_in, trader, unchanged, form, status, message
):
    long = open_position(trader, "BUY", "1")

    with unchanged():
        response = signed_in.post(tpsl_url(long), form)

    assert response.status_code == status
    page = response.content.decode()
    assert message.lower() in page.lower()
    assert open_tpsl(trader) == []
    if form.get("take_profit"):
        assert f'value="{form["take_profit"]}" aria-describedby="positions-error"' in page


def test_someone_elses_position_is_not_found_for_every_tool(
    client_of, trader, make_trader, unchanged
):
    long = open_position(trader, "BUY", "1")
    intruder = client_of(make_trader("mallory"))

    with unchanged():
        statuses = [
            intruder.post(tpsl_url(long), {"take_profit": "65000"}).status_code,
            intruder.post(reverse("position_reverse", args=[long.pk])).status_code,
        ]

    assert statuses == [404, 404]


def test_reverse_closes_the_position_and_opens_the_other_side_in_the_same_mode(signed_in, trader):
    long = open_position(trader, "BUY", "0.5")
    signed_in.post(tpsl_url(long), {"take_profit": "65000"})

    response = signed_in.post(reverse("position_reverse", args=[long.pk]), {"next": TRADE})

    assert response.status_code == 302
    assert messages_of(response) == [
        "Reversed your BTCUSDT Isolated long: now short 0.500 BTC (Isolated), at 60,000.0."
    ]
    assert Position.objects.get(pk=long.pk).status == "CLOSED"
    short = Position.objects.get(user=trader, status="OPEN")
    assert (short.margin_mode, short.side, short.quantity, short.entry_price) == (
        "ISOLATED",
        "SHORT",
        D("0.5"),
        D("60000"),
    )
    assert open_tpsl(trader) == []  # the long's take-profit went with it


def test_a_reverse_the_margin_cannot_pay_is_refused_and_changes_nothing(
    signed_in, trader, unchanged
):
    # 3 BTC at 20x: margin 9,000, fee 90. At a mark of 57,500 closing it loses 7,500 and pays
    # 86.25: the wallet's 2,323.75 cannot pay the short's margin of 8,625
    long = open_position(trader, "BUY", "3")
    mark_price_set(symbol="BTCUSDT", price="57500")

    with unchanged():
        response = signed_in.post(reverse("position_reverse", args=[long.pk]))

    assert response.status_code == 409
    assert 'id="positions-error" data-error="MARGIN_INSUFFICIENT"' in response.content.decode()


def test_close_all_closes_one_mode_or_everything(signed_in, trader):
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")
    open_position(trader, "SELL", "1", symbol="ETHUSDT", margin_mode="CROSS")
    isolated = open_position(trader, "BUY", "0.1")
    url = reverse("positions_close_all")

    response = signed_in.post(url, {"positions": "CROSS", "next": TRADE})

    assert response.url == TRADE
    assert messages_of(response) == ["Closed your 2 Cross positions at market."]
    assert list(Position.objects.filter(user=trader, status="OPEN")) == [isolated]

    response = signed_in.post(url, {"positions": "ALL"})
    assert messages_of(response) == ["Closed your 1 position at market."]
    assert not Position.objects.filter(user=trader, status="OPEN").exists()

    response = signed_in.post(url, {"positions": "ISOLATED"})
    assert messages_of(response) == ["You had no open Isolated positions: nothing to close."]


def test_close_all_of_an_unknown_mode_is_refused_and_changes_nothing(signed_in, trader, unchanged):
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")

    with unchanged():
        response = signed_in.post(reverse("positions_close_all"), {"positions": "BOTH"})

    assert response.status_code == 400
    assert "margin_mode must be CROSS or ISOLATED" in response.content.decode()


def test_the_panel_offers_tpsl_reverse_and_close_all_with_scripts_off(signed_in, trader):
    long = open_position(trader, "BUY", "1")

    page = signed_in.get(TRADE).content.decode()

    assert f'action="{tpsl_url(long)}"' in page
    assert f'action="{reverse("position_reverse", args=[long.pk])}"' in page
    assert f'action="{reverse("positions_close_all")}"' in page
    assert '<button type="submit" name="positions" value="ALL">Close everything</button>' in page
