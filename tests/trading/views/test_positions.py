"""The positions panel, /portfolio, closing positions (market and limit) and the isolated margin
pages: exact figures in the HTML, every refusal's status and message with proof that nothing
changed, safe redirects, and a bounded number of queries with many positions.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001; bracket 2 from 50,000 notional: MMR
0.5 %, maintenance amount 50), ETHUSDT 3,000 (tick 0.01; bracket 1: MMR 0.4 %), SOLUSDT 150;
default leverage 20, taker fee 0.05 %; every trader starts with 10,000 USDT.
"""

import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.builders import open_position, wallet_balance
from trading.models import LedgerEntry, Order, Position
from trading.selectors.positions import position_rows
from trading.services import leverage_set, mark_price_set, order_place

pytestmark = pytest.mark.django_db

D = Decimal
PORTFOLIO = "/portfolio/"


# --- helpers -------------------------------------------------------------------------------


def row_html(html: str, position) -> str:
    match = re.search(rf'<tr data-position="{position.pk}".*?</tr>', html, re.S)
    assert match, f"no row for position {position.pk}"
    return match.group(0)


def figures(html: str) -> dict[str, str]:
    """The text of every element marked data-figure="name" (up to its first child tag)."""
    return {
        name: " ".join(text.split())
        for name, text in re.findall(r'data-figure="([a-z-]+)"[^>]*>([^<]*)<', html)
    }


def error_shown(html: str) -> str:
    match = re.search(r'<div class="error-box" role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert match, "no error shown"
    return match.group(1).replace("&#x27;", "'")


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def margin_url(position, **query) -> str:
    url = reverse("position_margin", args=[position.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


# --- sign-in and methods ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", PORTFOLIO),
        ("post", "/positions/1/close/"),
        ("post", "/positions/1/close-limit/"),
        ("get", "/positions/1/margin/"),
        ("post", "/positions/1/margin/"),
    ],
)
def test_an_anonymous_visitor_is_sent_to_log_in(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(
    "name", ["position_close", "position_close_limit"], ids=["market", "limit"]
)
def test_closing_takes_only_a_post(signed_in, trader, name, unchanged):
    position = open_position(trader, "BUY", "1")

    with unchanged():
        response = signed_in.get(reverse(name, args=[position.pk]))

    assert response.status_code == 405


def test_every_position_form_carries_a_csrf_token_and_a_post_without_one_is_refused(
    trader, unchanged
):
    # given a trader with an isolated position, in a browser-like client that enforces CSRF
    position = open_position(trader, "BUY", "1")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(trader)

    # then each of the row's four forms (close at market, at limit, TP/SL, reverse) carries a token
    row = row_html(browser.get(PORTFOLIO).content.decode(), position)
    assert row.count('<form method="post"') == 4
    assert row.count('name="csrfmiddlewaretoken"') == 4

    # and a close without the token is refused, nothing closed
    with unchanged():
        response = browser.post(reverse("position_close", args=[position.pk]))
    assert response.status_code == 403


# --- /portfolio and the positions partial ---------------------------------------------------


def test_the_portfolio_shows_the_account_and_every_symbols_positions_with_exact_figures(
    signed_in, trader, make_trader
):
    # given an isolated BTC long of 1 at 60,000, 20x: margin 3,000, fee 30
    btc = open_position(trader, "BUY", "1")
    # an isolated ETH short of 2 at 3,000, 20x: margin 300, fee 3
    eth = open_position(trader, "SELL", "2", symbol="ETHUSDT")
    # a cross SOL long of 10 at 150, 10x: fee 0.75 (wallet 10,000 - 3,030 - 303 - 0.75)
    sol = open_position(trader, "BUY", "10", symbol="SOLUSDT", margin_mode="CROSS", leverage=10)
    # and someone else's position, which alice must not see
    bob = make_trader("bob")
    bobs = open_position(bob, "BUY", "0.5")
    # and BTC marked up to 61,000
    mark_price_set(symbol="BTCUSDT", price="61000")

    # when alice opens /portfolio
    response = signed_in.get(PORTFOLIO)

    # then the account panel shows her wallet: 10,000 - 3,030 - 303 - 0.75
    assert response.status_code == 200
    html = response.content.decode()
    assert figures(html)["wallet"] == "6,666.25 USDT"
    # and her three positions, one row each, by symbol
    rows = re.findall(r'<tr data-position="(\d+)" data-symbol="(\w+)" data-mode="(\w+)"', html)
    assert rows == [
        (str(btc.pk), "BTCUSDT", "ISOLATED"),
        (str(eth.pk), "ETHUSDT", "ISOLATED"),
        (str(sol.pk), "SOLUSDT", "CROSS"),
    ]
    assert f'data-position="{bobs.pk}"' not in html

    # the BTC row: LP = (3,000 + 50 - 60,000) / (0.005 - 1) = 57,236.1809..., a long's rounded
    # up to the tick; uPnL +1,000, ROE 1,000 / 3,000; ratio MM / (margin + uPnL) with
    # MM = 61,000 x 0.005 - 50 = 255: 255 / 4,000 = 6.375 %
    btc_row = row_html(html, btc)
    assert figures(btc_row) == {
        "mode": "",
        "side": "",
        "size": "1.000",
        "entry-price": "60,000.0",
        "mark-price": "61,000.0",
        "liquidation-price": "57,236.2",
        "margin": "3,000.00",
        "margin-ratio": "6.38 %",
        "unrealized-pnl": "+1,000.00",
        "roe": "(+33.33 %)",
        "take-profit": "—",
        "stop-loss": "—",
        "adl": "",
    }
    # alone in profit on its side: first in the auto-deleveraging queue, four lights
    assert btc_row.count('class="adl-light lit"') == 4
    assert "Binance USD-M rules" in btc_row
    assert '<span class="badge isolated">Isolated</span>' in btc_row
    assert '<span class="badge long">Long</span>' in btc_row
    assert 'class="num profit"' in btc_row
    # the ETH short: LP = (300 + 2 x 3,000) / (2 x 0.004 + 2) = 3,137.4501..., a short's rounded
    # down; ratio 24 / 300
    eth_row = row_html(html, eth)
    assert figures(eth_row)["liquidation-price"] == "3,137.45"
    assert figures(eth_row)["margin"] == "300.00"
    assert figures(eth_row)["margin-ratio"] == "8.00 %"
    assert '<span class="badge short">Short</span>' in eth_row
    # the SOL cross long: no mark can liquidate it (its wallet covers far more than 1,500), its
    # margin is the initial margin at the mark (1,500 / 10), its ratio the account's cross one:
    # MM 1,500 x 0.005 = 7.5 over the cross margin balance 6,666.25
    sol_row = row_html(html, sol)
    assert figures(sol_row)["liquidation-price"] == "—"
    assert figures(sol_row)["size"] == "10"
    assert figures(sol_row)["margin"] == "150.00"
    assert figures(sol_row)["margin-ratio"] == "0.11 %"
    assert '<span class="badge cross">Cross</span>' in sol_row

    # each symbol links to its trade page; every row has both closes and the mode hint; only
    # isolated rows link to the margin page
    for position, row in ((btc, btc_row), (eth, eth_row), (sol, sol_row)):
        symbol = position.instrument.symbol
        assert f'<a href="{reverse("trade", args=[symbol])}">{symbol}</a>' in row
        assert f'action="{reverse("position_close", args=[position.pk])}"' in row
        assert f'action="{reverse("position_close_limit", args=[position.pk])}"' in row
        assert f'<label for="close-price-{position.pk}">Close at limit price</label>' in row
        assert "To change its margin mode, close it and reopen it in the other mode." in row
    assert f'href="{margin_url(btc, next="/portfolio/")}"' in btc_row
    assert f'href="{margin_url(eth, next="/portfolio/")}"' in eth_row
    assert "Add/remove margin" not in sol_row
    # no control offers to change a position's mode
    assert 'name="margin_mode"' not in html
    # the table is cards on a phone (tests/browser/test_phone_layout.py), inside its wrapper,
    # and the stylesheet is linked
    assert '<div class="table-wrap">\n    <table class="positions cards">' in html
    assert '<link rel="stylesheet" href="/static/css/positions.css">' in html


def test_a_cross_and_an_isolated_position_on_one_symbol_are_two_rows(signed_in, trader):
    # given on BTCUSDT a cross short of 0.1 and an isolated long of 1
    cross = open_position(trader, "SELL", "0.1", margin_mode="CROSS")
    isolated = open_position(trader, "BUY", "1")

    html = signed_in.get(PORTFOLIO).content.decode()

    # then Cross comes before Isolated, each with its own figures
    rows = re.findall(r'<tr data-position="(\d+)" data-symbol="BTCUSDT" data-mode="(\w+)"', html)
    assert rows == [(str(cross.pk), "CROSS"), (str(isolated.pk), "ISOLATED")]
    assert figures(row_html(html, cross))["size"] == "0.100"
    assert figures(row_html(html, isolated))["liquidation-price"] == "57,236.2"


def test_the_portfolio_without_positions_says_so(signed_in):
    html = signed_in.get(PORTFOLIO).content.decode()

    assert "No open positions." in html
    assert '<table class="positions">' not in html
    assert figures(html)["wallet"] == "10,000.00 USDT"


def test_position_rows_filters_by_symbol_but_values_cross_positions_account_wide(trader):
    # given cross longs on BTC (1 at 60,000) and ETH (10 at 3,000), and an isolated BTC short
    open_position(trader, "BUY", "1", margin_mode="CROSS")
    eth = open_position(trader, "BUY", "10", symbol="ETHUSDT", margin_mode="CROSS")
    open_position(trader, "SELL", "0.1")

    # when the trade page asks for ETHUSDT only
    rows = position_rows(user=trader, symbol="ETHUSDT")

    # then only the ETH position, with the liquidation price the BTC cross position shapes
    assert [row.position.pk for row in rows] == [eth.pk]
    (everywhere,) = [row for row in position_rows(user=trader) if row.position.pk == eth.pk]
    assert rows[0].figures.liquidation_price == everywhere.figures.liquidation_price
    assert rows[0].liquidation_price_display == everywhere.liquidation_price_display
    assert position_rows(user=trader, symbol="SOLUSDT") == []


def test_position_rows_reads_a_fixed_number_of_queries(trader, django_assert_num_queries):
    # given six positions on three symbols, both modes
    for symbol, quantity in (("BTCUSDT", "0.1"), ("ETHUSDT", "1"), ("SOLUSDT", "10")):
        open_position(trader, "BUY", quantity, symbol=symbol)
        open_position(trader, "SELL", quantity, symbol=symbol, margin_mode="CROSS")

    # the account in one statement (wallet, open order margin, marks and positions, whose
    # instruments and brackets are this process's copy), the other modes' leverages (the
    # twins): the same for 1 or 100 positions; and, on a cold cache, the ADL queues of their
    # sides: the sides' positions, then their holders' positions, brackets, marks, wallets and
    # order margin; and their take-profits and stop-losses
    with django_assert_num_queries(9):
        rows = position_rows(user=trader)
    assert len(rows) == 6


def test_the_portfolio_reads_as_many_queries_for_six_positions_as_for_three(
    signed_in, trader, django_assert_max_num_queries
):
    # given an isolated position on each of three symbols
    symbols = (("BTCUSDT", "0.1"), ("ETHUSDT", "1"), ("SOLUSDT", "10"))
    for symbol, quantity in symbols:
        open_position(trader, "BUY", quantity, symbol=symbol)
    with CaptureQueriesContext(connection) as three:
        signed_in.get(PORTFOLIO)

    # when a cross position joins each of them
    for symbol, quantity in symbols:
        open_position(trader, "SELL", quantity, symbol=symbol, margin_mode="CROSS")

    # then the page reads no more than before: no query per position. (The bound: the session
    # and its user; the account, each time in one statement, for the account panel and for the
    # positions; six for the ADL queues, on a cold cache; the twins' leverages, the take-profits
    # and stop-losses, the notices.)
    with django_assert_max_num_queries(13) as six:
        response = signed_in.get(PORTFOLIO)
    assert response.content.decode().count("<tr data-position=") == 6
    assert len(six) == len(three)


# --- closing at market ----------------------------------------------------------------------


def test_closing_at_market_closes_the_position_and_says_so(signed_in, trader, balanced_ledger):
    # given an isolated BTC long of 1 at 60,000 (wallet 10,000 - 3,030) and the mark at 61,000
    position = open_position(trader, "BUY", "1")
    mark_price_set(symbol="BTCUSDT", price="61000")

    # when the trader presses Close at market
    response = signed_in.post(reverse("position_close", args=[position.pk]))

    # then the position is closed: margin 3,000 + PnL 1,000 - fee 30.5 back to the wallet
    assert response.status_code == 302
    assert response.url == PORTFOLIO
    position.refresh_from_db()
    assert position.status == "CLOSED"
    assert wallet_balance(trader) == D("10939.5")
    order = Order.objects.filter(user=trader).order_by("pk").last()
    assert (order.order_type, order.side, order.reduce_only, order.status) == (
        "MARKET", "SELL", True, "FILLED",
    )  # fmt: skip
    assert messages_of(response) == [
        "Closed your BTCUSDT Isolated long of 1.000 at market, at 61,000.0."
    ]


def test_closing_a_cross_short_at_market_buys_it_back(signed_in, trader, balanced_ledger):
    position = open_position(trader, "SELL", "0.5", margin_mode="CROSS")

    response = signed_in.post(
        reverse("position_close", args=[position.pk]), {"next": "/trade/BTCUSDT/"}
    )

    assert response.url == "/trade/BTCUSDT/"
    position.refresh_from_db()
    assert position.status == "CLOSED"
    assert messages_of(response) == [
        "Closed your BTCUSDT Cross short of 0.500 at market, at 60,000.0."
    ]


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/steal", "//evil.example/", "javascript:alert(1)", ""],
)
def test_closing_never_redirects_off_site(signed_in, trader, next_url):
    position = open_position(trader, "BUY", "1")

    response = signed_in.post(reverse("position_close", args=[position.pk]), {"next": next_url})

    assert response.status_code == 302
    assert response.url == PORTFOLIO


def test_closing_someone_elses_or_an_unknown_position_is_404_and_changes_nothing(
    signed_in, make_trader, unchanged
):
    # given bob's open position
    bobs = open_position(make_trader("bob"), "BUY", "1")

    for position_id in (bobs.pk, 999999):
        for name, data in (("position_close", {}), ("position_close_limit", {"price": "61000"})):
            # when alice tries to close it; then 404, the message, nothing changed
            with unchanged():
                response = signed_in.post(reverse(name, args=[position_id]), data)
            assert response.status_code == 404
            html = response.content.decode()
            assert error_shown(html) == (
                "Position not found: none of your positions has that number."
            )
            assert "<h1>Portfolio</h1>" in html


def test_closing_an_already_closed_position_is_refused(signed_in, trader, unchanged):
    position = open_position(trader, "BUY", "1")
    signed_in.post(reverse("position_close", args=[position.pk]))

    with unchanged():
        response = signed_in.post(reverse("position_close", args=[position.pk]))

    assert response.status_code == 404
    assert error_shown(response.content.decode()) == (
        "This BTCUSDT position is no longer open (closed)."
    )


# --- closing at a limit price ----------------------------------------------------------------


def test_closing_at_a_limit_price_places_a_resting_reduce_only_order(
    signed_in, trader, balanced_ledger
):
    # given an isolated BTC long of 1
    position = open_position(trader, "BUY", "1")

    # when the trader asks to close it at 62,000 (above the mark: the order rests)
    response = signed_in.post(
        reverse("position_close_limit", args=[position.pk]),
        {"price": "62000", "next": "/trade/BTCUSDT/"},
    )

    # then a reduce-only LIMIT SELL of the whole size waits, on the position's mode
    assert response.status_code == 302
    assert response.url == "/trade/BTCUSDT/"
    order = Order.objects.filter(user=trader).order_by("pk").last()
    assert (
        order.order_type, order.side, order.quantity, order.price, order.margin_mode,
        order.reduce_only, order.status, order.margin_held,
    ) == ("LIMIT", "SELL", D("1"), D("62000"), "ISOLATED", True, "NEW", D("0"))  # fmt: skip
    position.refresh_from_db()
    assert position.status == "OPEN"
    assert messages_of(response) == [
        "Placed a reduce-only limit order to sell 1.000 BTCUSDT at 62,000.0: it closes your "
        "BTCUSDT Isolated long when the mark reaches that price. You can cancel it under History."
    ]


def test_a_limit_price_through_the_market_closes_the_position_at_once(
    signed_in, trader, balanced_ledger
):
    # given a cross short of 0.2 at 60,000; a buy limit at 60,500 is already through the mark
    position = open_position(trader, "SELL", "0.2", margin_mode="CROSS")

    response = signed_in.post(
        reverse("position_close_limit", args=[position.pk]), {"price": "60500"}
    )

    assert response.url == PORTFOLIO
    position.refresh_from_db()
    assert position.status == "CLOSED"
    assert messages_of(response) == [
        "Your limit price was already through the market: your BTCUSDT Cross short of 0.200 "
        "closed at once, at 60,000.0."
    ]


@pytest.mark.parametrize(
    ("price", "message"),
    [
        pytest.param("", "A LIMIT order needs a price.", id="empty"),
        pytest.param("-1", "Price must be greater than 0.", id="negative"),
        pytest.param("0", "Price must be greater than 0.", id="zero"),
        pytest.param(
            "61000.05", "Price 61000.05 is not a multiple of the tick size 0.1.", id="off-tick"
        ),
        pytest.param("NaN", "Price must be a finite number.", id="nan"),
        pytest.param("1e16", "Price is too large.", id="huge"),
        pytest.param("abc", "Price must be a number, not 'abc'.", id="text"),
    ],
)
def test_a_bad_limit_price_is_shown_inline_and_changes_nothing(
    signed_in, trader, unchanged, price, message
):
    position = open_position(trader, "BUY", "1")

    with unchanged():
        response = signed_in.post(
            reverse("position_close_limit", args=[position.pk]),
            {"price": price, "next": "/trade/BTCUSDT/"},
        )

    # then 400, the message above the panel, the typed price kept in its row's input
    assert response.status_code == 400
    html = response.content.decode()
    assert error_shown(html) == message
    row = row_html(html, position)
    assert f'value="{price}" aria-invalid="true" aria-describedby="positions-error"' in row
    # and the forms still send the trader back where they came from
    assert '<input type="hidden" name="next" value="/trade/BTCUSDT/">' in row


# --- isolated margin: the page ---------------------------------------------------------------


def test_the_margin_page_shows_the_margin_liquidation_price_and_both_maxima(signed_in, trader):
    # given an isolated BTC long of 1 at 60,000 (margin 3,000, wallet 6,970), mark 61,000
    position = open_position(trader, "BUY", "1")
    mark_price_set(symbol="BTCUSDT", price="61000")

    response = signed_in.get(margin_url(position, next="/trade/BTCUSDT/"))

    # then: LP 57,236.2; addable = the available balance 6,970; removable = min(3,000 - MM 255,
    # 3,000 + uPnL 1,000 - 61,000 / 20) = 950
    assert response.status_code == 200
    html = response.content.decode()
    shown = figures(html)
    assert (shown["margin"], shown["liquidation-price"]) == ("3,000.00 USDT", "57,236.2")
    assert (shown["max-addable"], shown["max-removable"]) == ("6,970 USDT", "950 USDT")
    assert (shown["size"], shown["mark-price"], shown["leverage"]) == (
        "1.000 BTC",
        "61,000.0",
        "20x",
    )
    # and the form: add/remove, a labelled amount, Review, back to where the trader came from
    assert '<input type="radio" name="change" value="add" checked>' in html
    assert '<label for="margin-amount">Amount (USDT)</label>' in html
    assert '<button type="submit" name="action" value="review" class="primary">' in html
    assert '<input type="hidden" name="next" value="/trade/BTCUSDT/">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_at_entry_nothing_is_removable(signed_in, trader):
    # the initial margin at the mark is the whole margin: min(3,000 - 250, 3,000 - 3,000) = 0
    position = open_position(trader, "BUY", "1")

    shown = figures(signed_in.get(margin_url(position)).content.decode())

    assert shown["max-removable"] == "0 USDT"


def test_a_cross_position_has_no_margin_page(signed_in, trader, unchanged):
    position = open_position(trader, "BUY", "1", margin_mode="CROSS")

    for data in (None, {"action": "confirm", "change": "add", "amount": "10"}):
        with unchanged():
            response = (
                signed_in.post(margin_url(position), data)
                if data
                else signed_in.get(margin_url(position))
            )
        assert response.status_code == 400
        html = response.content.decode()
        assert error_shown(html) == (
            "This BTCUSDT position is Cross: cross positions have no margin of their own (your "
            "whole cross margin balance backs them), so there is no margin to add or remove. To "
            "give it its own margin, close it and reopen it in Isolated mode."
        )
        assert 'data-error="NOT_ISOLATED"' in html
        assert 'name="amount"' not in html


def test_someone_elses_margin_page_is_404_and_changes_nothing(signed_in, make_trader, unchanged):
    bobs = open_position(make_trader("bob"), "BUY", "1")
    bobs_margin = bobs.isolated_margin

    with unchanged():
        got = signed_in.get(margin_url(bobs))
        posted = signed_in.post(
            margin_url(bobs), {"action": "confirm", "change": "remove", "amount": "1"}
        )

    for response in (got, posted):
        assert response.status_code == 404
        html = response.content.decode()
        assert error_shown(html) == "Position not found: none of your positions has that number."
        assert "3,000" not in html
    bobs.refresh_from_db()
    assert bobs.isolated_margin == bobs_margin


# --- isolated margin: review and confirm -----------------------------------------------------


def test_reviewing_an_addition_shows_the_new_liquidation_price_and_changes_nothing(
    signed_in, trader, unchanged
):
    position = open_position(trader, "BUY", "1")

    with unchanged():
        response = signed_in.post(
            margin_url(position),
            {"action": "review", "change": "add", "amount": "500", "next": "/trade/BTCUSDT/"},
        )

    # then margin 3,500 and LP = (3,500 + 50 - 60,000) / (0.005 - 1) = 56,733.668..., up to the
    # tick; the wallet would fall from 6,970 to 6,470
    assert response.status_code == 200
    html = response.content.decode()
    shown = figures(html)
    assert (shown["margin"], shown["new-margin"]) == ("3,000.00", "3,500.00")
    assert (shown["liquidation-price"], shown["new-liquidation-price"]) == (
        "57,236.2", "56,733.7",
    )  # fmt: skip
    assert (shown["wallet"], shown["new-wallet"]) == ("6,970.00", "6,470.00")
    assert "<h1>Add 500 USDT to this position?</h1>" in html
    # and the Confirm form carries the change
    assert '<input type="hidden" name="change" value="add">' in html
    assert '<input type="hidden" name="amount" value="500">' in html
    assert '<input type="hidden" name="next" value="/trade/BTCUSDT/">' in html
    assert '<button type="submit" name="action" value="confirm" class="primary">' in html


def test_confirming_an_addition_moves_the_margin_and_the_liquidation_price(
    signed_in, trader, balanced_ledger
):
    position = open_position(trader, "BUY", "1")

    response = signed_in.post(
        margin_url(position),
        {"action": "confirm", "change": "add", "amount": "500", "next": "/trade/BTCUSDT/"},
    )

    assert response.status_code == 302
    assert response.url == "/trade/BTCUSDT/"
    position.refresh_from_db()
    assert position.isolated_margin == D("3500")
    assert wallet_balance(trader) == D("6470")
    entry = LedgerEntry.objects.order_by("pk").last()
    assert (entry.kind, entry.amount, entry.memo) == ("ISOLATED_MARGIN", D("500"), "margin added")
    assert messages_of(response) == [
        "Added margin to your BTCUSDT Isolated long: its margin is now 3,500.00 USDT "
        "(was 3,000.00)."
    ]
    # and the panel shows the new liquidation price
    html = signed_in.get(PORTFOLIO).content.decode()
    assert figures(row_html(html, position))["liquidation-price"] == "56,733.7"
    assert figures(row_html(html, position))["margin"] == "3,500.00"


def test_removing_the_maximum_is_reviewed_then_done(signed_in, trader, unchanged, balanced_ledger):
    # given the long with the mark at 61,000: 950 removable
    position = open_position(trader, "BUY", "1")
    mark_price_set(symbol="BTCUSDT", price="61000")

    # when the trader reviews removing 950
    with unchanged():
        review = signed_in.post(
            margin_url(position), {"action": "review", "change": "remove", "amount": "950"}
        )

    # then margin 2,050 and LP = (2,050 + 50 - 60,000) / (0.005 - 1) = 58,190.954..., up to
    # 58,191.0; the wallet would rise from 6,970 to 7,920
    html = review.content.decode()
    assert "<h1>Remove 950 USDT from this position?</h1>" in html
    shown = figures(html)
    assert (shown["new-margin"], shown["new-liquidation-price"]) == ("2,050.00", "58,191.0")
    assert shown["new-wallet"] == "7,920.00"

    # when they confirm; then it is done
    response = signed_in.post(
        margin_url(position), {"action": "confirm", "change": "remove", "amount": "950"}
    )
    assert response.url == PORTFOLIO
    position.refresh_from_db()
    assert position.isolated_margin == D("2050")
    assert wallet_balance(trader) == D("7920")
    assert messages_of(response) == [
        "Removed margin from your BTCUSDT Isolated long: its margin is now 2,050.00 USDT "
        "(was 3,000.00)."
    ]
    assert figures(signed_in.get(margin_url(position)).content.decode())["max-removable"] == (
        "0 USDT"
    )


@pytest.mark.parametrize("action", ["review", "confirm"])
@pytest.mark.parametrize(
    ("change", "amount", "status", "message"),
    [
        pytest.param(
            "remove", "950.00000001", 409,
            "You can remove at most 950 USDT from this position.", id="above-removable",
        ),
        pytest.param(
            "add", "6970.00000001", 409,
            "You can add at most 6,970 USDT (your available balance).", id="above-addable",
        ),
        pytest.param("add", "0", 400, "The amount must be greater than 0.", id="zero"),
        pytest.param("remove", "-5", 400, "The amount must be greater than 0.", id="negative"),
        pytest.param("add", "abc", 400, "Amount must be a number, not 'abc'.", id="text"),
        pytest.param("add", "", 400, "Amount must be a number.", id="empty"),
        pytest.param("add", "NaN", 400, "Amount must be a finite number.", id="nan"),
        pytest.param("add", "1e16", 400, "Amount is too large.", id="huge"),
        pytest.param(
            "double", "10", 400, "Choose whether to add or remove margin.", id="bad-change"
        ),
    ],
)  # fmt: skip
def test_a_refused_margin_change_is_shown_inline_and_changes_nothing(
    signed_in, trader, unchanged, action, change, amount, status, message
):
    # given the long with the mark at 61,000: 6,970 addable, 950 removable
    position = open_position(trader, "BUY", "1")
    mark_price_set(symbol="BTCUSDT", price="61000")

    with unchanged():
        response = signed_in.post(
            margin_url(position),
            {"action": action, "change": change, "amount": amount, "next": "/trade/BTCUSDT/"},
        )

    # then the form again, with the message and the amount typed, and the figures
    assert response.status_code == status
    html = response.content.decode()
    assert error_shown(html) == message
    assert f'name="amount" value="{amount}"' in html
    assert figures(html)["max-removable"] == "950 USDT"
    assert '<input type="hidden" name="next" value="/trade/BTCUSDT/">' in html


def test_a_margin_post_without_review_or_confirm_is_refused(signed_in, trader, unchanged):
    position = open_position(trader, "BUY", "1")

    with unchanged():
        response = signed_in.post(margin_url(position), {"change": "add", "amount": "10"})

    assert response.status_code == 400
    assert error_shown(response.content.decode()) == "Review the change, then confirm it."


def test_the_margin_page_reads_a_bounded_number_of_queries(
    signed_in, trader, django_assert_max_num_queries
):
    # given six positions on three symbols, both modes
    for symbol, quantity in (("BTCUSDT", "0.1"), ("ETHUSDT", "1"), ("SOLUSDT", "10")):
        open_position(trader, "BUY", quantity, symbol=symbol)
        open_position(trader, "SELL", quantity, symbol=symbol, margin_mode="CROSS")
    position = Position.objects.get(
        user=trader, instrument__symbol="ETHUSDT", margin_mode="ISOLATED"
    )

    with django_assert_max_num_queries(28):
        response = signed_in.get(margin_url(position))
    assert response.status_code == 200


def test_a_close_at_limit_order_is_cancelled_when_the_position_closes_at_market(signed_in, trader):
    # given an isolated long with a resting close-at-limit order at 70,000
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    position = Position.objects.get(user=trader, status="OPEN")
    signed_in.post(f"/positions/{position.pk}/close-limit/", {"price": "70000"})
    resting = Order.objects.get(user=trader, reduce_only=True)
    assert resting.status == "NEW"

    # when the position is closed at market
    signed_in.post(f"/positions/{position.pk}/close/")

    # then the limit order went with it: it can never close a later position
    resting.refresh_from_db()
    assert resting.status == "CANCELED"


def test_confirming_a_margin_change_twice_applies_it_once(signed_in, trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    position = Position.objects.get(user=trader, status="OPEN")
    review = signed_in.post(
        f"/positions/{position.pk}/margin/", {"action": "review", "change": "add", "amount": "100"}
    )
    assert 'name="expected_margin" value="300"' in review.content.decode()
    confirm = {"action": "confirm", "change": "add", "amount": "100", "expected_margin": "300"}

    first = signed_in.post(f"/positions/{position.pk}/margin/", confirm)
    second = signed_in.post(f"/positions/{position.pk}/margin/", confirm)

    assert first.status_code == 302
    assert second.status_code == 409
    assert (
        "margin is now 400 USDT, not the 300 USDT you reviewed. Review the change again."
        in second.content.decode()
    )
    position.refresh_from_db()
    assert position.isolated_margin == Decimal("400")


def test_change_the_amount_returns_to_the_form_as_it_was_typed(signed_in, trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    position = Position.objects.get(user=trader, status="OPEN")

    page = signed_in.get(f"/positions/{position.pk}/margin/?change=remove&amount=12.5")

    html = page.content.decode()
    assert 'name="change" value="remove" checked' in html
    assert 'value="12.5"' in html


@pytest.mark.parametrize("url", [PORTFOLIO, "/trade/BTCUSDT/"])
def test_the_account_panel_says_the_wallet_balance_leaves_out_isolated_margin(
    signed_in, trader, url
):
    # given an isolated position of 0.1 BTC at 20x: 300 of margin out of the wallet, 3 of fee
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")

    html = signed_in.get(url).content.decode()

    # then the wallet shows 10,000 - 300 - 3, and says why it is not Binance's figure
    assert '<dd data-figure="wallet">9,697.00 USDT</dd>' in html
    assert (
        '<p class="hint" id="wallet-note">Wallet balance leaves out the margin of isolated '
        "positions (Binance's includes it).</p>"
    ) in html
