"""The facade's answers in Binance's shapes, with exact figures.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001, minimum notional 100, no slippage,
taker fee 0.05 %, 20x by default); alice has 10,000 USDT.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.models import Instrument, PriceCandle
from trading.services import mark_price_set, order_place, symbol_margin_mode_set

pytestmark = pytest.mark.django_db

D = Decimal
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_exchange_info_lists_each_symbol_with_binances_filters(client, market):
    info = client.get("/fapi/v1/exchangeInfo").json()

    btc = next(symbol for symbol in info["symbols"] if symbol["symbol"] == "BTCUSDT")
    assert (btc["contractType"], btc["status"], btc["marginAsset"]) == (
        "PERPETUAL",
        "TRADING",
        "USDT",
    )
    assert (btc["pricePrecision"], btc["quantityPrecision"]) == (1, 3)
    assert btc["filters"] == [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.1",
            "maxPrice": "999999999999999.9",
            "tickSize": "0.1",
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.001",
            "maxQty": "999999999999999.999",
            "stepSize": "0.001",
        },
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": "0.001",
            "maxQty": "999999999999999.999",
            "stepSize": "0.001",
        },
        {"filterType": "MIN_NOTIONAL", "notional": "100"},
    ]
    assert info["rateLimits"] == [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200}
    ]


def test_a_halted_symbol_is_not_trading(client, market):
    Instrument.objects.filter(symbol="ETHUSDT").update(status=Instrument.Status.HALTED)

    symbols = client.get("/fapi/v1/exchangeInfo").json()["symbols"]

    assert {symbol["symbol"]: symbol["status"] for symbol in symbols}["ETHUSDT"] == "SETTLING"


def test_klines_roll_the_one_minute_mark_candles_up(client, market):
    btc = Instrument.objects.get(symbol="BTCUSDT")
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    for minute, (open_, high, low, close) in enumerate(
        [(100, 110, 90, 105), (105, 120, 100, 115), (115, 116, 80, 85), (85, 95, 84, 90)]
    ):
        PriceCandle.objects.create(
            instrument=btc,
            opened_at=start + timedelta(minutes=3 + minute),
            open=open_,
            high=high,
            low=low,
            close=close,
        )

    rows = client.get(
        f"/fapi/v1/klines?symbol=BTCUSDT&interval=5m&startTime={ms(start)}&limit=2"
    ).json()

    five = 5 * 60_000
    assert [row[:7] for row in rows] == [
        [ms(start), "100.00000000", "120.00000000", "90.00000000", "115.00000000", "0",
         ms(start) + five - 1],
        [ms(start) + five, "115.00000000", "116.00000000", "80.00000000", "90.00000000", "0",
         ms(start) + 2 * five - 1],
    ]  # fmt: skip


def test_an_unknown_interval_is_refused(client, market):
    body = client.get("/fapi/v1/klines?symbol=BTCUSDT&interval=7m").json()

    assert body == {"code": -1120, "msg": "Invalid interval."}


def test_the_24h_ticker_reads_the_days_candles_and_the_mark(client, market):
    btc = Instrument.objects.get(symbol="BTCUSDT")
    opened = datetime.now(UTC) - timedelta(hours=2)
    PriceCandle.objects.create(
        instrument=btc, opened_at=opened, open=50000, high=63000, low=49000, close=55000
    )

    ticker = client.get("/fapi/v1/ticker/24hr?symbol=BTCUSDT").json()

    assert (ticker["openPrice"], ticker["lastPrice"], ticker["highPrice"], ticker["lowPrice"]) == (
        "50000.00000000",
        "60000.00000000",
        "63000.00000000",
        "49000.00000000",
    )
    assert (ticker["priceChange"], ticker["priceChangePercent"]) == ("10000.00000000", "20.000")
    assert ticker["openTime"] == ms(opened.replace(microsecond=opened.microsecond // 1000 * 1000))


def test_premium_index_lists_every_symbol_with_its_next_funding(client, market):
    rows = client.get("/fapi/v1/premiumIndex").json()

    assert [(row["symbol"], row["markPrice"]) for row in rows] == [
        ("BTCUSDT", "60000.00000000"),
        ("ETHUSDT", "3000.00000000"),
        ("SOLUSDT", "150.00000000"),
    ]
    assert {row["lastFundingRate"] for row in rows} == {"0.00010000"}
    assert rows[0]["nextFundingTime"] % (8 * 3600 * 1000) == 0


def test_the_depth_limit_is_one_of_binances(client, market):
    assert len(client.get("/fapi/v1/depth?symbol=BTCUSDT&limit=10").json()["bids"]) == 10
    assert client.get("/fapi/v1/depth?symbol=BTCUSDT&limit=7").json()["code"] == -1130


def test_the_account_adds_up_cross_and_isolated_as_binance_does(binance, trader):
    # given an isolated long of 0.1 and a cross short of 0.05 at 60,000, then the mark at 61,000
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity="0.05", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price=D("61000"))

    account = binance.get("/fapi/v3/account").json()

    # wallet 10,000 - 300 isolated margin - 3 and 1.5 fees; uPnL +100 isolated, -50 cross
    assert {name: value for name, value in account.items() if name.startswith("total")} == {
        "totalWalletBalance": "9995.50000000",
        "totalCrossWalletBalance": "9695.50000000",
        "totalUnrealizedProfit": "50.00000000",
        "totalCrossUnPnl": "-50.00000000",
        "totalMarginBalance": "10045.50000000",
        "totalPositionInitialMargin": "457.50000000",
        "totalOpenOrderInitialMargin": "0.00000000",
        "totalInitialMargin": "457.50000000",
        "totalMaintMargin": "36.60000000",
    }
    assert account["availableBalance"] == "9493.00000000"
    # and the positions list shows BTCUSDT's position of its margin type (cross) alone
    positions = account["positions"]
    assert [(p["marginType"], p["positionAmt"], p["isolatedMargin"]) for p in positions] == [
        ("cross", "-0.05000000", "0.00000000"),
    ]


def test_position_risk_shows_each_mode_with_its_own_figures(binance, trader):
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    order_place(user=trader, symbol="ETHUSDT", side="BUY", quantity="1", margin_mode="CROSS")

    (isolated,) = binance.get("/fapi/v2/positionRisk", {"symbol": "BTCUSDT"}).json()

    assert {
        name: isolated[name]
        for name in (
            "marginType",
            "positionAmt",
            "entryPrice",
            "leverage",
            "isolatedMargin",
            "isolatedWallet",
            "notional",
            "liquidationPrice",
            "maintMargin",
            "positionSide",
        )
    } == {
        "marginType": "isolated",
        "positionAmt": "0.10000000",
        "entryPrice": "60000.00000000",
        "leverage": "20",
        "isolatedMargin": "300.00000000",
        "isolatedWallet": "300.00000000",
        "notional": "6000.00000000",
        "liquidationPrice": "57228.91566265",
        "maintMargin": "24.00000000",
        "positionSide": "BOTH",
    }
    assert len(binance.get("/fapi/v3/positionRisk").json()) == 2


def test_margin_type_and_leverage_are_the_symbols_config(binance):
    binance.post("/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})
    leverage = binance.post("/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": "10"}).json()

    (config,) = binance.get("/fapi/v1/symbolConfig", {"symbol": "BTCUSDT"}).json()

    assert leverage == {
        "leverage": 10,
        "maxNotionalValue": "230000000.00000000",
        "symbol": "BTCUSDT",
    }
    assert config == {
        "symbol": "BTCUSDT",
        "marginType": "ISOLATED",
        "isAutoAddMargin": "false",
        "leverage": 10,
        "maxNotionalValue": "230000000.00000000",
    }


def test_order_and_trade_histories_filter_as_binance_does(binance):
    ids = [
        binance.post("/fapi/v1/order", {**ORDER, "quantity": quantity}).json()["orderId"]
        for quantity in ("0.01", "0.02", "0.03")
    ]

    newest_two = binance.get("/fapi/v1/allOrders", {"symbol": "BTCUSDT", "limit": 2}).json()
    from_second = binance.get("/fapi/v1/allOrders", {"symbol": "BTCUSDT", "orderId": ids[1]})
    of_first = binance.get("/fapi/v1/userTrades", {"symbol": "BTCUSDT", "orderId": ids[0]}).json()

    assert [order["orderId"] for order in newest_two] == ids[1:]
    assert [order["orderId"] for order in from_second.json()] == ids[1:]
    assert [(trade["orderId"], trade["qty"], trade["commission"]) for trade in of_first] == [
        (ids[0], "0.01000000", "0.30000000")
    ]


def test_open_orders_and_cancel_all(binance):
    limit = {**ORDER, "type": "LIMIT", "quantity": "0.01", "timeInForce": "GTC"}
    for price in ("50000", "51000"):
        binance.post("/fapi/v1/order", {**limit, "price": price})

    opened = binance.get("/fapi/v1/openOrders", {"symbol": "BTCUSDT"}).json()
    done = binance.delete("/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"}).json()

    assert [(order["price"], order["status"]) for order in opened] == [
        ("50000.00000000", "NEW"),
        ("51000.00000000", "NEW"),
    ]
    assert done == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert binance.get("/fapi/v1/openOrders").json() == []


def test_income_lists_fees_and_pnl_but_not_margin_moves(binance):
    binance.post("/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})
    binance.post("/fapi/v1/order", {**ORDER, "quantity": "0.1"})
    mark_price_set(symbol="BTCUSDT", price=D("61000"))
    binance.post("/fapi/v1/order", {**ORDER, "side": "SELL", "quantity": "0.1"})

    income = binance.get("/fapi/v1/income", {"symbol": "BTCUSDT"}).json()
    fees = binance.get("/fapi/v1/income", {"incomeType": "COMMISSION"}).json()

    assert [(row["incomeType"], row["income"]) for row in income] == [
        ("COMMISSION", "-3.00000000"),
        ("REALIZED_PNL", "100.00000000"),
        ("COMMISSION", "-3.05000000"),
    ]
    assert [row["income"] for row in fees] == ["-3.00000000", "-3.05000000"]


def test_a_time_past_the_calendar_is_refused(binance):
    body = binance.get("/fapi/v1/allOrders", {"symbol": "BTCUSDT", "startTime": 10**15}).json()

    assert body == {"code": -1130, "msg": "Data sent for parameter 'startTime' is not valid."}


def test_the_facade_lists_only_the_instruments_on_binances_rules(client, venue_market, unchanged):
    # given BTCUSDT-BYBIT and BTCUSDT-HL beside BTCUSDT: a stock ccxt would key all three as
    # BTC/USDT:USDT
    info = client.get("/fapi/v1/exchangeInfo").json()

    # then exchangeInfo lists the Binance ones only, each naming its profile
    assert [(s["symbol"], s["ruleProfile"]) for s in info["symbols"]] == [
        ("BTCUSDT", "BINANCE"), ("ETHUSDT", "BINANCE"), ("SOLUSDT", "BINANCE"),
    ]  # fmt: skip
    # and the others are unknown symbols here, answered -1121, nothing changed
    with unchanged():
        answer = client.get("/fapi/v1/premiumIndex", {"symbol": "BTCUSDT-BYBIT"})
    assert (answer.status_code, answer.json()["code"]) == (400, -1121)
    assert "BTCUSDT-HL" not in [row["symbol"] for row in client.get("/fapi/v1/premiumIndex").json()]
