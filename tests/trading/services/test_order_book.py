"""Takers against the order book, time in force, and order_edit: exact fills, fees and ledger rows,
and every refusal with a proof that nothing changed.

Given BTCUSDT at mark 60,000 (tick 0.1, step 0.001, taker 0.05 %, maker 0.02 %, default 20x) with
a thin book: best bid 59,999.9 and best ask 60,000.1 (one tick from the mark), a level every tick
with 0.2 BTC each, walked up to 5 % from the mark. Every trader starts with 10,000 USDT.
"""

from decimal import Decimal

import pytest

from marginsite.errors import InvalidInput
from tests.builders import ledger_rows, wallet_balance
from trading.errors import (
    InvalidPrice,
    MarginInsufficient,
    OrderNotEditable,
    OrderNotFound,
    PostOnlyRejected,
)
from trading.models import Fill, Instrument, Order
from trading.selectors import account_summary, order_book
from trading.services import (
    mark_price_set,
    order_cancel,
    order_edit,
    order_place,
    order_preview,
    sweep_run,
)

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def thin_book(market):
    Instrument.objects.filter(symbol="BTCUSDT").update(
        book_half_spread_ticks=1, book_level_ticks=1, book_level_quantity=D("0.2")
    )


def place(user, side, quantity, price=None, *, service=order_place, **options):
    """A cross BTCUSDT order (``service`` order_preview: its preview)."""
    return service(
        user=user,
        symbol="BTCUSDT",
        side=side,
        quantity=quantity,
        order_type="MARKET" if price is None else "LIMIT",
        price=price,
        margin_mode="CROSS",
        **options,
    )


def fill_rows(order):
    return [
        (fill.price, fill.quantity, fill.fee, fill.liquidity)
        for fill in Fill.objects.filter(order=order).order_by("pk")
    ]


def order_figures(order):
    order.refresh_from_db()
    return (
        order.status,
        order.time_in_force,
        order.quantity,
        order.filled_quantity,
        order.average_fill_price,
        order.margin_held,
    )


# --- the book --------------------------------------------------------------------------------


def test_the_book_selector_shows_the_levels_orders_fill_against(thin_book):
    book = order_book(instrument=Instrument.objects.get(symbol="BTCUSDT"), depth=2)

    assert book.mark == D("60000")
    assert book.bids == ((D("59999.9"), D("0.2")), (D("59999.8"), D("0.2")))
    assert book.asks == ((D("60000.1"), D("0.2")), (D("60000.2"), D("0.2")))


def test_a_large_market_buy_costs_more_than_a_small_one(make_trader, thin_book, balanced_ledger):
    small_buyer, large_buyer = make_trader("small"), make_trader("large")

    small = place(small_buyer, "BUY", "0.1")
    # 0.5 BTC: 0.2 at 60000.1, 0.2 at 60000.2, 0.1 at 60000.3 = 30000.09, average 60000.18
    large = place(large_buyer, "BUY", "0.5")

    # fees: 6000.01 x 0.0005 = 3.000005; 30000.09 x 0.0005 = 15.000045
    assert fill_rows(small) == [(D("60000.1"), D("0.1"), D("3.000005"), "TAKER")]
    assert fill_rows(large) == [(D("60000.18"), D("0.5"), D("15.000045"), "TAKER")]
    assert order_figures(large) == ("FILLED", "GTC", D("0.5"), D("0.5"), D("60000.18"), D("0"))
    assert ledger_rows(order=large) == [("FEE", D("15.000045"), "WALLET", "FEES")]
    assert wallet_balance(large_buyer) == D("9984.999955")


def test_a_market_order_larger_than_the_book_within_the_slippage_fills_what_it_can(
    trader, thin_book, balanced_ledger
):
    # given a maximum slippage of 0.001 %: 60000 x 0.00001 = 0.6, asks 60000.1 .. 60000.6
    Instrument.objects.filter(symbol="BTCUSDT").update(book_max_slippage_rate=D("0.00001"))

    # when the trader sells 1.5 BTC at market, the book holds 6 levels x 0.2 = 1.2 within reach
    order = place(trader, "SELL", "1.5")

    # then 1.2 fills at the bids' average, 59999.65, and the rest expires (nothing rests)
    # fee 71999.58 x 0.0005 = 35.99979
    assert order_figures(order) == ("EXPIRED", "GTC", D("1.5"), D("1.2"), D("59999.65"), D("0"))
    assert fill_rows(order) == [(D("59999.65"), D("1.2"), D("35.99979"), "TAKER")]
    position = order.fills.get().position
    assert (position.side, position.quantity, position.entry_price) == (
        "SHORT",
        D("1.2"),
        D("59999.65"),
    )
    assert wallet_balance(trader) == D("9964.00021")


def test_a_crossing_limit_takes_at_the_book_average_rounded_against_the_taker(
    trader, thin_book, balanced_ledger
):
    # when the trader buys 0.3 with a limit of 60000.5: 0.2 at 60000.1 and 0.1 at 60000.2
    order = place(trader, "BUY", "0.3", "60000.5")

    # then the average 18000.04 / 0.3 = 60000.1333... is stored rounded up, 60000.13333334;
    # fee 0.3 x 60000.13333334 x 0.0005 = 9.0000200000001, rounded up
    assert fill_rows(order) == [(D("60000.13333334"), D("0.3"), D("9.00002001"), "TAKER")]
    assert order_figures(order) == (
        "FILLED",
        "GTC",
        D("0.3"),
        D("0.3"),
        D("60000.13333334"),
        D("0"),
    )


# --- a GTC limit's rest rests ----------------------------------------------------------------


@pytest.fixture
def partly_filled(trader, thin_book):
    """A GTC limit buy of 0.5 at 60,000.2: the book holds 0.4 within its price (0.2 at 60,000.1
    and 0.2 at 60,000.2 = 24,000.06, average 60,000.15; taker fee 12.00003); the other 0.1
    rests at 60,000.2 and holds 6,000.02 / 20 = 300.001 + maker fee 1.200004 = 301.201004."""
    return place(trader, "BUY", "0.5", "60000.2")


def test_a_crossing_gtc_limit_takes_what_the_book_holds_within_its_price_and_rests_the_rest(
    trader, partly_filled, balanced_ledger
):
    order = partly_filled

    assert order_figures(order) == (
        "NEW",
        "GTC",
        D("0.5"),
        D("0.4"),
        D("60000.15"),
        D("301.201004"),
    )
    assert fill_rows(order) == [(D("60000.15"), D("0.4"), D("12.00003"), "TAKER")]
    assert ledger_rows(order=order) == [("FEE", D("12.00003"), "WALLET", "FEES")]
    assert wallet_balance(trader) == D("9987.99997")
    summary = account_summary(user=trader)
    assert summary.open_order_margin == D("301.201004")
    position = order.fills.get().position
    assert (position.side, position.quantity, position.entry_price) == (
        "LONG",
        D("0.4"),
        D("60000.15"),
    )


def test_the_rest_of_a_partly_filled_order_fills_as_a_maker_when_the_mark_reaches_it(
    trader, partly_filled, balanced_ledger
):
    mark_price_set(symbol="BTCUSDT", price="60000.2")
    sweep_run()

    # the rest, 0.1 at 60,000.2, pays the maker fee 1.200004; the average of all its fills:
    # (24,000.06 + 6,000.02) / 0.5 = 60,000.16
    assert order_figures(partly_filled) == (
        "FILLED",
        "GTC",
        D("0.5"),
        D("0.5"),
        D("60000.16"),
        D("0"),
    )
    assert fill_rows(partly_filled) == [
        (D("60000.15"), D("0.4"), D("12.00003"), "TAKER"),
        (D("60000.2"), D("0.1"), D("1.200004"), "MAKER"),
    ]
    assert wallet_balance(trader) == D("9986.799966")
    assert account_summary(user=trader).open_order_margin == D("0")
    position = partly_filled.fills.first().position
    position.refresh_from_db()
    assert (position.quantity, position.entry_price) == (D("0.5"), D("60000.16"))


def test_canceling_a_partly_filled_order_frees_its_hold_and_keeps_what_it_filled(
    trader, partly_filled, balanced_ledger
):
    order_cancel(user=trader, order_id=partly_filled.pk)

    assert order_figures(partly_filled) == (
        "CANCELED",
        "GTC",
        D("0.5"),
        D("0.4"),
        D("60000.15"),
        D("0"),
    )
    assert account_summary(user=trader).open_order_margin == D("0")
    assert wallet_balance(trader) == D("9987.99997")


def test_an_edit_of_a_partly_filled_order_places_what_is_left_of_its_new_size(
    trader, partly_filled, balanced_ledger
):
    # the new size is the whole order's: 0.6, of which 0.4 filled; 0.2 rests at 59,000 and
    # holds 11,800 / 20 = 590 + 2.36
    edited = order_edit(user=trader, order_id=partly_filled.pk, quantity="0.6", price="59000")

    assert order_figures(edited) == ("NEW", "GTC", D("0.6"), D("0.4"), D("60000.15"), D("592.36"))
    assert account_summary(user=trader).open_order_margin == D("592.36")

    # and a new price through the book takes the rest: 0.2 at 60,000.1; the average of all,
    # (24,000.06 + 12,000.02) / 0.6 = 60,000.13333333...
    edited = order_edit(user=trader, order_id=partly_filled.pk, quantity="0.6", price="60000.5")

    assert order_figures(edited) == (
        "FILLED",
        "GTC",
        D("0.6"),
        D("0.6"),
        D("60000.13333333"),
        D("0"),
    )
    assert fill_rows(edited)[-1] == (D("60000.1"), D("0.2"), D("6.00001"), "TAKER")


@pytest.mark.parametrize("quantity", ["0.4", "0.3"])
def test_an_edit_to_no_more_than_a_partly_filled_order_has_filled_is_refused(
    trader, partly_filled, unchanged, quantity
):
    with pytest.raises(InvalidInput) as refusal, unchanged():
        order_edit(user=trader, order_id=partly_filled.pk, quantity=quantity, price="60000.2")

    assert refusal.value.field == "quantity"
    assert refusal.value.message == (
        f"Quantity {quantity} must be above the 0.4 order {partly_filled.pk} has already filled."
    )


def test_a_gtc_limit_is_refused_whole_when_its_rest_cannot_be_held(trader, thin_book, unchanged):
    # 3.4 at 60,000.2: 0.4 fills (margin 1,200.003, fee 12.00003), 3 would rest (margin
    # 9,000.03, maker fee 36.00012); together 10,248.03315, more than the 10,000 there is
    with pytest.raises(MarginInsufficient) as refusal, unchanged():
        place(trader, "BUY", "3.4", "60000.2")

    assert refusal.value.message.startswith(
        "Insufficient margin: this order needs 10,248.03315 USDT (initial margin 10,200.033 + "
        "fee 48.00015); you have 10,000 USDT available."
    )


def test_the_preview_shows_what_a_gtc_limit_leaves_resting(trader, partly_filled):
    preview = place(trader, "BUY", "0.5", "60000.2", service=order_preview)

    chosen = preview.chosen
    assert (chosen.fill_quantity, chosen.rest_quantity, chosen.price) == (
        D("0.4"),
        D("0.1"),
        D("60000.15"),
    )
    # the fill's margin and fee and the rest's
    assert (chosen.initial_margin, chosen.fee) == (D("1500.004"), D("13.200034"))


# --- time in force ---------------------------------------------------------------------------


def test_an_ioc_fills_what_the_book_gives_within_its_price_and_expires_the_rest(
    trader, thin_book, balanced_ledger
):
    order = place(trader, "SELL", "0.5", "59999.8", time_in_force="IOC")

    # 0.2 at 59999.9 + 0.2 at 59999.8 = 23999.94, average 59999.85; fee 11.99997
    assert order_figures(order) == ("EXPIRED", "IOC", D("0.5"), D("0.4"), D("59999.85"), D("0"))
    assert fill_rows(order) == [(D("59999.85"), D("0.4"), D("11.99997"), "TAKER")]
    assert ledger_rows(order=order) == [("FEE", D("11.99997"), "WALLET", "FEES")]
    assert wallet_balance(trader) == D("9988.00003")


def test_an_ioc_that_does_not_cross_expires_with_nothing_filled_and_nothing_held(
    trader, thin_book, balanced_ledger
):
    order = place(trader, "BUY", "0.1", "59000", time_in_force="IOC")

    assert order_figures(order) == ("EXPIRED", "IOC", D("0.1"), D("0"), None, D("0"))
    assert fill_rows(order) == []
    assert ledger_rows(order=order) == []
    assert wallet_balance(trader) == D("10000")
    assert account_summary(user=trader).open_order_margin == D("0")


def test_a_fok_that_cannot_fill_whole_expires_with_nothing_filled(
    trader, thin_book, balanced_ledger
):
    order = place(trader, "BUY", "0.5", "60000.2", time_in_force="FOK")

    assert order_figures(order) == ("EXPIRED", "FOK", D("0.5"), D("0"), None, D("0"))
    assert fill_rows(order) == []
    assert wallet_balance(trader) == D("10000")


def test_a_fok_that_the_book_fills_whole_fills_at_once(trader, thin_book, balanced_ledger):
    order = place(trader, "BUY", "0.4", "60000.2", time_in_force="FOK")

    assert order_figures(order) == ("FILLED", "FOK", D("0.4"), D("0.4"), D("60000.15"), D("0"))
    assert fill_rows(order) == [(D("60000.15"), D("0.4"), D("12.00003"), "TAKER")]


def test_a_post_only_order_that_would_take_is_refused_and_not_recorded(
    trader, thin_book, unchanged
):
    with pytest.raises(PostOnlyRejected) as refusal, unchanged():
        place(trader, "BUY", "0.1", "60000.1", time_in_force="GTX")

    assert refusal.value.code == "POST_ONLY_REJECTED"
    assert "60000.1" in refusal.value.message


def test_a_post_only_order_below_the_ask_rests_as_a_maker(trader, thin_book, balanced_ledger):
    # rests: margin 6000 / 20 = 300 + maker fee 6000 x 0.0002 = 1.2
    order = place(trader, "BUY", "0.1", "60000", time_in_force="GTX")

    assert order_figures(order) == ("NEW", "GTX", D("0.1"), D("0"), None, D("301.2"))

    # when the mark falls to it, it fills at its own price as a maker
    mark_price_set(symbol="BTCUSDT", price="59990")
    sweep_run()

    assert fill_rows(order) == [(D("60000"), D("0.1"), D("1.2"), "MAKER")]


@pytest.mark.parametrize(
    ("order_type", "time_in_force", "message"),
    [
        ("MARKET", "IOC", "A MARKET order takes no time in force"),
        ("LIMIT", "DAY", "The time_in_force must be one of GTC, IOC, FOK, GTX, not 'DAY'."),
    ],
)
def test_a_time_in_force_that_does_not_apply_is_refused(
    trader, thin_book, unchanged, order_type, time_in_force, message
):
    with pytest.raises(InvalidInput) as refusal, unchanged():
        order_place(
            user=trader,
            symbol="BTCUSDT",
            side="BUY",
            quantity="0.1",
            order_type=order_type,
            price="59000" if order_type == "LIMIT" else None,
            time_in_force=time_in_force,
        )

    assert refusal.value.field == "time_in_force"
    assert message in refusal.value.message


def test_a_triggered_stop_market_walks_the_book(trader, thin_book, balanced_ledger):
    order = order_place(
        user=trader,
        symbol="BTCUSDT",
        side="BUY",
        quantity="0.5",
        order_type="STOP_MARKET",
        stop_price="60100",
        margin_mode="CROSS",
    )

    mark_price_set(symbol="BTCUSDT", price="60100")
    sweep_run()

    # 0.2 at 60100.1, 0.2 at 60100.2, 0.1 at 60100.3: average 60100.18; fee 15.025045
    assert fill_rows(order) == [(D("60100.18"), D("0.5"), D("15.025045"), "TAKER")]


# --- the preview ----------------------------------------------------------------------------


def test_the_preview_estimates_the_price_the_order_then_fills_at(trader, thin_book):
    preview = order_preview(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.5")

    order = place(trader, "BUY", "0.5")

    assert (preview.chosen.price, preview.chosen.fill_quantity) == (D("60000.18"), D("0.5"))
    assert preview.chosen.fee == D("15.000045")
    assert fill_rows(order) == [(preview.chosen.price, D("0.5"), preview.chosen.fee, "TAKER")]


def test_the_preview_of_a_post_only_order_that_would_take_shows_the_refusal(trader, thin_book):
    preview = place(trader, "SELL", "0.1", "59999.9", service=order_preview, time_in_force="GTX")

    assert (preview.chosen.accepted, preview.chosen.rejection_code) == (
        False,
        "POST_ONLY_REJECTED",
    )


# --- order_edit ------------------------------------------------------------------------------


@pytest.fixture
def resting(trader, thin_book):
    """A resting limit buy of 0.1 at 59,000: holds 5900 / 20 = 295 + 5900 x 0.0002 = 1.18."""
    order = place(trader, "BUY", "0.1", "59000")
    assert order.margin_held == D("296.18")
    return order


@pytest.mark.parametrize(
    ("quantity", "price", "held"),
    [
        # 0.2 x 58000 = 11600: 580 + 2.32
        ("0.2", "58000", D("582.32")),
        # 0.05 x 59000 = 2950: 147.5 + 0.59
        ("0.05", "59000", D("148.09")),
        # 0.1 x 59500 = 5950: 297.5 + 1.19
        ("0.1", "59500", D("298.69")),
    ],
)
def test_editing_a_resting_order_keeps_its_id_and_holds_the_new_margin(
    trader, resting, balanced_ledger, quantity, price, held
):
    edited = order_edit(user=trader, order_id=resting.pk, quantity=quantity, price=price)

    assert edited.pk == resting.pk
    assert order_figures(edited) == ("NEW", "GTC", D(quantity), D("0"), None, held)
    assert edited.price == D(price)
    # a hold, not a ledger movement: the wallet is untouched, what is available shrinks
    assert ledger_rows(order=edited) == []
    assert wallet_balance(trader) == D("10000")
    assert account_summary(user=trader).open_order_margin == held
    assert Order.objects.filter(user=trader).count() == 1


def test_an_edit_whose_new_price_crosses_the_book_executes_as_a_taker(
    trader, resting, balanced_ledger
):
    edited = order_edit(user=trader, order_id=resting.pk, quantity="0.1", price="60000.5")

    assert order_figures(edited) == (
        "FILLED",
        "GTC",
        D("0.1"),
        D("0.1"),
        D("60000.1"),
        D("0"),
    )
    assert fill_rows(edited) == [(D("60000.1"), D("0.1"), D("3.000005"), "TAKER")]
    assert wallet_balance(trader) == D("9996.999995")
    assert account_summary(user=trader).open_order_margin == D("0")


def test_a_post_only_edit_that_would_take_is_refused_and_the_order_left_as_it_was(
    trader, thin_book, unchanged
):
    order = place(trader, "BUY", "0.1", "59000", time_in_force="GTX")

    with pytest.raises(PostOnlyRejected), unchanged():
        order_edit(user=trader, order_id=order.pk, quantity="0.1", price="60000.1")


@pytest.mark.parametrize(
    ("quantity", "price", "error", "field"),
    [
        ("0.1", "59000.05", InvalidPrice, "price"),
        ("0.1", "-1", InvalidPrice, "price"),
        ("0.0001", "59000", InvalidInput, "quantity"),
        ("10", "59000", MarginInsufficient, "quantity"),
    ],
)
def test_an_edit_with_bad_figures_is_refused_and_changes_nothing(
    trader, resting, unchanged, quantity, price, error, field
):
    with pytest.raises(error) as refusal, unchanged():
        order_edit(user=trader, order_id=resting.pk, quantity=quantity, price=price)

    assert refusal.value.field == field


def test_an_edit_of_someone_elses_or_no_order_is_not_found(make_trader, trader, resting, unchanged):
    other = make_trader("mallory")

    with pytest.raises(OrderNotFound), unchanged():
        order_edit(user=other, order_id=resting.pk, quantity="0.1", price="58000")
    with pytest.raises(OrderNotFound), unchanged():
        order_edit(user=trader, order_id="nope", quantity="0.1", price="58000")


def test_an_edit_of_an_order_no_longer_open_or_not_a_limit_is_refused(trader, resting, unchanged):
    order_cancel(user=trader, order_id=resting.pk)
    stop = order_place(
        user=trader,
        symbol="BTCUSDT",
        side="SELL",
        quantity="0.1",
        order_type="STOP_MARKET",
        stop_price="50000",
    )

    with pytest.raises(OrderNotEditable) as canceled, unchanged():
        order_edit(user=trader, order_id=resting.pk, quantity="0.1", price="58000")
    with pytest.raises(OrderNotEditable) as conditional, unchanged():
        order_edit(user=trader, order_id=stop.pk, quantity="0.1", price="58000")

    assert canceled.value.code == "ORDER_NOT_EDITABLE"
    assert "CANCELED" in canceled.value.message
    assert "STOP_MARKET" in conditional.value.message
