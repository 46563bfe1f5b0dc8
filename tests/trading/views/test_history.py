"""The history pages and the open-orders panel: cancelling an order (and every refusal, with a
proof that nothing changed), the order and trade history, the ledger and its CSV, the liquidation
list and receipts, each with its exact figures and a bounded number of queries.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001), ETHUSDT 3,000 (tick 0.01, step 0.001),
SOLUSDT 150 (tick 0.01, step 1); taker fee 0.05 %, maker 0.02 %. BTCUSDT and ETHUSDT brackets:
notional below 50,000 -> MMR 0.004, cum 0; 50,000 up to 600,000 -> MMR 0.005, cum 50. SOLUSDT
below 5,000 -> MMR 0.005, cum 0. Every trader starts with 10,000 USDT.
"""

import csv
import html
import io
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from accounts.services import superuser_create
from tests.builders import isolated_btc_long_liquidated, market_order, wallet_balance
from trading.models import LedgerEntry, LiquidationEvent, Notification
from trading.selectors.history import open_orders
from trading.services import (
    funding_settle,
    leverage_set,
    mark_price_set,
    order_place,
    sweep_run,
)
from trading.services.instruments import instrument_update

pytestmark = pytest.mark.django_db

D = Decimal
# what every page of a signed-in trader holding positions on one instrument costs besides its
# own queries: session, user, the banner's notifications, and base.html's cross-ratio warning
# (wallet, positions, marks, that instrument's brackets, margin held by orders)
BASE_QUERIES = 8
# a paginated page's own: the count and the rows
PAGE_QUERIES = 2


# --- helpers -------------------------------------------------------------------------------


def page_text(response) -> str:
    """The page's text as read: each tag a space, entities decoded, whitespace collapsed; the
    formulas' minus and multiplication signs read as "-" and "x", so that tests spell them
    without look-alike characters."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())
    return text.replace("\N{MINUS SIGN}", "-").replace("\N{MULTIPLICATION SIGN}", "x")


def table_rows(response, name: str) -> list[tuple[str, list[str]]]:
    """Each ``<tr data-{name}="id">`` of the page, in order: its id and its cells' text."""
    content = response.content.decode()
    return [
        (
            key,
            [
                " ".join(html.unescape(strip_tags(cell)).split())
                for cell in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)
            ],
        )
        for key, body in re.findall(rf'<tr data-{name}="([^"]+)">(.*?)</tr>', content, re.S)
    ]


def shown(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def limit_order(user, side, quantity, price, *, symbol="BTCUSDT", margin_mode="CROSS", **more):
    return order_place(
        user=user, symbol=symbol, side=side, quantity=quantity, order_type="LIMIT",
        price=price, margin_mode=margin_mode, **more,
    )  # fmt: skip


def cancel(client, order_id, **data):
    return client.post(reverse("order_cancel", args=[order_id]), data)


# --- signing in ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["order_history", "trade_history", "ledger", "ledger_csv", "liquidation_list"]
)
def test_anonymous_users_are_sent_to_the_login_page(client, name):
    url = reverse(name)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_an_anonymous_cancel_is_sent_to_the_login_page_and_changes_nothing(
    client, trader, unchanged
):
    order = limit_order(trader, "BUY", "1", "50000")
    url = reverse("order_cancel", args=[order.pk])

    with unchanged():
        response = client.post(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_an_anonymous_receipt_is_sent_to_the_login_page(client, trader):
    event = isolated_btc_long_liquidated(trader)
    url = reverse("liquidation_detail", args=[event.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


# --- cancelling an order -------------------------------------------------------------------


def test_cancel_frees_the_orders_margin_and_goes_back_to_next(signed_in, trader, balanced_ledger):
    # given a resting cross limit buy of 1 BTC at 50,000: it holds 50000 / 20 + 50000 x 0.0002
    order = limit_order(trader, "BUY", "1", "50000")
    assert order.margin_held == D("2510")

    # when it is canceled from the ledger page
    response = cancel(signed_in, order.pk, next="/history/ledger/?kind=FEE")

    # then the order is canceled, holds nothing, and the user is back where they were, told so
    assert response.status_code == 302
    assert response.url == "/history/ledger/?kind=FEE"
    order.refresh_from_db()
    assert (order.status, order.margin_held) == ("CANCELED", D(0))
    assert wallet_balance(trader) == D("10000")
    back = signed_in.get(response.url)
    assert f"Order {order.pk} canceled (BTCUSDT limit buy)." in page_text(back)


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/steal", "//evil.example/", "", "javascript:alert(1)"]
)
def test_cancel_with_a_next_off_this_site_goes_to_the_order_history(signed_in, trader, next_url):
    order = limit_order(trader, "BUY", "1", "50000")

    response = cancel(signed_in, order.pk, next=next_url)

    assert response.status_code == 302
    assert response.url == reverse("order_history")
    order.refresh_from_db()
    assert order.status == "CANCELED"


def test_cancelling_another_users_order_is_not_found_and_changes_nothing(
    signed_in, make_trader, unchanged
):
    # given bob's resting order
    bob = make_trader("bob")
    order = limit_order(bob, "BUY", "1", "50000")

    # when alice tries to cancel it
    with unchanged():
        response = cancel(signed_in, order.pk, next="/history/ledger/")

    # then she is told it does not exist (not that it is someone else's), on her order history
    assert response.status_code == 404
    assert '<li class="error">Order not found.</li>' in response.content.decode()
    assert table_rows(response, "order") == []
    order.refresh_from_db()
    assert order.status == "NEW"


def test_cancelling_an_unknown_order_is_not_found_and_changes_nothing(signed_in, trader, unchanged):
    order = limit_order(trader, "BUY", "1", "50000")

    with unchanged():
        response = cancel(signed_in, order.pk + 1000)

    assert response.status_code == 404
    assert '<li class="error">Order not found.</li>' in response.content.decode()
    # the order history is shown with the refusal, the user's open order still cancelable
    assert [key for key, _ in table_rows(response, "order")] == [str(order.pk)]


@pytest.mark.parametrize("status", ["FILLED", "CANCELED"])
def test_cancelling_an_order_that_is_not_open_is_refused_and_changes_nothing(
    signed_in, trader, unchanged, status
):
    if status == "FILLED":
        order = market_order(trader, "BUY", "0.1")
    else:
        order = limit_order(trader, "BUY", "1", "50000")
        cancel(signed_in, order.pk)

    with unchanged():
        response = cancel(signed_in, order.pk)

    assert response.status_code == 409
    assert (
        f'<li class="error">Order {order.pk} is {status}; only open orders can be canceled.</li>'
    ) in response.content.decode()


def test_cancel_refuses_a_get_and_changes_nothing(signed_in, trader, unchanged):
    order = limit_order(trader, "BUY", "1", "50000")

    with unchanged():
        response = signed_in.get(reverse("order_cancel", args=[order.pk]))

    assert response.status_code == 405


def test_cancel_without_a_csrf_token_is_refused_and_changes_nothing(trader, unchanged):
    order = limit_order(trader, "BUY", "1", "50000")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(trader)

    with unchanged():
        response = browser.post(reverse("order_cancel", args=[order.pk]))

    assert response.status_code == 403


def test_the_cancel_form_of_the_order_history_carries_a_csrf_token_and_works(trader):
    # given a browser that enforces CSRF, on the order history with a resting order
    order = limit_order(trader, "BUY", "1", "50000")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(trader)
    page = browser.get(reverse("order_history"), {"page": "1"}).content.decode()
    form = re.search(
        rf'<form method="post" action="/orders/{order.pk}/cancel/"[^>]*>(.*?)</form>', page, re.S
    ).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    next_url = re.search(r'name="next" value="([^"]+)"', form).group(1)
    assert html.unescape(next_url) == "/history/orders/?page=1"
    assert re.search(r'<button type="submit" aria-label="Cancel order \d+: BTCUSDT', form)

    # when the form is submitted as the browser would
    response = browser.post(
        f"/orders/{order.pk}/cancel/",
        {"csrfmiddlewaretoken": token, "next": html.unescape(next_url)},
    )

    # then the order is canceled and the user is back on that page
    assert (response.status_code, response.url) == (302, "/history/orders/?page=1")
    order.refresh_from_db()
    assert order.status == "CANCELED"


# --- the open-orders panel -----------------------------------------------------------------


def render_panel(user, path="/trade/BTCUSDT/?tab=orders"):
    request = RequestFactory().get(path)
    request.user = user
    return render_to_string(
        "trading/partials/open_orders.html",
        {"open_orders": open_orders(user=user)},
        request=request,
    )


def test_the_open_orders_panel_lists_open_orders_with_a_cancel_form_back_to_the_page(
    trader, make_trader, django_assert_max_num_queries
):
    # given alice's open orders (a cross limit buy, an isolated limit sell, a reduce-only stop),
    # one of hers already filled, and bob's open order
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED", leverage=10)
    buy = limit_order(trader, "BUY", "0.5", "50000")
    sell = limit_order(trader, "SELL", "2", "3500.5", symbol="ETHUSDT", margin_mode="ISOLATED")
    market_order(trader, "BUY", "0.1")
    stop = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", order_type="STOP_MARKET",
        stop_price="55000", margin_mode="CROSS", reduce_only=True,
    )  # fmt: skip
    limit_order(make_trader("bob"), "BUY", "1", "50000")

    # when the panel is rendered (one query for its rows, none per row)
    with django_assert_max_num_queries(1):
        panel = render_panel(trader)

    # then it shows alice's open orders, newest first, each with a cancel form back to the page,
    # and each limit order an edit form (quantity, price)
    rows = re.findall(r'<tr data-order="(\d+)">(.*?)</tr>', panel, re.S)
    assert [int(pk) for pk, _ in rows] == [stop.pk, sell.pk, buy.pk]
    cells = {
        int(pk): [" ".join(html.unescape(strip_tags(c)).split()) for c in re.findall(
            r"<td[^>]*>(.*?)</td>", body, re.S)][1:]
        for pk, body in rows
    }  # fmt: skip
    assert cells[buy.pk] == [
        "BTCUSDT", "Cross", "Buy", "Limit", "0.500", "50,000.0", "0.000",
        "Cancel Edit Quantity Price Save",
    ]  # fmt: skip
    assert cells[sell.pk] == [
        "ETHUSDT", "Isolated", "Sell", "Limit", "2.000", "3,500.50", "0.000",
        "Cancel Edit Quantity Price Save",
    ]  # fmt: skip
    assert cells[stop.pk] == [
        "BTCUSDT", "Cross", "Sell", "Stop market reduce-only", "0.100", "stop 55,000.0",
        "0.000", "Cancel",
    ]  # fmt: skip
    assert f'action="/orders/{buy.pk}/cancel/"' in panel
    assert f'action="/orders/{buy.pk}/edit/"' in panel
    assert f'action="/orders/{stop.pk}/edit/"' not in panel
    assert panel.count('name="next" value="/trade/BTCUSDT/?tab=orders"') == 5
    assert panel.count('name="csrfmiddlewaretoken"') == 5


def test_the_open_orders_panel_says_when_there_are_none(trader):
    assert "No open orders." in render_panel(trader)


# --- order history -------------------------------------------------------------------------


def test_the_order_history_shows_every_order_newest_first_with_its_figures(signed_in, trader):
    # given a filled cross market buy of 0.5 BTC (at the mark, 60,000), an isolated ETH limit
    # sell resting at 3,500.5, a canceled limit buy, and a reduce-only take-profit
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED", leverage=10)
    filled = market_order(trader, "BUY", "0.5")
    resting = limit_order(trader, "SELL", "2", "3500.5", symbol="ETHUSDT", margin_mode="ISOLATED")
    canceled = limit_order(trader, "BUY", "1", "50000")
    cancel(signed_in, canceled.pk)
    take_profit = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="0.5",
        order_type="TAKE_PROFIT_MARKET", stop_price="65000", margin_mode="CROSS",
        reduce_only=True,
    )  # fmt: skip

    response = signed_in.get(reverse("order_history"))

    assert response.status_code == 200
    assert table_rows(response, "order") == [
        (str(take_profit.pk), [
            shown(take_profit.created_at), "BTCUSDT", "Cross", "Sell",
            "Take profit market reduce-only", "0.500", "stop 65,000.0", "0.000", "—", "Open",
            "Cancel",
        ]),
        (str(canceled.pk), [
            shown(canceled.created_at), "BTCUSDT", "Cross", "Buy", "Limit", "1.000", "50,000.0",
            "0.000", "—", "Canceled", "",
        ]),
        (str(resting.pk), [
            shown(resting.created_at), "ETHUSDT", "Isolated", "Sell", "Limit", "2.000",
            "3,500.50", "0.000", "—", "Open", "Cancel",
        ]),
        (str(filled.pk), [
            shown(filled.created_at), "BTCUSDT", "Cross", "Buy", "Market", "0.500", "market",
            "0.500", "60,000.0", "Filled", "",
        ]),
    ]  # fmt: skip
    content = response.content.decode()
    assert '<a href="/history/orders/" aria-current="page">Orders</a>' in content
    assert '<span class="badge isolated">Isolated</span>' in content


def test_the_order_history_shows_only_the_users_own_orders(signed_in, make_trader):
    limit_order(make_trader("bob"), "BUY", "1", "50000")

    response = signed_in.get(reverse("order_history"))

    assert table_rows(response, "order") == []
    assert "No orders yet." in page_text(response)


def test_the_order_history_is_paginated_by_50(signed_in, trader):
    orders = [limit_order(trader, "BUY", "0.002", "50000") for _ in range(51)]

    first = signed_in.get(reverse("order_history"))
    second = signed_in.get(reverse("order_history"), {"page": "2"})
    past_the_end = signed_in.get(reverse("order_history"), {"page": "99"})

    assert [int(key) for key, _ in table_rows(first, "order")] == [o.pk for o in orders[:0:-1]]
    assert "Page 1 of 2" in page_text(first)
    assert 'href="?page=2" rel="next"' in first.content.decode()
    assert [int(key) for key, _ in table_rows(second, "order")] == [orders[0].pk]
    assert 'href="?page=1" rel="prev"' in second.content.decode()
    # a page past the end shows the last one
    assert [int(key) for key, _ in table_rows(past_the_end, "order")] == [orders[0].pk]


def test_the_order_history_costs_the_same_queries_for_3_or_30_orders(
    signed_in, trader, django_assert_max_num_queries
):
    for symbol, price in (("BTCUSDT", "50000"), ("ETHUSDT", "2500"), ("SOLUSDT", "100")):
        limit_order(trader, "BUY", "1", price, symbol=symbol)
    market_order(trader, "BUY", "0.01")
    with django_assert_max_num_queries(BASE_QUERIES + PAGE_QUERIES):
        assert signed_in.get(reverse("order_history")).status_code == 200

    for _ in range(9):
        for symbol, price in (("BTCUSDT", "50000"), ("ETHUSDT", "2500"), ("SOLUSDT", "100")):
            limit_order(trader, "BUY", "0.01" if symbol != "SOLUSDT" else "1", price, symbol=symbol)
    with django_assert_max_num_queries(BASE_QUERIES + PAGE_QUERIES):
        response = signed_in.get(reverse("order_history"))
    assert len(table_rows(response, "order")) == 31


# --- trade history -------------------------------------------------------------------------


def test_the_trade_history_shows_each_fill_with_its_fee_and_realized_pnl(
    signed_in, trader, make_trader
):
    # given an isolated ETH buy of 1 at 3,000 (taker fee 1.5)
    market_order(trader, "BUY", "1", symbol="ETHUSDT", margin_mode="ISOLATED")
    # and a cross BTC long of 1 at 60,000 (taker fee 30)
    market_order(trader, "BUY", "1")
    # half of it sold by a resting limit at 61,000 once the mark gets there: maker fee
    # 0.5 x 61000 x 0.0002 = 6.1, realized 0.5 x 1000 = 500
    limit_order(trader, "SELL", "0.5", "61000")
    mark_price_set(symbol="BTCUSDT", price="61000")
    sweep_run()
    # the other half sold at market at 59,000: taker fee 0.5 x 59000 x 0.0005 = 14.75,
    # realized 0.5 x -1000 = -500
    mark_price_set(symbol="BTCUSDT", price="59000")
    market_order(trader, "SELL", "0.5")
    # and bob's fill, not alice's
    market_order(make_trader("bob"), "BUY", "0.01")

    response = signed_in.get(reverse("trade_history"))

    assert response.status_code == 200
    rows = [cells[1:] for _, cells in table_rows(response, "fill")]
    assert rows == [
        ["BTCUSDT", "Cross", "Sell", "59,000.0", "0.500", "14.75", "-500.00", "Taker"],
        ["BTCUSDT", "Cross", "Sell", "61,000.0", "0.500", "6.10", "+500.00", "Maker"],
        ["BTCUSDT", "Cross", "Buy", "60,000.0", "1.000", "30.00", "0.00", "Taker"],
        ["ETHUSDT", "Isolated", "Buy", "3,000.00", "1.000", "1.50", "0.00", "Taker"],
    ]
    content = response.content.decode()
    assert '<td class="num profit">+500.00</td>' in content
    assert '<td class="num loss">-500.00</td>' in content
    assert '<a href="/history/trades/" aria-current="page">Trades</a>' in content


def test_the_trade_history_costs_the_same_queries_for_2_or_20_fills(
    signed_in, trader, django_assert_max_num_queries
):
    market_order(trader, "BUY", "0.01")
    market_order(trader, "BUY", "1", symbol="ETHUSDT")
    # + 1: the account figures load the brackets of each instrument held, a second one here
    with django_assert_max_num_queries(BASE_QUERIES + 1 + PAGE_QUERIES):
        assert len(table_rows(signed_in.get(reverse("trade_history")), "fill")) == 2

    for _ in range(9):
        market_order(trader, "BUY", "0.01")
        market_order(trader, "BUY", "1", symbol="ETHUSDT")
    with django_assert_max_num_queries(BASE_QUERIES + 1 + PAGE_QUERIES):
        assert len(table_rows(signed_in.get(reverse("trade_history")), "fill")) == 20


# --- the ledger ----------------------------------------------------------------------------


@pytest.fixture
def ledger_story(trader, make_trader):
    """Alice's money, in this order:
    - the starting 10,000 into her wallet;
    - an isolated BTC long of 1 at 60,000, 20x: 3000 margin out of the wallet, fee 30;
    - a cross ETH long of 1 at 3,000: fee 1.5;
    - funding at 0.01 %: the BTC long pays 6 from its isolated margin, the ETH long 0.3 from the
      wallet;
    - the BTC mark falls to 57,200 and the sweep liquidates it at the mark (margin balance
      2994 - 2800 = 194 <= 57,200 x 0.005 - 50 = 236), in two steps: first down a bracket, to
      50,000 / 57,200 = 0.874 (on the step), selling 0.126: loss 0.126 x 2,800 = 352.8 to the
      house, fee 0.126 x 57,200 x 0.0125 = 90.09 to the insurance fund, margin 2,551.11; still
      out of margin (2,551.11 - 0.874 x 2,800 = 103.91 <= 0.874 x 57,200 x 0.004 = 199.9712),
      then the 0.874: loss 2,447.2 to the house, and the fee 624.91 capped at the 103.91 left,
      to the fund. Of its 2994 margin, the house gets 2800, the fund 194.
    Bob's own entries are not hers."""
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    market_order(trader, "BUY", "1", margin_mode="ISOLATED")
    market_order(trader, "BUY", "1", symbol="ETHUSDT")
    market_order(make_trader("bob"), "BUY", "0.01")
    funding_settle(now=timezone.now() + settings.FUNDING_INTERVAL)
    mark_price_set(symbol="BTCUSDT", price="57200")
    sweep_run()
    return list(LedgerEntry.objects.filter(user=trader).order_by("-pk"))


def test_the_ledger_shows_every_move_of_the_users_money_signed_from_their_side(
    signed_in, trader, ledger_story, balanced_ledger
):
    response = signed_in.get(reverse("ledger"))

    assert response.status_code == 200
    rows = table_rows(response, "entry")
    assert [cells[1:] for _, cells in rows] == [
        ["Liquidation fee", "BTCUSDT", "-103.91", "BTCUSDT isolated margin", "Insurance fund",
         "liquidation fee"],
        ["Liquidation", "BTCUSDT", "-2,447.20", "BTCUSDT isolated margin", "House",
         "closed by the liquidation at the mark"],
        ["Liquidation fee", "BTCUSDT", "-90.09", "BTCUSDT isolated margin", "Insurance fund",
         "liquidation fee"],
        ["Liquidation", "BTCUSDT", "-352.80", "BTCUSDT isolated margin", "House",
         "closed by the liquidation at the mark"],
        ["Funding payment", "ETHUSDT", "-0.30", "Wallet", "House",
         "1 held x mark 3000 x rate 0.0001"],
        ["Funding payment", "BTCUSDT", "-6.00", "BTCUSDT isolated margin", "House",
         "1 held x mark 60000 x rate 0.0001"],
        ["Trading fee", "ETHUSDT", "-1.50", "Wallet", "Fees", ""],
        ["Trading fee", "BTCUSDT", "-30.00", "Wallet", "Fees", ""],
        ["Isolated margin moved", "BTCUSDT", "-3,000.00", "Wallet", "BTCUSDT isolated margin",
         "initial margin"],
        ["Paper funds granted", "", "+10,000.00", "Paper deposits", "Wallet", "starting balance"],
    ]  # fmt: skip
    assert [int(key) for key, _ in rows] == [entry.pk for entry in ledger_story]
    # the wallet rows add up to the wallet: 10000 - 3000 - 30 - 1.5 - 0.3
    assert wallet_balance(trader) == D("6968.2")
    assert rows[0][1][0] == shown(ledger_story[0].created_at)
    content = response.content.decode()
    assert '<td class="num loss">-2,447.20</td>' in content
    assert '<td class="num profit">+10,000.00</td>' in content
    assert '<a class="button" href="/history/ledger.csv" download>Download CSV</a>' in content


def test_the_ledger_filters_by_kind(signed_in, ledger_story):
    response = signed_in.get(reverse("ledger"), {"kind": "FEE"})

    assert response.status_code == 200
    assert [cells[1:4] for _, cells in table_rows(response, "entry")] == [
        ["Trading fee", "ETHUSDT", "-1.50"],
        ["Trading fee", "BTCUSDT", "-30.00"],
    ]
    content = response.content.decode()
    assert '<option value="FEE" selected>Trading fee</option>' in content
    assert 'href="/history/ledger.csv?kind=FEE" download>' in content


def test_an_unknown_ledger_kind_is_refused_with_400(signed_in, ledger_story):
    response = signed_in.get(reverse("ledger"), {"kind": "BOGUS"})

    assert response.status_code == 400
    message = (
        'Unknown ledger entry kind "BOGUS". Choose one of: DEPOSIT, RESET, FEE, REALIZED_PNL, '
        "ISOLATED_MARGIN, INSURANCE, LIQUIDATION, LIQUIDATION_FEE, FUNDING."
    )
    assert f'<p class="error-box" role="alert">{html.escape(message)}</p>' in (
        response.content.decode()
    )
    assert table_rows(response, "entry") == []


def test_the_ledger_is_paginated_and_keeps_its_filter(signed_in, trader):
    for _ in range(51):
        market_order(trader, "BUY", "0.002")

    first = signed_in.get(reverse("ledger"), {"kind": "FEE"})
    second = signed_in.get(reverse("ledger"), {"kind": "FEE", "page": "2"})

    assert len(table_rows(first, "entry")) == 50
    assert 'href="?kind=FEE&amp;page=2" rel="next"' in first.content.decode()
    assert [cells[1:4] for _, cells in table_rows(second, "entry")] == [
        ["Trading fee", "BTCUSDT", "-0.06"]  # 0.002 x 60000 x 0.0005
    ]


def test_the_ledger_costs_the_same_queries_for_few_or_many_entries(
    signed_in, trader, ledger_story, django_assert_max_num_queries
):
    with django_assert_max_num_queries(BASE_QUERIES + PAGE_QUERIES):
        assert len(table_rows(signed_in.get(reverse("ledger")), "entry")) == 10

    leverage_set(user=trader, symbol="SOLUSDT", margin_mode="ISOLATED", leverage=10)
    for _ in range(6):
        market_order(trader, "BUY", "1", symbol="SOLUSDT", margin_mode="ISOLATED")
        market_order(trader, "BUY", "0.01", symbol="ETHUSDT")
    # + 1: the account figures load the brackets of each instrument held, a second one now
    with django_assert_max_num_queries(BASE_QUERIES + 1 + PAGE_QUERIES):
        assert len(table_rows(signed_in.get(reverse("ledger")), "entry")) == 28


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_ledger_csv_has_the_same_rows_with_exact_decimals(
    signed_in, ledger_story, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):
        response = signed_in.get(reverse("ledger_csv"))
        rows = csv_rows(response)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ledger.csv"'
    assert rows[0] == ["id", "time_utc", "kind", "symbol", "amount_usdt", "from", "to", "memo"]
    assert [row[:3] for row in rows[1:]] == [
        [str(entry.pk), entry.created_at.isoformat(), entry.kind] for entry in ledger_story
    ]
    assert [row[3:] for row in rows[1:]] == [
        ["BTCUSDT", "-103.91000000", "BTCUSDT isolated margin", "Insurance fund",
         "liquidation fee"],
        ["BTCUSDT", "-2447.20000000", "BTCUSDT isolated margin", "House",
         "closed by the liquidation at the mark"],
        ["BTCUSDT", "-90.09000000", "BTCUSDT isolated margin", "Insurance fund",
         "liquidation fee"],
        ["BTCUSDT", "-352.80000000", "BTCUSDT isolated margin", "House",
         "closed by the liquidation at the mark"],
        ["ETHUSDT", "-0.30000000", "Wallet", "House", "1 held x mark 3000 x rate 0.0001"],
        ["BTCUSDT", "-6.00000000", "BTCUSDT isolated margin", "House",
         "1 held x mark 60000 x rate 0.0001"],
        ["ETHUSDT", "-1.50000000", "Wallet", "Fees", ""],
        ["BTCUSDT", "-30.00000000", "Wallet", "Fees", ""],
        ["BTCUSDT", "-3000.00000000", "Wallet", "BTCUSDT isolated margin", "initial margin"],
        ["", "10000.00000000", "Paper deposits", "Wallet", "starting balance"],
    ]  # fmt: skip
    assert rows[1][1].endswith("+00:00")


def test_the_ledger_csv_respects_the_kind_filter(signed_in, ledger_story):
    response = signed_in.get(reverse("ledger_csv"), {"kind": "FUNDING"})

    assert response["Content-Disposition"] == 'attachment; filename="ledger-FUNDING.csv"'
    assert [row[2:5] for row in csv_rows(response)[1:]] == [
        ["FUNDING", "ETHUSDT", "-0.30000000"],
        ["FUNDING", "BTCUSDT", "-6.00000000"],
    ]


def test_the_ledger_csv_refuses_an_unknown_kind_with_400(signed_in, ledger_story):
    response = signed_in.get(reverse("ledger_csv"), {"kind": "fee"})

    assert response.status_code == 400
    assert 'Unknown ledger entry kind "fee".' in page_text(response)


# --- liquidations --------------------------------------------------------------------------


def test_the_liquidation_list_shows_each_liquidation_and_marks_its_notice_read(
    signed_in, trader, make_trader
):
    # given alice's isolated BTC long liquidated at 57,200 (margin balance 200 <= MM 236)
    event = isolated_btc_long_liquidated(trader)
    # and bob's liquidation, not hers
    isolated_btc_long_liquidated(make_trader("bob"))
    # whose banner shows on her other pages
    assert 'id="liquidation-banner"' in signed_in.get(reverse("ledger")).content.decode()

    response = signed_in.get(reverse("liquidation_list"))

    # then the list shows her liquidation, with a link to its receipt
    assert response.status_code == 200
    assert table_rows(response, "liquidation") == [
        (str(event.pk), [
            shown(event.created_at), "Isolated", "BTCUSDT Long 1", "200.00", "236.00",
            "3,000.00", "+200.00",
            "Receipt",
        ]),
    ]  # fmt: skip
    assert (
        f'<a href="/history/liquidations/{event.pk}/" aria-label="Receipt of the liquidation of '
        f'{shown(event.created_at)}">Receipt</a>'
    ) in response.content.decode()
    # and her notice is read: the banner is gone already on this page, and stays gone
    assert 'id="liquidation-banner"' not in response.content.decode()
    assert not Notification.objects.filter(user=trader, read_at__isnull=True).exists()
    assert 'id="liquidation-banner"' not in signed_in.get(reverse("ledger")).content.decode()
    # bob's notice is still unread
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_the_liquidation_list_costs_the_same_queries_for_1_or_5_liquidations(
    signed_in, trader, django_assert_max_num_queries
):
    # (0.1 BTC at 20x: margin 300; liquidation price (300 - 6000) / (0.1 x 0.004 - 0.1) = 57,228.9)
    isolated_btc_long_liquidated(trader, quantity="0.1")
    # the notice marked read (an UPDATE), then the list's count and rows; the trader holds nothing
    expected = BASE_QUERIES - 1 + 1 + PAGE_QUERIES
    with django_assert_max_num_queries(expected + 2):  # the savepoint of the service's atomic
        assert len(table_rows(signed_in.get(reverse("liquidation_list")), "liquidation")) == 1

    for _ in range(4):
        isolated_btc_long_liquidated(trader, quantity="0.1")
    with django_assert_max_num_queries(expected + 2):
        assert len(table_rows(signed_in.get(reverse("liquidation_list")), "liquidation")) == 5


def test_the_isolated_receipt_shows_the_figures_and_formulas_of_the_trigger(
    signed_in, trader, django_assert_max_num_queries
):
    # given a 1 BTC isolated long at 60,000, 20x (margin 3000), liquidated at mark 57,200
    event = isolated_btc_long_liquidated(trader)

    # the event's row is the whole receipt: no instrument, no bracket is read
    with django_assert_max_num_queries(BASE_QUERIES - 1 + 1):
        response = signed_in.get(reverse("liquidation_detail", args=[event.pk]))

    assert response.status_code == 200
    text = page_text(response)
    # the trigger: 3000 + 1 x (57200 - 60000) = 200 <= 57200 x 0.005 - 50 = 236
    assert "margin balance 200.00 USDT ≤ maintenance margin 236.00 USDT" in text
    assert "margin balance = isolated margin + uPnL = 3,000 - 2,800 = 200.00 USDT" in text
    assert (
        "maintenance margin = (q x mark x MMR - cum) = 1 x 57,200 x 0.005 - 50 = 236.00 USDT"
    ) in text
    # the liquidation price, with the bracket of 57,236 notional (MMR 0.005, cum 50)
    assert "LP = (WB + cum - s·q·EP) / (q·MMR - s·q)" in text
    assert (
        "liquidation price = (3,000 + 50 - 1 x 60,000) / (1 x 0.005 - 1) = 57,236.18090452"
    ) in text
    assert "WB = 3,000 (the isolated margin), cum = 50 and MMR = 0.005" in text
    # written with the true minus and multiplication signs
    assert (
        "liquidation price = (3,000 + 50 \N{MINUS SIGN} 1 \N{MULTIPLICATION SIGN} 60,000) / "
        "(1 \N{MULTIPLICATION SIGN} 0.005 \N{MINUS SIGN} 1) = 57,236.18090452"
    ) in response.content.decode()
    # the bankruptcy price: 60000 - 3000 / 1
    assert "bankruptcy price = (q·EP - s·WB) / q = (1 x 60,000 - 3,000) / 1 = 57,000" in text
    # the fund took the margin balance left at the mark: 1 x (57,200 - 57,000), the 200
    # between the mark and the bankruptcy price
    assert "What its margin balance still held at the mark, s·q·(mark - BP), went to" in text
    assert "insurance fund change = isolated margin + uPnL = 3,000 - 2,800 = 200.00 USDT" in text
    assert "Insurance fund +200.00 USDT (the fund took it)" in text
    assert "Your loss 3,000.00 USDT" in text
    assert "Isolated margin at the trigger 3,000.00 USDT" in text
    # the position at the trigger; the liquidation price on the tick, a long's rounded up
    assert table_rows(response, "symbol") == [
        ("BTCUSDT", [
            "BTCUSDT", "Long", "1.000", "60,000.0", "57,200.0", "-2,800.00", "57,236.2",
            "57,000.0",
        ]),
    ]  # fmt: skip


def test_the_receipt_of_an_isolated_short_has_the_signs_of_a_short(signed_in, trader):
    # given a 1 BTC isolated short at 60,000, 20x (margin 3000), liquidated at mark 62,800
    event = isolated_btc_long_liquidated(trader, side="SELL", mark="62800")

    response = signed_in.get(reverse("liquidation_detail", args=[event.pk]))

    text = page_text(response)
    assert "margin balance 200.00 USDT ≤ maintenance margin 264.00 USDT" in text
    # (3000 + 50 + 60000) / (0.005 + 1)
    assert (
        "liquidation price = (3,000 + 50 + 1 x 60,000) / (1 x 0.005 + 1) = 62,736.31840796"
    ) in text
    assert "s = -1 (short)" in text
    assert "bankruptcy price = (q·EP - s·WB) / q = (1 x 60,000 + 3,000) / 1 = 63,000" in text
    # -1 x (62,800 - 63,000)
    assert "insurance fund change = isolated margin + uPnL = 3,000 - 2,800 = 200.00 USDT" in text
    # a short's liquidation price is rounded down to the tick
    assert table_rows(response, "symbol")[0][1][6] == "62,736.3"


def test_the_cross_receipt_counts_the_other_cross_positions(signed_in, trader):
    # given cross longs of 50 ETH at 3,000 (fee 75) and 20 SOL at 150 (fee 1.5), 20x:
    # wallet 10000 - 75 - 1.5 = 9923.5
    for symbol in ("ETHUSDT", "SOLUSDT"):
        leverage_set(user=trader, symbol=symbol, margin_mode="CROSS", leverage=20)
    market_order(trader, "BUY", "50", symbol="ETHUSDT")
    market_order(trader, "BUY", "20", symbol="SOLUSDT")
    # when ETH falls to 2,810: cross margin balance 9923.5 - 9500 = 423.5
    #   <= MM (140500 x 0.005 - 50) + 3000 x 0.005 = 652.5 + 15 = 667.5
    mark_price_set(symbol="ETHUSDT", price="2810")
    sweep_run()
    event = LiquidationEvent.objects.get(user=trader)

    response = signed_in.get(reverse("liquidation_detail", args=[event.pk]))

    text = page_text(response)
    assert "cross margin balance 423.50 USDT ≤ maintenance margin 667.50 USDT" in text
    assert "cross margin balance = wallet + Σ uPnL = 9,923.5 - 9,500 + 0 = 423.50 USDT" in text
    assert (
        "maintenance margin = Σ (q x mark x MMR - cum) = "
        "50 x 2,810 x 0.005 - 50 + 20 x 150 x 0.005 - 0 = 667.50 USDT"
    ) in text
    assert "LP = (WB - TMM1 + UPNL1 + cum - s·q·EP) / (q·MMR - s·q)" in text
    # ETH: (9923.5 - 15 + 0 + 50 - 150000) / (0.25 - 50) = -140041.5 / -49.75
    assert (
        "liquidation price = (9,923.5 - 15 + 0 + 50 - 50 x 3,000) / (50 x 0.005 - 50) "
        "= 2,814.90452261"
    ) in text
    # SOL: (9923.5 - 652.5 - 9500 + 0 - 3000) / (0.1 - 20) = -3229 / -19.9
    assert (
        "liquidation price = (9,923.5 - 652.5 - 9,500 + 0 - 20 x 150) / (20 x 0.005 - 20) "
        "= 162.26130653"
    ) in text
    assert "TMM1 = 652.5 and UPNL1 = -9,500" in text
    # bankruptcy: ETH (150000 - 9923.5 - 0) / 50; SOL (3000 - 9923.5 + 9500) / 20
    assert (
        "bankruptcy price = (q·EP - s·(WB + UPNL1)) / q = (50 x 3,000 - 9,923.5 - 0) / 50 "
        "= 2,801.53"
    ) in text
    assert "= (20 x 150 - 9,923.5 + 9,500) / 20 = 128.825" in text
    # the wallet went to 0 and the fund took what was left: 9923.5 - 9500 + 0
    assert "insurance fund change = wallet + Σ uPnL = 9,923.5 - 9,500 + 0 = 423.50 USDT" in text
    assert "Cross wallet at the trigger 9,923.50 USDT" in text
    assert "Your loss 9,923.50 USDT" in text
    assert [cells for _, cells in table_rows(response, "symbol")] == [
        ["ETHUSDT", "Long", "50.000", "3,000.00", "2,810.00", "-9,500.00", "2,814.91",
         "2,801.53"],
        ["SOLUSDT", "Long", "20", "150.00", "150.00", "0.00", "162.27", "128.82"],
    ]  # fmt: skip


def test_another_users_receipt_is_not_found_and_shows_nothing_of_it(signed_in, make_trader):
    event = isolated_btc_long_liquidated(make_trader("bob"))

    response = signed_in.get(reverse("liquidation_detail", args=[event.pk]))
    missing = signed_in.get(reverse("liquidation_detail", args=[event.pk + 1]))

    assert response.status_code == 404
    assert "57,236" not in response.content.decode()
    assert "3,000" not in response.content.decode()
    assert missing.status_code == 404
    assert "liquidation_list" not in response.content.decode()


def test_a_cross_position_that_cannot_go_bankrupt_shows_no_bankruptcy_price(signed_in, trader):
    # given cross longs of 50 ETH at 3,000 and 1 SOL at 150, 20x: wallet 10000 - 75 - 0.075
    for symbol in ("ETHUSDT", "SOLUSDT"):
        leverage_set(user=trader, symbol=symbol, margin_mode="CROSS", leverage=20)
    market_order(trader, "BUY", "50", symbol="ETHUSDT")
    market_order(trader, "BUY", "1", symbol="SOLUSDT")
    # when ETH falls to 2,810: 9924.925 - 9500 = 424.925 (424.92 to the cent, half even) <=
    # 652.5 + 0.75 = 653.25; the SOL long would go bankrupt at 150 - 424.925 / 1, below 0
    mark_price_set(symbol="ETHUSDT", price="2810")
    sweep_run()
    event = LiquidationEvent.objects.get(user=trader)

    response = signed_in.get(reverse("liquidation_detail", args=[event.pk]))

    assert response.status_code == 200
    text = page_text(response)
    assert "cross margin balance 424.92 USDT ≤ maintenance margin 653.25 USDT" in text
    assert (
        "bankruptcy price: none (the margin balance stays above 0 at every positive mark)" in text
    )
    assert table_rows(response, "symbol")[1][1][7] == "—"


def test_a_receipt_reads_the_same_after_the_operator_changes_the_instrument(signed_in, trader):
    # given alice's isolated BTC long liquidated at 57,200, and her receipt as it read then
    event = isolated_btc_long_liquidated(trader)
    url = reverse("liquidation_detail", args=[event.pk])
    before = signed_in.get(url)
    # when an operator changes BTCUSDT's bracket table (every rate, so every cum) and its tick
    # and step
    instrument_update(
        operator=superuser_create(username="operator", password="a-long-passphrase-7"),
        symbol="BTCUSDT",
        tick_size="1",
        step_size="0.01",
        brackets=[("0", "100000", 50, "0.01"), ("100000", "1000000", 20, "0.02")],
    )

    after = signed_in.get(url)

    # then the receipt reads exactly as before: the brackets and figures of the trigger
    assert after.status_code == 200
    assert page_text(after) == page_text(before)
    text = page_text(after)
    assert "maintenance margin = (q x mark x MMR - cum) = 1 x 57,200 x 0.005 - 50" in text
    assert (
        "liquidation price = (3,000 + 50 - 1 x 60,000) / (1 x 0.005 - 1) = 57,236.18090452"
    ) in text
    assert table_rows(after, "symbol") == [
        ("BTCUSDT", [
            "BTCUSDT", "Long", "1.000", "60,000.0", "57,200.0", "-2,800.00", "57,236.2",
            "57,000.0",
        ]),
    ]  # fmt: skip
