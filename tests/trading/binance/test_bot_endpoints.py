"""The endpoints stock bots call besides trading (issue 12): account modes, funding history and
intervals, fees and account config, in Binance's shapes with exact figures; bad input answers
Binance's codes and changes nothing.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001, taker fee 0.05 %, maker 0.02 %);
alice has 10,000 USDT.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.models import FundingSettlement, Instrument, Order, Position
from trading.services import mark_price_set, order_place, sweep_run

pytestmark = pytest.mark.django_db

D = Decimal
NOON = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def settlements(market):
    """BTCUSDT settled at 00:00, 08:00 and 16:00 on 1 January 2030, ETHUSDT at 08:00."""
    btc, eth = (Instrument.objects.get(symbol=symbol) for symbol in ("BTCUSDT", "ETHUSDT"))
    rows = [
        (btc, 0, "0.0001", "60000.1"),
        (btc, 8, "-0.00012345", "61000"),
        (btc, 16, "0.0075", "59000.5"),
        (eth, 8, "0.0002", "3000"),
    ]
    for instrument, hour, rate, mark in rows:
        FundingSettlement.objects.create(
            instrument=instrument,
            funding_time=datetime(2030, 1, 1, hour, tzinfo=UTC),
            rate=D(rate),
            mark_price=D(mark),
        )


def test_multi_assets_margin_is_always_off(binance):
    response = binance.get("/fapi/v1/multiAssetsMargin")

    assert (response.status_code, response.json()) == (200, {"multiAssetsMargin": False})


def test_asking_for_multi_assets_margin_is_refused_and_single_asset_is_already_set(
    binance, unchanged
):
    with unchanged():
        on = binance.post("/fapi/v1/multiAssetsMargin", {"multiAssetsMargin": "true"})
        off = binance.post("/fapi/v1/multiAssetsMargin", {"multiAssetsMargin": "false"})

    assert on.status_code == 400
    assert (on.json()["code"], on.json()["msg"]) == (
        -4167,
        "Unable to adjust to Multi-Assets mode with symbols of USDⓈ-M Futures under "
        "isolated-margin mode.",
    )
    assert on.json()["marginsite"]["field"] == "multiAssetsMargin"
    assert (off.status_code, off.json()) == (
        400,
        {
            "code": -4171,
            "msg": "Adjusted asset mode is currently set and does not need to be adjusted "
            "repeatedly",
        },
    )
    assert binance.get("/fapi/v1/multiAssetsMargin").json() == {"multiAssetsMargin": False}


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        (
            {},
            -1102,
            "Mandatory parameter 'multiAssetsMargin' was not sent, was empty/null, or malformed.",
        ),
        (
            {"multiAssetsMargin": "yes"},
            -1130,
            "Data sent for parameter 'multiAssetsMargin' is not valid.",
        ),
    ],
)
def test_a_bad_multi_assets_margin_request_answers_binances_code(
    binance, unchanged, params, code, msg
):
    with unchanged():
        response = binance.post("/fapi/v1/multiAssetsMargin", params)

    assert (response.status_code, response.json()) == (400, {"code": code, "msg": msg})


def test_funding_rate_lists_the_settlements_oldest_first(client, settlements):
    rows = client.get("/fapi/v1/fundingRate", {"symbol": "BTCUSDT"}).json()

    assert rows == [
        {
            "symbol": "BTCUSDT",
            "fundingRate": "0.00010000",
            "fundingTime": ms(datetime(2030, 1, 1, 0, tzinfo=UTC)),
            "markPrice": "60000.10000000",
        },
        {
            "symbol": "BTCUSDT",
            "fundingRate": "-0.00012345",
            "fundingTime": ms(datetime(2030, 1, 1, 8, tzinfo=UTC)),
            "markPrice": "61000.00000000",
        },
        {
            "symbol": "BTCUSDT",
            "fundingRate": "0.00750000",
            "fundingTime": ms(datetime(2030, 1, 1, 16, tzinfo=UTC)),
            "markPrice": "59000.50000000",
        },
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # with startTime: the first `limit` from it; else the newest `limit` up to endTime
        ({"startTime": ms(NOON) - 4 * 3600_000, "limit": 1}, [("BTCUSDT", 8)]),
        ({"startTime": ms(NOON)}, [("BTCUSDT", 16)]),
        ({"limit": 2}, [("BTCUSDT", 8), ("BTCUSDT", 16)]),
        ({"endTime": ms(NOON), "limit": 1}, [("BTCUSDT", 8)]),
        ({"endTime": ms(NOON) - 12 * 3600_000}, [("BTCUSDT", 0)]),
        ({"startTime": ms(NOON), "endTime": ms(NOON) + 1}, []),
        ({"symbol": None}, [("BTCUSDT", 0), ("BTCUSDT", 8), ("ETHUSDT", 8), ("BTCUSDT", 16)]),
        ({"symbol": "ETHUSDT", "limit": 5000}, [("ETHUSDT", 8)]),
    ],
)
def test_funding_rate_windows_and_limits_are_binances(client, settlements, params, expected):
    params = {"symbol": "BTCUSDT", **params}
    query = {name: value for name, value in params.items() if value is not None}

    rows = client.get("/fapi/v1/fundingRate", query).json()

    hours = [(row["symbol"], (row["fundingTime"] - ms(NOON)) // 3600_000 + 12) for row in rows]
    assert hours == expected


def test_funding_info_gives_each_symbols_interval_and_clamp(client, market, settings):
    settings.FUNDING_INTERVAL = timedelta(hours=8)
    eight_hours = client.get("/fapi/v1/fundingInfo").json()
    settings.FUNDING_INTERVAL = timedelta(minutes=30)
    half_hour = client.get("/fapi/v1/fundingInfo").json()

    assert [row["symbol"] for row in eight_hours] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert eight_hours[0] == {
        "symbol": "BTCUSDT",
        "adjustedFundingRateCap": "0.00750000",
        "adjustedFundingRateFloor": "-0.00750000",
        "fundingIntervalHours": 8,
        "disclaimer": False,
    }
    assert half_hour[0]["fundingIntervalHours"] == 0.5


@pytest.mark.parametrize(
    ("path", "params", "code", "msg"),
    [
        ("/fapi/v1/fundingRate", {"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
        (
            "/fapi/v1/fundingRate",
            {"startTime": "yesterday"},
            -1100,
            "Illegal characters found in parameter 'startTime'; legal range is '^[0-9]{1,20}$'.",
        ),
        (
            "/fapi/v1/fundingRate",
            {"endTime": "999999999999999999"},
            -1130,
            "Data sent for parameter 'endTime' is not valid.",
        ),
        (
            "/fapi/v1/fundingRate",
            {"limit": "-1"},
            -1100,
            "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
        ),
    ],
)
def test_bad_funding_queries_answer_binances_codes(client, settlements, path, params, code, msg):
    response = client.get(path, params)

    body = response.json()
    assert (response.status_code, body["code"], body["msg"]) == (400, code, msg)


def test_commission_rate_is_the_instruments_fees(binance):
    Instrument.objects.filter(symbol="SOLUSDT").update(
        maker_fee_rate=D("0.00015"), taker_fee_rate=D("0.0004")
    )

    btc = binance.get("/fapi/v1/commissionRate", {"symbol": "BTCUSDT"}).json()
    sol = binance.get("/fapi/v1/commissionRate", {"symbol": "SOLUSDT"}).json()

    assert btc == {
        "symbol": "BTCUSDT",
        "makerCommissionRate": "0.0002",
        "takerCommissionRate": "0.0005",
    }
    assert (sol["makerCommissionRate"], sol["takerCommissionRate"]) == ("0.00015", "0.0004")


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({}, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."),
        ({"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
    ],
)
def test_a_bad_commission_rate_query_answers_binances_code(binance, params, code, msg):
    response = binance.get("/fapi/v1/commissionRate", params)

    body = response.json()
    assert (response.status_code, body["code"], body["msg"]) == (400, code, msg)


def test_account_config_states_the_accounts_modes(binance):
    response = binance.get("/fapi/v1/accountConfig")

    assert (response.status_code, response.json()) == (
        200,
        {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": False,
            "canWithdraw": False,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
            "dualSidePosition": False,
            "updateTime": 0,
        },
    )


def test_account_config_and_commission_rate_need_a_signature(client, market):
    for path in ("/fapi/v1/accountConfig", "/fapi/v1/commissionRate"):
        response = client.get(path, {"symbol": "BTCUSDT"})
        assert (response.status_code, response.json()["code"]) == (401, -2014)


# --- triggers, both modes, time in force, edits, batches and the book ------------------

LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}


@pytest.fixture
def books(market):
    """Each book's best bid and ask a tick from the mark, a level every tick, 5 % deep (the
    seed's model); BTCUSDT 2 BTC a level."""
    Instrument.objects.update(
        book_half_spread_ticks=1, book_level_ticks=1, book_max_slippage_rate=D("0.05")
    )
    Instrument.objects.filter(symbol="BTCUSDT").update(book_level_quantity=D("2"))


def test_a_stop_the_book_filled_in_part_is_readable_as_the_order_it_became(books, binance):
    # given a long of 0.1 BTC and a reduce-only stop-market sell of it at 58,000, and a book that
    # then holds 0.01 BTC a level within 3 ticks of the mark
    binance.post("/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                    "quantity": "0.1"})  # fmt: skip
    stop = binance.post(
        "/fapi/v1/algoOrder",
        {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
         "quantity": "0.1", "triggerPrice": "58000", "reduceOnly": "true"},
    ).json()  # fmt: skip
    Instrument.objects.filter(symbol="BTCUSDT").update(
        book_level_quantity=D("0.01"), book_max_slippage_rate=D("0.0000052")
    )

    # when the mark falls through it: the book fills 0.03 of its 0.1 (57,899.9 to 57,899.7)
    mark_price_set(symbol="BTCUSDT", price=D("57900"))
    sweep_run()

    # then it executed what it filled: finished, naming the order it became, which is readable
    algo = binance.get("/fapi/v1/algoOrder", {"algoId": stop["algoId"]}).json()
    assert (algo["algoStatus"], algo["actualOrderId"]) == ("FINISHED", str(stop["algoId"]))
    actual = binance.get(
        "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": algo["actualOrderId"]}
    ).json()
    assert (actual["status"], actual["executedQty"], actual["avgPrice"]) == (
        "EXPIRED",
        "0.03000000",
        "57899.80000000",
    )
    trades = binance.get("/fapi/v1/userTrades", {"symbol": "BTCUSDT"}).json()
    assert (trades[-1]["orderId"], trades[-1]["qty"]) == (stop["algoId"], "0.03000000")


def test_a_triggered_stop_is_readable_as_the_market_order_it_became(books, binance, unchanged):
    # given a long and a reduce-only stop-market sell at 58,000
    binance.post("/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                    "quantity": "0.1"})  # fmt: skip
    stop = binance.post(
        "/fapi/v1/algoOrder",
        {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
         "quantity": "0.1", "triggerPrice": "58000", "reduceOnly": "true"},
    ).json()  # fmt: skip
    assert (stop["algoStatus"], stop["actualOrderId"]) == ("NEW", "")
    # while it waits, it is no regular order
    waiting = binance.get("/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": stop["algoId"]})
    assert waiting.json()["code"] == -2013

    # when the mark falls through it
    mark_price_set(symbol="BTCUSDT", price=D("57900"))
    sweep_run()

    # then the algo order is finished and names the order it became
    algo = binance.get("/fapi/v1/algoOrder", {"algoId": stop["algoId"]}).json()
    assert (algo["algoStatus"], algo["actualOrderId"], algo["actualPrice"]) == (
        "FINISHED",
        str(stop["algoId"]),
        "57899.90000000",  # the best bid (the mark 57,900 less a tick)
    )
    assert algo["triggerTime"] > 0
    actual = binance.get(
        "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": algo["actualOrderId"]}
    ).json()
    assert {
        name: actual[name]
        for name in (
            "orderId", "status", "type", "origType", "side", "reduceOnly", "stopPrice",
            "origQty", "executedQty", "avgPrice", "cumQuote", "time",
        )
    } == {
        "orderId": stop["algoId"],
        "status": "FILLED",
        "type": "MARKET",
        "origType": "STOP_MARKET",
        "side": "SELL",
        "reduceOnly": True,
        "stopPrice": "58000.00000000",
        "origQty": "0.10000000",
        "executedQty": "0.10000000",
        "avgPrice": "57899.90000000",
        "cumQuote": "5789.99000000",
        "time": algo["triggerTime"],
    }  # fmt: skip
    # and its fill, the order history and the open orders agree
    trades = binance.get("/fapi/v1/userTrades", {"symbol": "BTCUSDT"}).json()
    assert (trades[-1]["orderId"], trades[-1]["price"], trades[-1]["realizedPnl"]) == (
        stop["algoId"],
        "57899.90000000",
        "-210.02000000",  # bought at the ask, 60,000.1
    )
    history = binance.get("/fapi/v1/allOrders", {"symbol": "BTCUSDT"}).json()
    assert [(order["type"], order["status"]) for order in history] == [
        ("MARKET", "FILLED"),
        ("MARKET", "FILLED"),
    ]
    assert binance.get("/fapi/v1/openOrders").json() == []
    # a filled order cannot be canceled in either space
    with unchanged():
        regular = binance.delete("/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": stop["algoId"]})
        conditional = binance.delete("/fapi/v1/algoOrder", {"algoId": stop["algoId"]})
    assert (regular.json()["code"], conditional.json()["code"]) == (-2011, -2011)


def test_a_symbol_held_in_both_modes_shows_and_trades_the_position_of_its_margin_type(
    books, binance, trader, balanced_ledger
):
    # given BTCUSDT's margin type cross, a cross long of 0.1 through the facade and an
    # isolated long of 0.2 placed on the website
    binance.post("/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                    "quantity": "0.1"})  # fmt: skip
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.2", margin_mode="ISOLATED")

    # then the key sees the cross position alone; the totals count both
    (shown,) = binance.get("/fapi/v3/positionRisk", {"symbol": "BTCUSDT"}).json()
    assert (shown["marginType"], shown["positionAmt"]) == ("cross", "0.10000000")
    account = binance.get("/fapi/v3/account").json()
    assert [(p["symbol"], p["positionAmt"]) for p in account["positions"]] == [
        ("BTCUSDT", "0.10000000")
    ]
    assert (account["totalPositionInitialMargin"], account["totalWalletBalance"]) == (
        "900.00000000",
        "9990.99998500",  # 10,000 - the two fees at the ask 60,000.1: 3.000005 and 6.00001
    )

    # when a reduce-only sell of 0.1 goes through the facade, it closes the cross position
    closing = binance.post(
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.1",
         "reduceOnly": "true"},
    )  # fmt: skip
    assert (closing.status_code, closing.json()["status"]) == (200, "FILLED")
    isolated = Position.objects.get(user=trader, status="OPEN")
    assert (isolated.margin_mode, isolated.quantity) == ("ISOLATED", D("0.2"))
    assert binance.get("/fapi/v3/positionRisk").json() == []

    # and once the symbol's margin type is isolated, the isolated position is the one shown
    binance.post("/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})
    (shown,) = binance.get("/fapi/v2/positionRisk").json()
    assert (shown["marginType"], shown["positionAmt"], shown["isolatedWallet"]) == (
        "isolated",
        "0.20000000",
        "600.00100000",  # 0.2 x 60,000.1 / 20
    )


def test_a_margin_change_through_the_facade_never_reaches_a_position_it_does_not_show(
    books, binance, trader, unchanged
):
    # given BTCUSDT's margin type cross and an isolated long placed on the website: the key
    # sees no BTCUSDT position, so it cannot change that position's margin either
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.2", margin_mode="ISOLATED")

    with unchanged():
        added = binance.post(
            "/fapi/v1/positionMargin", {"symbol": "BTCUSDT", "amount": "10", "type": "1"}
        )
        removed = binance.post(
            "/fapi/v1/positionMargin", {"symbol": "BTCUSDT", "amount": "10", "type": "2"}
        )

    for answer in (added, removed):
        assert answer.status_code == 400
        assert answer.json()["code"] == -4049
        assert answer.json()["marginsite"]["message"] == (
            "BTCUSDT's margin type is CROSSED: only an isolated position's margin can be changed."
        )

    # once the symbol's margin type is isolated, that position is shown and its margin changes
    binance.post("/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"})
    added = binance.post(
        "/fapi/v1/positionMargin", {"symbol": "BTCUSDT", "amount": "10", "type": "1"}
    )
    assert added.status_code == 200
    (shown,) = binance.get("/fapi/v2/positionRisk").json()
    assert shown["isolatedWallet"] == "610.00100000"  # 0.2 x 60,000.1 / 20 + 10


def test_a_gtc_limit_the_book_fills_in_part_is_partially_filled_and_open(books, binance):
    # given a book of 0.02 BTC a level: a buy of 0.05 at 60,000.2 takes 0.02 at 60,000.1 and
    # 0.02 at 60,000.2, and the other 0.01 rests at 60,000.2
    Instrument.objects.filter(symbol="BTCUSDT").update(book_level_quantity=D("0.02"))
    placed = binance.post(
        "/fapi/v1/order", {**LIMIT, "quantity": "0.05", "price": "60000.2"}
    ).json()

    assert {name: placed[name] for name in ("status", "origQty", "executedQty", "avgPrice")} == {
        "status": "PARTIALLY_FILLED",
        "origQty": "0.05000000",
        "executedQty": "0.04000000",
        "avgPrice": "60000.15000000",
    }
    (open_order,) = binance.get("/fapi/v1/openOrders", {"symbol": "BTCUSDT"}).json()
    assert (open_order["orderId"], open_order["status"]) == (placed["orderId"], "PARTIALLY_FILLED")
    read = binance.get("/fapi/v1/openOrder", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert read.json()["status"] == "PARTIALLY_FILLED"

    # when it is canceled, what it filled stays filled
    canceled = binance.delete(
        "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}
    ).json()
    assert (canceled["status"], canceled["executedQty"]) == ("CANCELED", "0.04000000")
    (position,) = binance.get("/fapi/v3/positionRisk").json()
    assert position["positionAmt"] == "0.04000000"


def test_exchange_info_lists_the_four_times_in_force(books, client, market):
    (btc, *_) = client.get("/fapi/v1/exchangeInfo").json()["symbols"]

    assert btc["timeInForce"] == ["GTC", "IOC", "FOK", "GTX"]


def test_a_post_only_order_rests_as_a_maker(books, binance):
    order = binance.post(
        "/fapi/v1/order", {**LIMIT, "quantity": "0.01", "price": "60000", "timeInForce": "GTX"}
    ).json()

    assert (order["status"], order["timeInForce"], order["executedQty"]) == (
        "NEW",
        "GTX",
        "0.00000000",
    )


def test_an_ioc_fills_what_the_book_has_at_its_price_and_expires_the_rest(books, binance, trader):
    order = binance.post(
        "/fapi/v1/order", {**LIMIT, "quantity": "3", "price": "60000.1", "timeInForce": "IOC"}
    ).json()

    assert {
        name: order[name]
        for name in ("status", "timeInForce", "origQty", "executedQty", "avgPrice", "cumQuote")
    } == {
        "status": "EXPIRED",
        "timeInForce": "IOC",
        "origQty": "3.00000000",
        "executedQty": "2.00000000",
        "avgPrice": "60000.10000000",
        "cumQuote": "120000.20000000",
    }
    (position,) = binance.get("/fapi/v3/positionRisk").json()
    assert position["positionAmt"] == "2.00000000"


def test_a_fok_that_cannot_fill_whole_expires_with_nothing_filled(books, binance, trader):
    order = binance.post(
        "/fapi/v1/order", {**LIMIT, "quantity": "3", "price": "60000.1", "timeInForce": "FOK"}
    ).json()
    whole = binance.post(
        "/fapi/v1/order", {**LIMIT, "quantity": "0.1", "price": "60000.1", "timeInForce": "FOK"}
    ).json()

    assert (order["status"], order["executedQty"], order["avgPrice"]) == (
        "EXPIRED",
        "0.00000000",
        "0",
    )
    assert (whole["status"], whole["executedQty"], whole["avgPrice"]) == (
        "FILLED",
        "0.10000000",
        "60000.10000000",
    )
    trades = binance.get("/fapi/v1/userTrades", {"symbol": "BTCUSDT"}).json()
    assert [trade["orderId"] for trade in trades] == [whole["orderId"]]


def test_an_edit_changes_a_resting_orders_price_and_quantity_and_keeps_its_id(books, binance):
    order = binance.post("/fapi/v1/order", {**LIMIT, "quantity": "0.01", "price": "59000"}).json()

    edited = binance.request(
        "PUT",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "orderId": order["orderId"], "side": "BUY", "quantity": "0.02",
         "price": "59500"},
    ).json()  # fmt: skip

    assert (edited["orderId"], edited["status"], edited["origQty"], edited["price"]) == (
        order["orderId"],
        "NEW",
        "0.02000000",
        "59500.00000000",
    )
    (resting,) = binance.get("/fapi/v1/openOrders").json()
    assert (resting["orderId"], resting["price"]) == (order["orderId"], "59500.00000000")


def test_an_edit_through_the_book_executes_as_a_taker(books, binance):
    order = binance.post(
        "/fapi/v1/order",
        {**LIMIT, "quantity": "0.01", "price": "59000", "newClientOrderId": "edit-me"},
    ).json()

    edited = binance.request(
        "PUT",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "origClientOrderId": order["clientOrderId"], "side": "BUY",
         "quantity": "0.01", "price": "60001"},
    ).json()  # fmt: skip

    assert (edited["orderId"], edited["status"], edited["avgPrice"]) == (
        order["orderId"],
        "FILLED",
        "60000.10000000",
    )


@pytest.mark.parametrize(
    ("changes", "code", "msg"),
    [
        ({"price": "59000"}, -5027, "No need to modify the order."),
        ({"side": "SELL"}, -1117, "Invalid side."),
        ({"side": "HOLD"}, -1117, "Invalid side."),
        ({"orderId": "999999"}, -2013, "Order does not exist."),
        (
            {"orderId": None},
            -1102,
            "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty!",
        ),
        (
            {"price": None},
            -1102,
            "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
        ),
        ({"quantity": "0"}, -4003, "Quantity less than or equal to zero."),
        ({"price": "59000.05"}, -4014, "Price not increased by tick size."),
        ({"quantity": "0.0001"}, -4023, "Qty not increased by step size."),
        (
            {"quantity": "0.000000001"},
            -1111,
            "Precision is over the maximum defined for this asset.",
        ),
        (
            {"price": "1e5"},
            -1100,
            "Illegal characters found in parameter 'price'; legal range "
            "is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ),
        ({"quantity": "10"}, -2019, "Account has insufficient balance for requested action."),
        ({"priceMatch": "QUEUE"}, -1106, "Parameter 'priceMatch' sent when not required."),
    ],
)
def test_a_bad_edit_answers_binances_code_and_changes_nothing(
    books, binance, unchanged, changes, code, msg
):
    order = binance.post("/fapi/v1/order", {**LIMIT, "quantity": "0.01", "price": "59000"}).json()
    edit = {"symbol": "BTCUSDT", "orderId": order["orderId"], "side": "BUY", "quantity": "0.01",
            "price": "59500", **changes}  # fmt: skip

    with unchanged():
        response = binance.request(
            "PUT", "/fapi/v1/order", {k: v for k, v in edit.items() if v is not None}
        )

    body = response.json()
    assert (response.status_code, body["code"], body["msg"]) == (400, code, msg)


def test_a_done_order_cannot_be_edited(books, binance, unchanged):
    filled = binance.post("/fapi/v1/order", {**LIMIT, "quantity": "0.01", "price": "61000"}).json()
    edit = {"symbol": "BTCUSDT", "orderId": filled["orderId"], "side": "BUY", "quantity": "0.01",
            "price": "59000"}  # fmt: skip

    with unchanged():
        response = binance.request("PUT", "/fapi/v1/order", edit)

    body = response.json()
    assert (response.status_code, body["code"], body["msg"]) == (
        400,
        -4000,
        "Invalid order status.",
    )


def test_a_batch_places_the_good_orders_and_reports_each_bad_one(books, binance, trader):
    batch = [
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"},
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0"},
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": 0.01, "price": 59000,
         "timeInForce": "GTC", "reduceOnly": False, "newClientOrderId": "batch-3"},
        {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET", "quantity": "0.01",
         "stopPrice": "50000"},
        {"symbol": "DOGEUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"},
    ]  # fmt: skip

    answers = binance.post("/fapi/v1/batchOrders", {"batchOrders": json.dumps(batch)}).json()

    market_order, zero, limit, stop, doge = answers
    assert (market_order["status"], market_order["executedQty"]) == ("FILLED", "0.01000000")
    assert zero == {"code": -4003, "msg": "Quantity less than or equal to zero."} | {
        "marginsite": zero["marginsite"]
    }
    assert (limit["status"], limit["price"], limit["clientOrderId"], limit["reduceOnly"]) == (
        "NEW",
        "59000.00000000",
        "batch-3",
        False,
    )
    assert stop["code"] == -4120
    assert (doge["code"], doge["msg"]) == (-1121, "Invalid symbol.")
    assert Order.objects.filter(user=trader).count() == 2


@pytest.mark.parametrize(
    ("batch", "code", "msg"),
    [
        (
            None,
            -1102,
            "Mandatory parameter 'batchOrders' was not sent, was empty/null, or malformed.",
        ),
        ("[{", -1130, "Data sent for parameter 'batchOrders' is not valid."),
        ("{}", -1130, "Data sent for parameter 'batchOrders' is not valid."),
        ("[]", -1130, "Data sent for parameter 'batchOrders' is not valid."),
        ('["BTCUSDT"]', -1130, "Data sent for parameter 'batchOrders' is not valid."),
        ('[{"symbol": ["BTCUSDT"]}]', -1130, "Data sent for parameter 'batchOrders' is not valid."),
        # nested deeper than Python's stack: json raises RecursionError, not ValueError
        pytest.param(
            "[" * 100_000 + "]" * 100_000,
            -1130,
            "Data sent for parameter 'batchOrders' is not valid.",
            id="nested-past-the-stack",
        ),
        (
            json.dumps(
                [{"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}] * 6
            ),
            -1130,
            "Data sent for parameter 'batchOrders' is not valid.",
        ),
    ],
)
def test_a_bad_batch_is_refused_whole(books, binance, unchanged, batch, code, msg):
    with unchanged():
        response = binance.post(
            "/fapi/v1/batchOrders", {} if batch is None else {"batchOrders": batch}
        )

    body = response.json()
    assert (response.status_code, body["code"], body["msg"]) == (400, code, msg)


def test_book_ticker_and_depth_come_from_the_instruments_book(books, client, market):
    btc = client.get("/fapi/v1/ticker/bookTicker", {"symbol": "BTCUSDT"}).json()
    every = client.get("/fapi/v1/ticker/bookTicker").json()
    depth = client.get("/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "5"}).json()

    assert {name: btc[name] for name in ("symbol", "bidPrice", "bidQty", "askPrice", "askQty")} == {
        "symbol": "BTCUSDT",
        "bidPrice": "59999.90000000",
        "bidQty": "2.00000000",
        "askPrice": "60000.10000000",
        "askQty": "2.00000000",
    }
    assert btc["lastUpdateId"] == depth["lastUpdateId"]
    assert [(row["symbol"], row["bidPrice"], row["askPrice"]) for row in every] == [
        ("BTCUSDT", "59999.90000000", "60000.10000000"),
        ("ETHUSDT", "2999.99000000", "3000.01000000"),
        ("SOLUSDT", "149.99000000", "150.01000000"),
    ]
    assert depth["bids"] == [[f"{59999.9 - n / 10:.8f}", "2.00000000"] for n in range(5)]
    assert depth["asks"][:2] == [["60000.10000000", "2.00000000"], ["60000.20000000", "2.00000000"]]
    unknown = client.get("/fapi/v1/ticker/bookTicker", {"symbol": "DOGEUSDT"}).json()
    assert unknown["code"] == -1121


def test_a_batch_cancel_answers_each_order_in_turn(books, binance):
    ids = [
        binance.post(
            "/fapi/v1/order",
            {**LIMIT, "quantity": "0.01", "price": price, "newClientOrderId": f"rest-{price}"},
        ).json()["orderId"]
        for price in ("58000", "59000")
    ]

    by_id = binance.delete(
        "/fapi/v1/batchOrders",
        {"symbol": "BTCUSDT", "orderIdList": json.dumps([ids[0], 999999])},
    ).json()
    by_client_id = binance.delete(
        "/fapi/v1/batchOrders",
        {"symbol": "BTCUSDT", "origclientorderidlist": json.dumps(["rest-59000", "rest-58000"])},
    ).json()

    assert (by_id[0]["orderId"], by_id[0]["status"]) == (ids[0], "CANCELED")
    assert by_id[1] == {"code": -2011, "msg": "Unknown order sent."}
    assert (by_client_id[0]["orderId"], by_client_id[0]["status"]) == (ids[1], "CANCELED")
    assert (by_client_id[1]["code"], by_client_id[1]["msg"]) == (-2011, "Unknown order sent.")
    assert binance.get("/fapi/v1/openOrders").json() == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": "BTCUSDT"}, -1102),
        ({"orderIdList": "[1]"}, -1102),
        ({"symbol": "BTCUSDT", "orderIdList": "[1,"}, -1130),
        ({"symbol": "BTCUSDT", "orderIdList": '["1"]'}, -1130),
        ({"symbol": "BTCUSDT", "orderIdList": json.dumps(list(range(1, 12)))}, -1130),
        ({"symbol": "BTCUSDT", "origClientOrderIdList": "[1]"}, -1130),
        pytest.param(
            {"symbol": "BTCUSDT", "orderIdList": "[" * 2000 + "]" * 2000},
            -1130,
            id="nested-past-the-stack",
        ),
    ],
)
def test_a_bad_batch_cancel_is_refused_whole(books, binance, unchanged, params, code):
    binance.post("/fapi/v1/order", {**LIMIT, "quantity": "0.01", "price": "58000"})

    with unchanged():
        response = binance.delete("/fapi/v1/batchOrders", params)

    assert (response.status_code, response.json()["code"]) == (400, code)


def test_a_batch_edit_answers_each_edit_in_turn(books, binance):
    order = binance.post("/fapi/v1/order", {**LIMIT, "quantity": "0.01", "price": "58000"}).json()
    edits = [
        {"symbol": "BTCUSDT", "orderId": order["orderId"], "side": "BUY", "quantity": "0.02",
         "price": "58500"},
        {"symbol": "BTCUSDT", "orderId": 999999, "side": "BUY", "quantity": "0.02",
         "price": "58500"},
    ]  # fmt: skip

    answers = binance.request("PUT", "/fapi/v1/batchOrders", {"batchOrders": json.dumps(edits)})

    edited, unknown = answers.json()
    assert (edited["orderId"], edited["origQty"], edited["price"]) == (
        order["orderId"],
        "0.02000000",
        "58500.00000000",
    )
    assert (unknown["code"], unknown["msg"]) == (-2013, "Order does not exist.")
