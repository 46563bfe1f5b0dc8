"""The facade's remaining ccxt endpoints (issue 12): the venue's trades, open interest, index and
premium candles, liquidation orders, isolated margin history, one open order and the
auto-deleveraging answers, in Binance's shapes with exact figures; bad input answers Binance's
codes and changes nothing.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001, taker fee 0.05 %, 20x by default);
alice and bob have 10,000 USDT each.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from trading.binance.mapping import ms
from trading.models import Fill, Instrument, Order, PriceCandle
from trading.services import (
    isolated_margin_add,
    isolated_margin_remove,
    mark_price_set,
    order_cancel,
    order_place,
    sweep_run,
    symbol_margin_mode_set,
)

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def trades(trader, make_trader):
    """alice's cross buy of 0.1 and bob's isolated sell of 0.2, both at 60,000 (takers)."""
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity=D("0.1"))
    order_place(
        user=make_trader("bob"),
        symbol="BTCUSDT",
        side="SELL",
        quantity=D("0.2"),
        margin_mode="ISOLATED",
    )
    return list(Fill.objects.order_by("pk"))


def test_the_venues_trades_name_no_one(client, trades):
    first, second = trades

    recent = client.get("/fapi/v1/trades", {"symbol": "BTCUSDT"})
    aggregated = client.get("/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "fromId": second.pk})
    historical = client.get("/fapi/v1/historicalTrades", {"symbol": "BTCUSDT", "limit": "1"})

    assert recent.json() == [
        {
            "id": first.pk,
            "price": "60000.00000000",
            "qty": "0.10000000",
            "quoteQty": "6000.00000000",
            "time": ms(first.created_at),
            "isBuyerMaker": False,
        },
        {
            "id": second.pk,
            "price": "60000.00000000",
            "qty": "0.20000000",
            "quoteQty": "12000.00000000",
            "time": ms(second.created_at),
            "isBuyerMaker": True,
        },
    ]
    assert aggregated.json() == [
        {
            "a": second.pk,
            "p": "60000.00000000",
            "q": "0.20000000",
            "f": second.pk,
            "l": second.pk,
            "T": ms(second.created_at),
            "m": True,
        }
    ]
    assert [trade["id"] for trade in historical.json()] == [second.pk]


def test_open_interest_is_every_open_position(client, trades, trader):
    before = client.get("/fapi/v1/openInterest", {"symbol": "BTCUSDT"}).json()
    order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity=D("0.1"), reduce_only=True)
    after = client.get("/fapi/v1/openInterest", {"symbol": "BTCUSDT"}).json()

    assert (before["symbol"], before["openInterest"]) == ("BTCUSDT", "0.30000000")
    assert abs(before["time"] - ms(timezone.now())) < 5000
    assert after["openInterest"] == "0.20000000"


def test_index_candles_are_the_marks_and_the_premium_is_zero(client, market):
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    PriceCandle.objects.create(
        instrument=Instrument.objects.get(symbol="BTCUSDT"),
        opened_at=minute,
        open=D("58000"),
        high=D("61000"),
        low=D("57000"),
        close=D("59500.5"),
    )
    closed = ms(minute) + 59_999
    no_volume = ["0", closed, "0", 0, "0", "0", "0"]

    index = client.get("/fapi/v1/indexPriceKlines", {"pair": "BTCUSDT", "interval": "1m"})
    premium = client.get("/fapi/v1/premiumIndexKlines", {"symbol": "BTCUSDT", "interval": "1m"})

    prices = ["58000.00000000", "61000.00000000", "57000.00000000", "59500.50000000"]
    assert index.json() == [[ms(minute), *prices, *no_volume]]
    assert premium.json() == [[ms(minute), *["0.00000000"] * 4, *no_volume]]


def test_liquidations_margin_history_and_adl_in_binances_shape(binance, trader):
    # given an isolated long of 0.1 at 20x (300 of margin), 100 added and 50 removed
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity=D("0.1"))
    isolated_margin_add(user=trader, symbol="BTCUSDT", amount=D("100"))
    isolated_margin_remove(user=trader, symbol="BTCUSDT", amount=D("50"))
    assert binance.get("/fapi/v1/adlQuantile").json() == [
        {"symbol": "BTCUSDT", "adlQuantile": {"LONG": 0, "SHORT": 0, "BOTH": 0}}
    ]

    # when the mark falls through its liquidation price (bankruptcy at 56,500)
    mark_price_set(symbol="BTCUSDT", price=D("56000"))
    sweep_run()

    # then forceOrders lists the order that closed it, at the bankruptcy price
    (closing,) = Order.objects.filter(user=trader, reduce_only=True)
    (forced,) = binance.get("/fapi/v1/forceOrders", {"symbol": "BTCUSDT"}).json()
    assert forced == {
        **forced,
        "orderId": closing.pk,
        "symbol": "BTCUSDT",
        "clientOrderId": f"autoclose-{closing.pk}",
        "status": "FILLED",
        "side": "SELL",
        "reduceOnly": True,
        "avgPrice": "56500.00000000",
        "executedQty": "0.10000000",
        "cumQuote": "5650.00000000",
    }
    assert binance.get("/fapi/v1/forceOrders", {"autoCloseType": "ADL"}).json() == []
    assert binance.get("/fapi/v1/forceOrders", {"symbol": "ETHUSDT"}).json() == []
    # the margin history: the two adjustments, not the order's margin nor the liquidation
    history = binance.get("/fapi/v1/positionMargin/history", {"symbol": "BTCUSDT"}).json()
    assert [{k: v for k, v in row.items() if k != "time"} for row in history] == [
        {
            "symbol": "BTCUSDT",
            "type": 1,
            "deltaType": "USER_ADJUST",
            "amount": "100.00000000",
            "asset": "USDT",
            "positionSide": "BOTH",
        },
        {
            "symbol": "BTCUSDT",
            "type": 2,
            "deltaType": "USER_ADJUST",
            "amount": "50.00000000",
            "asset": "USDT",
            "positionSide": "BOTH",
        },
    ]
    removed = binance.get("/fapi/v1/positionMargin/history", {"symbol": "BTCUSDT", "type": "2"})
    assert [row["amount"] for row in removed.json()] == ["50.00000000"]
    # and no position is left to rank
    assert binance.get("/fapi/v1/adlQuantile").json() == []
    assert binance.get("/fapi/v1/symbolAdlRisk", {"symbol": "BTCUSDT"}).json()["adlRisk"] == "LOW"


def test_open_order_reads_an_open_order_only(binance, trader):
    resting = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity=D("0.01"), order_type="LIMIT",
        price=D("59000"),
    )  # fmt: skip
    query = {"symbol": "BTCUSDT", "orderId": resting.pk}

    found = binance.get("/fapi/v1/openOrder", query).json()
    order_cancel(user=trader, order_id=resting.pk)
    gone = binance.get("/fapi/v1/openOrder", query)

    assert (found["orderId"], found["status"], found["price"]) == (
        resting.pk,
        "NEW",
        "59000.00000000",
    )
    assert (gone.status_code, gone.json()) == (
        400,
        {"code": -2013, "msg": "Order does not exist."},
    )


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/fapi/v1/aggTrades", {}, 400, -1102),
        ("/fapi/v1/aggTrades", {"symbol": "DOGEUSDT"}, 400, -1121),
        ("/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "startTime": "99999999999999999"}, 400, -1130),
        ("/fapi/v1/trades", {"symbol": "BTCUSDT", "limit": "-1"}, 400, -1100),
        ("/fapi/v1/historicalTrades", {"symbol": "BTCUSDT", "fromId": "1.5"}, 400, -1100),
        ("/fapi/v1/indexPriceKlines", {"symbol": "BTCUSDT", "interval": "1m"}, 400, -1102),
        ("/fapi/v1/indexPriceKlines", {"pair": "BTCUSDT", "interval": "7m"}, 400, -1120),
        ("/fapi/v1/premiumIndexKlines", {"symbol": "BTCUSDT"}, 400, -1102),
        ("/fapi/v1/openInterest", {}, 400, -1102),
        ("/fapi/v1/symbolAdlRisk", {"symbol": "DOGEUSDT"}, 400, -1121),
        ("/fapi/v1/forceOrders", {"autoCloseType": "MARGIN_CALL"}, 400, -1130),
        ("/fapi/v1/forceOrders", {"limit": "ten"}, 400, -1100),
        ("/fapi/v1/positionMargin/history", {}, 400, -1102),
        ("/fapi/v1/positionMargin/history", {"symbol": "BTCUSDT", "type": "3"}, 400, -1130),
        ("/fapi/v1/openOrder", {"symbol": "BTCUSDT"}, 400, -1102),
        ("/fapi/v1/openOrder", {"symbol": "BTCUSDT", "orderId": "999999"}, 400, -2013),
        ("/fapi/v1/adlQuantile", {"symbol": "DOGEUSDT"}, 400, -1121),
        ("/futures/data/openInterestHist", {"symbol": "BTCUSDT", "period": "5m"}, 404, -5000),
    ],
)
def test_bad_input_answers_binances_code_and_changes_nothing(
    binance, trades, unchanged, path, params, status, code
):
    with unchanged():
        response = binance.get(path, params)

    assert (response.status_code, response.json()["code"]) == (status, code)


def test_a_method_the_new_paths_do_not_take_is_minus_5000(binance, trades, unchanged):
    with unchanged():
        response = binance.post("/fapi/v1/openInterest", {"symbol": "BTCUSDT"})

    assert (response.status_code, response.json()) == (
        404,
        {"code": -5000, "msg": "Path /fapi/v1/openInterest, Method POST is invalid"},
    )


def test_adl_quantile_ranks_the_profitable_side_of_each_symbol_held(binance_of, make_trader):
    # given alice's isolated short of 0.4 BTC at 20x and bob's cross short of 0.3 BTC at 60,000,
    # and alice's cross long of 1 ETH
    alice, bob = make_trader("alice"), make_trader("bob")
    order_place(
        user=alice, symbol="BTCUSDT", side="SELL", quantity=D("0.4"), margin_mode="ISOLATED"
    )
    order_place(user=bob, symbol="BTCUSDT", side="SELL", quantity=D("0.3"))
    order_place(user=alice, symbol="ETHUSDT", side="BUY", quantity=D("1"))
    # when BTC falls to 59,000: both shorts gain (PnL% 1,000 / 59,000 each); alice's, at an
    # effective leverage of 23,600 / (1,200 + 400) = 14.75, is first; bob's (17,700 / 10,291)
    # second; ETH is flat, outside the queue
    mark_price_set(symbol="BTCUSDT", price=D("59000"))

    # then each one's quantile, 4 first of 2, then 2
    assert binance_of(alice).get("/fapi/v1/adlQuantile").json() == [
        {"symbol": "BTCUSDT", "adlQuantile": {"LONG": 0, "SHORT": 4, "BOTH": 4}},
        {"symbol": "ETHUSDT", "adlQuantile": {"LONG": 0, "SHORT": 0, "BOTH": 0}},
    ]
    assert binance_of(bob).get("/fapi/v1/adlQuantile", {"symbol": "BTCUSDT"}).json() == [
        {"symbol": "BTCUSDT", "adlQuantile": {"LONG": 0, "SHORT": 2, "BOTH": 2}}
    ]
