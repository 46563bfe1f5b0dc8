"""The trade page and its confirmation step, through Django's test client.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001, max 125x, default leverage 20x), taker
fee 0.05 %; brackets below 50,000 notional MMR 0.4 %, from 50,000 to 600,000 MMR 0.5 % with a
maintenance amount of 50. The trader alice has 10,000 USDT.
"""

from decimal import Decimal

import pytest
from django.test import Client

from accounts.services import margin_mode_default_set
from trading.models import Instrument, LeverageSetting, Order, Position, PriceCandle
from trading.services import leverage_set, order_place

pytestmark = pytest.mark.django_db

TRADE = "/trade/BTCUSDT/"
CONFIRM = "/trade/BTCUSDT/confirm/"
PLACE = "/trade/BTCUSDT/place/"
ONE_BTC = {"side": "BUY", "order_type": "MARKET", "quantity": "1", "quantity_unit": "BASE"}


def text(response) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def cross_10x(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    return trader


# --- the trade page ---------------------------------------------------------------------------


def test_the_trade_page_shows_the_mark_the_mode_chips_and_the_maximum_position(
    signed_in, cross_10x, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30):
        response = signed_in.get(TRADE)

    page = text(response)
    assert response.status_code == 200
    assert 'data-live="mark" data-tick="0.1">60,000.0</strong>' in page
    assert "<span>Cross 10x</span>" in page
    assert "<span>Isolated 20x</span>" in page
    # the largest cap of the brackets allowing the leverage: 230,000,000 at 10x, 100,000,000 at 20x
    assert (
        "Maximum position at current leverage: <span data-max-position>230,000,000</span>" in page
    )
    assert (
        "Maximum position at current leverage: <span data-max-position>100,000,000</span>" in page
    )
    assert 'value="CROSS" checked' in page  # the user's default, Cross unless changed


def test_the_order_forms_mode_is_preselected_from_the_symbols_default_then_the_users(
    signed_in, trader
):
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")

    page = text(signed_in.get(TRADE))

    assert 'value="ISOLATED" checked' in page


def test_trade_redirects_to_the_first_instrument_and_refuses_an_unknown_symbol(signed_in):
    assert signed_in.get("/trade/").url == TRADE
    assert signed_in.get("/trade/DOGEUSDT/").status_code == 404


def test_the_trade_pages_need_a_signed_in_user(market):
    response = Client().get(TRADE)

    assert response.status_code == 302
    assert response.url == f"/login/?next={TRADE}"


def test_back_from_the_confirmation_fills_the_form_again(signed_in):
    query = "side=SELL&order_type=LIMIT&quantity=0.5&quantity_unit=BASE&price=61000"

    page = text(signed_in.get(f"{TRADE}?{query}"))

    assert '<input type="radio" name="side" value="SELL" checked>' in page
    assert '<option value="LIMIT" selected>' in page
    assert 'value="0.5"' in page
    assert 'value="61000"' in page


# --- the confirmation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "rules"),
    [
        (
            "BTCUSDT",
            'Binance USD-M<span class="hint block">liquidation: orders cancelled, then one '
            "bracket down at a time until back in margin; fee 1.25 %; funding every 8 h</span>",
        ),
        (
            "BTCUSDT-BYBIT",
            'Bybit USDT perpetual<span class="hint block">liquidation: one risk-limit tier '
            "down at a time; the fee to close is reserved; fee none; funding every 8 h</span>",
        ),
        (
            "BTCUSDT-HL",
            'Hyperliquid perps<span class="hint block">liquidation: 20 % of a position above '
            "100,000, then a 30 s pause; fee none; funding every 1 h</span>",
        ),
    ],
)
def test_the_confirmation_names_the_venue_rules_the_instrument_follows(
    signed_in, venue_market, symbol, rules
):
    page = text(signed_in.post(f"/trade/{symbol}/confirm/", ONE_BTC))

    assert f'<dt>Rules</dt><dd data-summary="venue">{rules}</dd>' in page


def test_the_confirmation_shows_both_modes_side_by_side_with_their_risks(
    signed_in, cross_10x, django_assert_max_num_queries
):
    with django_assert_max_num_queries(40):
        response = signed_in.post(CONFIRM, ONE_BTC)

    page = text(response)
    assert response.status_code == 200
    # cross 10x: margin 6,000; wallet after the fee 9,970; LP = (9,970 + 50 - 60,000) / -0.995
    assert (
        "Cross: liquidation at 50,231.2. At risk: your whole cross balance, 9,970.00 USDT. "
        "Your cross margin ratio goes from 0.00 % to 2.51 %."
    ) in page
    # isolated 20x: margin 3,000; LP = (3,000 + 50 - 60,000) / -0.995 = 57,236.1809...; the
    # fees from the wallet: 30 now, and 57,236.1809... x 0.05 % = 28.618... to close at the LP
    assert (
        "Isolated: liquidation at 57,236.2. Most you can lose: the margin plus the fees, "
        "3,058.62 USDT (margin 3,000.00, fee 30.00 now, about 28.62 to close). "
        "The rest of your account is untouched."
    ) in page
    assert 'data-summary="initial-margin">6,000.00 USDT' in page
    assert 'data-summary="fee">30.00 USDT' in page
    assert 'data-summary="liquidation">50,231.2' in page
    assert 'value="CROSS" checked autofocus' in page
    assert '<button type="submit" class="primary" id="confirm-button">Confirm</button>' in page
    assert Order.objects.count() == 0  # a preview places nothing


def test_the_confirmation_disables_confirm_when_both_modes_are_refused(signed_in):
    # 10 BTC at 20x needs 30,000 of margin in either mode: the wallet holds 10,000
    page = text(signed_in.post(CONFIRM, {**ONE_BTC, "quantity": "10"}))

    assert page.count('data-text="refusal">Refused in this mode:') == 2
    assert (
        '<p class="refusal" role="note" id="confirm-refused">Refused in both modes (the reasons '
        "are above): nothing can be placed. Go back and change the order.</p>"
    ) in page
    assert (
        '<button type="submit" class="primary" id="confirm-button" disabled '
        'aria-describedby="confirm-refused">Confirm</button>'
    ) in page


def test_the_confirmation_preselects_the_users_default_mode(signed_in, trader):
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")

    page = text(signed_in.post(CONFIRM, ONE_BTC))

    assert 'value="ISOLATED" checked autofocus' in page
    assert 'data-summary="initial-margin">3,000.00 USDT' in page


def test_the_confirmation_notes_a_position_in_the_other_mode_opens_separately(signed_in, trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    page = text(signed_in.post(CONFIRM, {**ONE_BTC, "margin_mode": "ISOLATED"}))

    assert (
        "You already hold a Cross position on BTCUSDT: this opens a separate Isolated position"
    ) in page


def test_a_quantity_in_usdt_becomes_base_quantity_rounded_down_to_the_step(signed_in):
    # 1,000 USDT at 60,000 is 0.01666... BTC: 0.016 on the step of 0.001
    page = text(signed_in.post(CONFIRM, {**ONE_BTC, "quantity": "1000", "quantity_unit": "USDT"}))

    assert '<input type="hidden" name="quantity" value="0.016">' in page
    assert 'data-summary="quantity">0.016 BTC' in page


def closing_order_confirmed(client, trader, **fields) -> str:
    """Given a Cross long of 0.1 BTC, an order to sell 0.1 with ``fields``, reviewed then
    confirmed: the confirmation's text."""
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")
    form = {**ONE_BTC, "side": "SELL", "quantity": "0.1", "margin_mode": "CROSS", **fields}
    confirmation = text(client.post(CONFIRM, form))
    token = confirmation.split('name="client_order_id" value="')[1].split('"')[0]
    assert client.post(PLACE, {**form, "client_order_id": token}).status_code == 302
    return confirmation


def test_a_take_profit_market_order_rests_until_the_mark_reaches_its_trigger(signed_in, trader):
    confirmation = closing_order_confirmed(
        signed_in, trader, order_type="TAKE_PROFIT_MARKET", stop_price="62000"
    )

    assert "Take profit market" in confirmation
    assert "(take profit at 62000)" in confirmation
    order = Order.objects.get(user=trader, order_type="TAKE_PROFIT_MARKET")
    assert (order.side, order.quantity, order.stop_price, order.status) == (
        "SELL",
        Decimal("0.1"),
        Decimal("62000"),
        "NEW",
    )
    assert '<option value="TAKE_PROFIT_MARKET">Take profit market</option>' in text(
        signed_in.get(TRADE)
    )


def test_a_quantity_in_usdt_of_margin_is_the_cost_at_the_chosen_modes_leverage(
    signed_in, cross_10x
):
    # 1,000 USDT of margin at Cross 10x buys 10,000 USDT of notional: at the best ask of 60,000
    # (the seeded book's spread is 0), 0.1666... BTC, 0.166 on the step
    form = {**ONE_BTC, "quantity": "1000", "quantity_unit": "MARGIN", "margin_mode": "CROSS"}
    page = text(signed_in.post(CONFIRM, form))

    assert '<input type="hidden" name="quantity" value="0.166">' in page
    assert 'data-summary="leverage">10x' in page
    assert "for 1000 USDT of margin at Cross 10x; the other mode needs the margin" in page


def test_a_trailing_stop_from_the_form_rests_with_its_callback_rate_and_activation(
    signed_in, trader
):
    confirmation = closing_order_confirmed(
        signed_in,
        trader,
        order_type="TRAILING_STOP_MARKET",
        callback_rate="1.5",
        activation_price="61000",
    )

    assert "(trailing 1.5 % from 61000)" in confirmation
    order = Order.objects.get(user=trader, order_type="TRAILING_STOP_MARKET")
    assert (order.callback_rate, order.activation_price, order.trailing_extreme) == (
        Decimal("1.5"),
        Decimal("61000"),
        None,
    )


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"quantity": "0"}, 400, "Quantity must be greater than 0."),
        ({"quantity": "-1"}, 400, "Quantity must be greater than 0."),
        ({"quantity": "0.0005"}, 400, "is not a multiple of the step size 0.001"),
        ({"quantity": "NaN"}, 400, "Quantity must be a finite number."),
        ({"quantity": "1e30"}, 400, "Quantity is too large."),
        ({"quantity": "lots"}, 400, "Quantity must be a number"),
        ({"side": "HOLD"}, 400, "Side must be BUY or SELL"),
        ({"order_type": "LIMIT", "price": "60000.05"}, 400, "tick"),
        ({"order_type": "LIMIT", "price": ""}, 400, "A LIMIT order needs a price."),
        (
            {"quantity_unit": "usdt"},
            400,
            "The quantity is in the base asset, in USDT or in USDT of margin.",
        ),
        ({"quantity": "0", "quantity_unit": "MARGIN"}, 400, "Cost must be greater than 0."),
        (
            {"order_type": "TRAILING_STOP_MARKET", "side": "SELL", "callback_rate": "11"},
            400,
            "10",
        ),
        ({"margin_mode": "BOTH"}, 400, "The margin_mode must be CROSS or ISOLATED"),
        ({"quantity": "1", "quantity_unit": "USDT"}, 400, "buys less than one step"),
    ],
)
def test_a_bad_order_form_is_refused_inline_and_changes_nothing(
    signed_in, unchanged, changes, status, message
):
    with unchanged():
        response = signed_in.post(CONFIRM, {**ONE_BTC, **changes})

    assert response.status_code == status
    assert 'id="order-error"' in text(response)
    assert message in response.content.decode()


def test_confirm_places_the_order_in_the_chosen_mode(signed_in, trader, cross_10x):
    confirmation = text(signed_in.post(CONFIRM, ONE_BTC))
    token = confirmation.split('name="client_order_id" value="')[1].split('"')[0]

    response = signed_in.post(
        PLACE, {**ONE_BTC, "margin_mode": "ISOLATED", "client_order_id": token}
    )

    assert response.status_code == 302
    assert response.url == TRADE
    position = Position.objects.get(user=trader)
    assert (position.margin_mode, position.side, position.quantity) == ("ISOLATED", "LONG", 1)
    assert position.isolated_margin == Decimal("3000")
    followed = text(signed_in.get(TRADE))
    assert "Buy 1 BTC market (Isolated 20x): filled." in followed


def test_confirming_twice_places_one_order(signed_in, trader):
    form = {**ONE_BTC, "margin_mode": "CROSS", "client_order_id": "a1b2c3"}

    signed_in.post(PLACE, form)
    signed_in.post(PLACE, form)

    assert Order.objects.filter(user=trader).count() == 1


def test_a_refusal_at_confirm_shows_on_the_confirmation_and_places_nothing(signed_in, unchanged):
    # 10 BTC at 20x needs 30,000 of margin; alice has 10,000
    with unchanged():
        response = signed_in.post(PLACE, {**ONE_BTC, "quantity": "10", "margin_mode": "CROSS"})

    page = text(response)
    assert response.status_code == 400 or response.status_code == 409
    assert 'id="order-error"' in page
    assert "Nothing was placed." in page
    assert "Confirm your order" in page


def test_forms_are_protected_against_cross_site_requests(trader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)

    assert client.post(PLACE, {**ONE_BTC, "margin_mode": "CROSS"}).status_code == 403
    assert Order.objects.count() == 0


# --- leverage and the live mark --------------------------------------------------------------


def test_leverage_is_set_per_symbol_and_mode(signed_in, trader):
    response = signed_in.post(
        "/trade/BTCUSDT/leverage/", {"margin_mode": "ISOLATED", "leverage": "50"}
    )

    # post/redirect/get: 303 to the trade page, in the form's mode
    assert (response.status_code, response["Location"]) == (
        303,
        "/trade/BTCUSDT/?margin_mode=ISOLATED",
    )
    assert LeverageSetting.objects.get(user=trader, margin_mode="ISOLATED").leverage == 50
    assert not LeverageSetting.objects.filter(user=trader, margin_mode="CROSS").exists()
    page = text(signed_in.get(response["Location"]))
    assert "<span>Isolated 50x</span>" in page
    assert "BTCUSDT Isolated leverage set to 50x." in page


@pytest.mark.parametrize(
    ("leverage", "message"),
    [
        ("126", "Leverage 126x is above this symbol&#x27;s maximum of 125x."),
        ("0", "Leverage must be at least 1"),
        ("ten", "Leverage must be a whole number from 1 to 125."),
        ("", "Leverage must be a whole number from 1 to 125."),
        pytest.param(
            "9" * 5000, "Leverage must be a whole number from 1 to 125.", id="5000-digits"
        ),
    ],
)
def test_a_bad_leverage_is_refused_and_changes_nothing(signed_in, unchanged, leverage, message):
    with unchanged():
        response = signed_in.post(
            "/trade/BTCUSDT/leverage/", {"margin_mode": "CROSS", "leverage": leverage}
        )

    # post/redirect/get: the trade page shows the refusal once; a reload sends nothing again
    assert (response.status_code, response["Location"]) == (
        303,
        "/trade/BTCUSDT/?margin_mode=CROSS",
    )
    page = signed_in.get(response["Location"]).content.decode()
    assert f'<li class="error">BTCUSDT Cross leverage: {message}' in page
    assert "BTCUSDT Cross leverage:" not in signed_in.get(response["Location"]).content.decode()


def test_a_leverage_for_an_unknown_symbol_is_not_found(signed_in, unchanged):
    with unchanged():
        response = signed_in.post(
            "/trade/DOGEUSDT/leverage/", {"margin_mode": "CROSS", "leverage": "5"}
        )

    assert response.status_code == 404


def test_the_live_endpoint_gives_the_mark_and_candles_as_strings(signed_in, market):
    PriceCandle.objects.create(
        instrument=Instrument.objects.get(symbol="BTCUSDT"),
        opened_at="2026-11-22T10:00:00Z",
        open="60000",
        high="60100.5",
        low="59900",
        close="60050",
    )

    data = signed_in.get("/trade/BTCUSDT/live/").json()

    assert data["mark"] == "60000.00000000"
    assert data["candles"] == [
        {
            "time": 1795341600,
            "open": "60000.00000000",
            "high": "60100.50000000",
            "low": "59900.00000000",
            "close": "60050.00000000",
        }
    ]


# --- what the confirmation promised is what is placed -----------------------------------------


def test_a_leverage_changed_after_the_review_refuses_the_confirm(signed_in, trader, unchanged):
    # reviewed at Cross 20x; then, in another tab, Cross becomes 125x
    confirmation = text(signed_in.post(CONFIRM, {**ONE_BTC, "margin_mode": "CROSS"}))
    assert '<input type="hidden" name="leverage_CROSS" value="20">' in confirmation
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)

    with unchanged():
        response = signed_in.post(
            PLACE, {**ONE_BTC, "margin_mode": "CROSS", "leverage_CROSS": "20"}
        )

    assert response.status_code == 409
    assert (
        "Your BTCUSDT Cross leverage is now 125x, not the 20x you reviewed. Review the order again."
    ) in text(response)


def test_a_second_confirm_says_the_order_was_already_placed(signed_in, trader):
    form = {**ONE_BTC, "margin_mode": "CROSS", "client_order_id": "f00d"}
    signed_in.post(PLACE, form)

    response = signed_in.post(PLACE, {**form, "margin_mode": "ISOLATED"}, follow=True)

    order = Order.objects.get(user=trader)
    assert order.margin_mode == "CROSS"
    assert f"This order was already placed (order {order.pk}): nothing new." in text(response)


def test_a_quantity_in_usdt_is_converted_at_the_price_a_taker_gets(signed_in, market):
    # with the best ask 600 ticks (60) above the mark a market buy starts at 60,060: 600 USDT
    # buys 0.00999 BTC, so 0.009
    Instrument.objects.filter(symbol="BTCUSDT").update(book_half_spread_ticks=600)

    page = text(signed_in.post(CONFIRM, {**ONE_BTC, "quantity": "600", "quantity_unit": "USDT"}))

    assert '<input type="hidden" name="quantity" value="0.009">' in page


def test_a_ten_unit_quantity_is_sent_on_in_plain_digits(signed_in, market):
    page = text(signed_in.post("/trade/SOLUSDT/confirm/", {**ONE_BTC, "quantity": "10"}))

    assert '<input type="hidden" name="quantity" value="10">' in page


def test_the_trade_pages_queries_do_not_grow_with_positions_and_orders(
    signed_in, trader, django_assert_max_num_queries
):
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        for mode in ("CROSS", "ISOLATED"):
            order_place(user=trader, symbol=symbol, side="BUY", quantity="1", margin_mode=mode)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.01", order_type="LIMIT",
                price="50000", margin_mode="CROSS")  # fmt: skip

    # 6 of them the ADL queues, on a cold cache; 1 the positions' take-profits and stop-losses
    with django_assert_max_num_queries(38):
        trade = signed_in.get(TRADE)
    with django_assert_max_num_queries(40):
        confirm = signed_in.post(CONFIRM, ONE_BTC)

    assert trade.status_code == confirm.status_code == 200
    assert text(trade).count("<tr data-position") == 2


# --- the order book, time in force, editing an open order -----------------------------------


@pytest.fixture
def thin_book(market):
    """Best bid 59,999.9 and best ask 60,000.1, a level every tick of 0.2 BTC."""
    Instrument.objects.filter(symbol="BTCUSDT").update(
        book_half_spread_ticks=1, book_level_ticks=1, book_level_quantity=Decimal("0.2")
    )


def test_the_trade_page_shows_the_book_ladder_and_the_time_in_force_choice(signed_in, thin_book):
    page = text(signed_in.get(TRADE))

    ladder = page[page.index('id="order-book"') :]
    # asks from the fifth best down to the best, the mark, then the bids best first
    assert ladder.index("60,000.5") < ladder.index("60,000.1") < ladder.index("Mark 60,000.0")
    assert ladder.index("Mark 60,000.0") < ladder.index("59,999.9") < ladder.index("59,999.5")
    assert "A market order walks these levels, up to 5 % from the mark." in ladder
    assert '<option value="GTX">Post only (GTX)</option>' in page
    assert '<option value="GTC" selected>Good till canceled (GTC)</option>' in page


def test_the_confirmation_shows_the_estimated_fill_price_from_the_book(signed_in, thin_book):
    page = text(signed_in.post(CONFIRM, {**ONE_BTC, "quantity": "0.5"}))

    # 0.2 at 60,000.1, 0.2 at 60,000.2, 0.1 at 60,000.3: average 60,000.18
    assert 'data-summary="price">60000.18 <span class="hint">(average of the book levels' in page
    assert Order.objects.count() == 0


def test_a_limit_orders_time_in_force_is_confirmed_and_placed(signed_in, trader, thin_book):
    form = {
        **ONE_BTC,
        "order_type": "LIMIT",
        "price": "59000",
        "quantity": "0.1",
        "time_in_force": "GTX",
        "margin_mode": "CROSS",
    }
    confirmation = text(signed_in.post(CONFIRM, form))
    assert 'data-summary="time-in-force">Post only (GTX)' in confirmation
    assert '<input type="hidden" name="time_in_force" value="GTX">' in confirmation

    signed_in.post(PLACE, form)

    order = Order.objects.get(user=trader)
    assert (order.time_in_force, order.status, order.margin_held) == (
        "GTX",
        "NEW",
        # 5,900 / 20 = 295 + maker fee 1.18
        Decimal("296.18"),
    )


def test_the_open_orders_panel_edits_a_resting_limit_order_in_place(signed_in, trader, thin_book):
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip
    page = text(signed_in.get(TRADE))
    assert f'action="/orders/{order.pk}/edit/"' in page

    response = signed_in.post(
        f"/orders/{order.pk}/edit/", {"quantity": "0.2", "price": "58000", "next": TRADE}
    )

    assert (response.status_code, response.url) == (302, TRADE)
    order.refresh_from_db()
    # 11,600 / 20 = 580 + maker fee 2.32
    assert (order.status, order.quantity, order.price, order.margin_held) == (
        "NEW",
        Decimal("0.2"),
        Decimal("58000"),
        Decimal("582.32"),
    )
    assert f"Order {order.pk} now buys 0.2 BTC at 58000." in text(signed_in.get(TRADE))


def test_a_refused_edit_answers_4xx_with_the_reason_and_changes_nothing(
    signed_in, trader, thin_book, unchanged
):
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS", time_in_force="GTX",
    )  # fmt: skip

    with unchanged():
        response = signed_in.post(
            f"/orders/{order.pk}/edit/", {"quantity": "0.1", "price": "60000.1", "next": TRADE}
        )

    assert response.status_code == 409
    assert "Post-only order rejected" in text(response)


def test_a_gtc_limit_the_book_fills_in_part_is_confirmed_placed_and_edited_with_its_rest(
    signed_in, trader, thin_book
):
    form = {
        **ONE_BTC,
        "order_type": "LIMIT",
        "price": "60000.2",
        "quantity": "0.5",
        "margin_mode": "CROSS",
    }
    confirmation = text(signed_in.post(CONFIRM, form))
    # 0.2 at 60,000.1 and 0.2 at 60,000.2 are within its price; 0.1 rests
    assert "only 0.400 BTC is within reach, the other 0.100 BTC rests at your price" in confirmation

    placed = signed_in.post(PLACE, form)

    order = Order.objects.get(user=trader)
    assert (order.status, order.filled_quantity, order.margin_held) == (
        "NEW",
        Decimal("0.4"),
        Decimal("301.201004"),  # 6,000.02 / 20 = 300.001 + maker fee 1.200004
    )
    page = text(signed_in.get(placed.url))
    assert "0.4 BTC filled at 60000.15; the other 0.1 BTC rests at 60000.2." in page
    history = text(signed_in.get("/history/orders/"))
    assert "Open, partly filled" in history

    signed_in.post(
        f"/orders/{order.pk}/edit/", {"quantity": "0.6", "price": "59000", "next": TRADE}
    )
    assert (
        f"Order {order.pk} now buys 0.6 BTC at 59000 (0.4 filled so far, at an average of "
        "60000.15)." in text(signed_in.get(TRADE))
    )


def test_confirm_sets_the_new_positions_take_profit_and_stop_loss_with_the_order(signed_in, trader):
    form = {**ONE_BTC, "quantity": "0.1", "margin_mode": "ISOLATED"}
    confirmation = text(signed_in.post(CONFIRM, form))
    assert 'name="take_profit" id="confirm-take-profit" value=""' in confirmation

    response = signed_in.post(
        PLACE, {**form, "take_profit": "66000", "stop_loss": "57000", "client_order_id": "tp1"}
    )

    assert response.status_code == 302
    position = Position.objects.get(user=trader)
    assert (position.margin_mode, position.quantity) == ("ISOLATED", Decimal("0.1"))
    assert sorted(
        Order.objects.filter(user=trader, close_position=True).values_list(
            "order_type", "side", "stop_price", "status"
        )
    ) == [
        ("STOP_MARKET", "SELL", Decimal("57000"), "NEW"),
        ("TAKE_PROFIT_MARKET", "SELL", Decimal("66000"), "NEW"),
    ]


def test_a_tpsl_the_mark_has_passed_refuses_the_whole_confirm_and_places_nothing(
    signed_in, trader, unchanged
):
    form = {**ONE_BTC, "quantity": "0.1", "margin_mode": "ISOLATED", "client_order_id": "tp2"}

    with unchanged():
        response = signed_in.post(PLACE, {**form, "take_profit": "59000"})

    assert response.status_code == 400
    page = text(response)
    assert "A long&#x27;s take-profit must be above the mark price 60000: at 59000" in page
    assert 'id="confirm-take-profit" value="59000"' in page
    assert not Order.objects.filter(user=trader).exists()
