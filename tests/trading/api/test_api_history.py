"""The user's history through the native API: fills, the ledger (JSON and CSV), liquidations
with their receipts and funding payments; each a list of the user's own rows, newest first,
in pages.

Seeded market: BTCUSDT 60,000, ETHUSDT 3,000, SOLUSDT 150; taker fee 0.05 %; 20x by default.
Brackets of BTCUSDT and ETHUSDT: below 50,000 notional MMR 0.004, cum 0; 50,000 up to 600,000
MMR 0.005, cum 50. SOLUSDT below 5,000: MMR 0.005, cum 0. Every trader starts with 10,000 USDT.
"""

import csv
import io

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.services import superuser_create
from tests.builders import open_position
from trading.services import funding_settle, mark_price_set, order_place, sweep_run
from trading.services.funding import funding_time_of
from trading.services.instruments import instrument_update

pytestmark = pytest.mark.django_db

LEDGER_KINDS = (
    "DEPOSIT, RESET, FEE, REALIZED_PNL, ISOLATED_MARGIN, INSURANCE, LIQUIDATION, LIQUIDATION_FEE, "
    "FUNDING"
)


def without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "created_at"} for row in rows]


@pytest.fixture
def round_trip(trader, signed):
    """alice buys 0.1 BTC isolated at 60,000 (margin 300, fee 3) and closes it at 61,000 (profit
    100, fee 3.05): two fills, and ledger entries 1 (deposit) to 6."""
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="61000")
    (position,) = signed.get("/api/v1/positions").json()
    signed.post(f"/api/v1/positions/{position['id']}/close")
    return position["id"]


# --- fills ---------------------------------------------------------------------------------


def test_fills_are_listed_newest_first_with_fee_and_realized_pnl(signed, round_trip):
    fills = signed.get("/api/v1/fills").json()

    assert (fills["count"], fills["next"], fills["previous"]) == (2, None, None)
    common = {"position_id": round_trip, "symbol": "BTCUSDT", "margin_mode": "ISOLATED"}
    common |= {"quantity": "0.10000000", "liquidity": "TAKER"}
    closing, opening = without_times(fills["results"])
    assert closing == {
        **common,
        "id": closing["id"],
        "order_id": closing["order_id"],
        "side": "SELL",
        "price": "61000.00000000",
        "fee": "3.05000000",  # 6,100 x 0.0005
        "realized_pnl": "100.00000000",  # 0.1 x (61,000 - 60,000)
    }
    assert opening == {
        **common,
        "id": opening["id"],
        "order_id": opening["order_id"],
        "side": "BUY",
        "price": "60000.00000000",
        "fee": "3.00000000",
        "realized_pnl": "0.00000000",
    }
    assert closing["id"] > opening["id"]


def test_the_history_comes_in_pages(signed, round_trip):
    first = signed.get("/api/v1/fills?page_size=1").json()
    second = signed.get("/api/v1/fills?page=2&page_size=1").json()

    assert first["count"] == second["count"] == 2
    assert first["next"] == "http://testserver/api/v1/fills?page=2&page_size=1"
    assert second["previous"] == "http://testserver/api/v1/fills?page_size=1"
    assert (first["results"][0]["side"], second["results"][0]["side"]) == ("SELL", "BUY")
    ledger = signed.get("/api/v1/ledger?kind=FEE&page_size=1").json()
    assert ledger["next"] == "http://testserver/api/v1/ledger?kind=FEE&page=2&page_size=1"


def test_a_page_past_the_end_is_a_404_in_the_error_shape(signed, round_trip):
    response = signed.get("/api/v1/fills?page=3&page_size=1")

    assert response.status_code == 404
    assert response.json() == {
        "code": "NOT_FOUND",
        "message": "Invalid page.",
        "field": None,
        "reason": None,
    }


def test_the_history_shows_only_the_users_own_rows(signed, make_trader):
    bob = make_trader("bob")
    open_position(bob, "BUY", "0.1")

    assert signed.get("/api/v1/fills").json()["count"] == 0
    assert [line["kind"] for line in signed.get("/api/v1/ledger").json()["results"]] == ["DEPOSIT"]


# --- the ledger ----------------------------------------------------------------------------


def test_the_ledger_signs_each_movement_from_the_users_side(signed, round_trip):
    ledger = signed.get("/api/v1/ledger").json()

    assert ledger["count"] == 6
    rows = [
        (line["kind"], line["symbol"], line["amount"], line["source"], line["destination"],
         line["memo"], line["position_id"], line["order_id"] is not None)
        for line in ledger["results"]
    ]  # fmt: skip
    btc_margin, position = "BTCUSDT isolated margin", round_trip
    assert rows == [
        ("FEE", "BTCUSDT", "-3.05000000", "Wallet", "Fees", "", position, True),
        ("ISOLATED_MARGIN", "BTCUSDT", "300.00000000", btc_margin, "Wallet", "margin released",
         position, True),
        ("REALIZED_PNL", "BTCUSDT", "100.00000000", "House", "Wallet", "", position, True),
        ("FEE", "BTCUSDT", "-3.00000000", "Wallet", "Fees", "", position, True),
        ("ISOLATED_MARGIN", "BTCUSDT", "-300.00000000", "Wallet", btc_margin, "initial margin",
         position, True),
        ("DEPOSIT", None, "10000.00000000", "Paper deposits", "Wallet", "starting balance", None,
         False),
    ]  # fmt: skip
    # the wallet's rows add up to the wallet: 10,000 - 300 - 3 + 100 + 300 - 3.05
    assert signed.get("/api/v1/account").json()["wallet_balance"] == "10093.95000000"


def test_the_ledger_filters_by_kind(signed, round_trip):
    fees = signed.get("/api/v1/ledger?kind=FEE").json()

    assert [line["amount"] for line in fees["results"]] == ["-3.05000000", "-3.00000000"]


def test_an_unknown_ledger_kind_is_refused_not_ignored(signed, round_trip):
    json_answer = signed.get("/api/v1/ledger?kind=fees")
    csv_answer = signed.get("/api/v1/ledger.csv?kind=fees", HTTP_ACCEPT="text/csv")

    expected = {
        "code": "INVALID_INPUT",
        "message": f'Unknown ledger entry kind "fees". Choose one of: {LEDGER_KINDS}.',
        "field": "kind",
        "reason": None,
    }
    assert (json_answer.status_code, csv_answer.status_code) == (400, 400)
    assert json_answer.json() == csv_answer.json() == expected


def test_the_ledger_csv_has_the_json_columns_and_decimals_as_written(signed, round_trip):
    response = signed.get("/api/v1/ledger.csv", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ledger.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "id", "created_at", "kind", "symbol", "amount", "source", "destination", "memo",
        "position_id", "order_id",
    ]  # fmt: skip
    assert [row[2:8] for row in rows[1:]] == [
        ["FEE", "BTCUSDT", "-3.05000000", "Wallet", "Fees", ""],
        ["ISOLATED_MARGIN", "BTCUSDT", "300.00000000", "BTCUSDT isolated margin", "Wallet",
         "margin released"],
        ["REALIZED_PNL", "BTCUSDT", "100.00000000", "House", "Wallet", ""],
        ["FEE", "BTCUSDT", "-3.00000000", "Wallet", "Fees", ""],
        ["ISOLATED_MARGIN", "BTCUSDT", "-300.00000000", "Wallet", "BTCUSDT isolated margin",
         "initial margin"],
        ["DEPOSIT", "", "10000.00000000", "Paper deposits", "Wallet", "starting balance"],
    ]  # fmt: skip
    assert rows[-1][8:] == ["", ""]  # a deposit has no position and no order
    json_lines = signed.get("/api/v1/ledger").json()["results"]
    assert [row[0] for row in rows[1:]] == [str(line["id"]) for line in json_lines]
    assert [row[1] for row in rows[1:]] == [line["created_at"] for line in json_lines]


def test_the_ledger_csv_of_one_kind_is_named_after_it(signed, round_trip):
    response = signed.get("/api/v1/ledger.csv?kind=REALIZED_PNL")

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response["Content-Disposition"] == 'attachment; filename="ledger-REALIZED_PNL.csv"'
    assert len(lines) == 2
    assert ",REALIZED_PNL,BTCUSDT,100.00000000,House,Wallet,," in lines[1]


# --- liquidations --------------------------------------------------------------------------


@pytest.fixture
def isolated_liquidation(trader):
    """alice's isolated long of 1 BTC at 60,000, 20x (margin 3,000), liquidated at a mark of
    57,200: margin balance 3,000 - 2,800 = 200 <= maintenance 57,200 x 0.005 - 50 = 236."""
    open_position(trader, "BUY", "1")
    mark_price_set(symbol="BTCUSDT", price="57200")
    sweep_run()


def test_a_liquidation_is_listed_with_its_position_at_the_trigger(signed, isolated_liquidation):
    liquidations = signed.get("/api/v1/liquidations").json()

    assert liquidations["count"] == 1
    (event,) = without_times(liquidations["results"])
    assert event == {
        "id": event["id"],
        "margin_mode": "ISOLATED",
        "margin_balance": "200.00000000",
        "maintenance_margin": "236.00000000",
        "loss": "3000.00000000",  # exactly the margin
        # closed at the bankruptcy price 57,000: the fund takes 1 x (57,200 - 57,000)
        "insurance_fund_change": "200.00000000",
        "positions": [
            {
                "position_id": event["positions"][0]["position_id"],
                "symbol": "BTCUSDT",
                "side": "LONG",
                "quantity": "1.00000000",
                "entry_price": "60000.00000000",
                "mark_price": "57200.00000000",
                # (3,000 + 50 - 60,000) / (0.005 - 1) = 57,236.1809045226...
                "liquidation_price": "57236.18090452",
                "bankruptcy_price": "57000.00000000",  # 60,000 - 3,000 / 1
            }
        ],
    }


def test_an_isolated_receipt_shows_the_figures_its_prices_follow_from(signed, isolated_liquidation):
    (event,) = signed.get("/api/v1/liquidations").json()["results"]

    receipt = signed.get(f"/api/v1/liquidations/{event['id']}").json()

    assert receipt["created_at"] == event["created_at"]
    del receipt["created_at"]
    assert receipt == {
        "id": event["id"],
        "margin_mode": "ISOLATED",
        "collateral": "3000.00000000",
        "margin_balance": "200.00000000",
        "maintenance_margin": "236.00000000",
        "loss": "3000.00000000",
        "insurance_fund_change": "200.00000000",
        "positions": [
            {
                "symbol": "BTCUSDT",
                "side": "LONG",
                "quantity": "1.00000000",
                "entry_price": "60000.00000000",
                "mark_price": "57200.00000000",
                "unrealized_pnl": "-2800.00000000",
                "maintenance_margin_rate": "0.00500000",  # 57,200 is in bracket 2
                "maintenance_amount": "50.00000000",
                "others_maintenance_margin": "0.00000000",
                "others_unrealized_pnl": "0.00000000",
                "liquidation_price": "57236.18090452",
                "liquidation_price_display": "57236.20000000",  # a long's: up to the tick
                "liquidation_bracket": {
                    "notional_floor": "50000.00000000",
                    "notional_cap": "600000.00000000",
                    "max_leverage": 100,
                    "maintenance_margin_rate": "0.00500000",
                    "maintenance_amount": "50.00000000",
                },
                "bankruptcy_price": "57000.00000000",
            }
        ],
        # in Cross the wallet, 10,000 - 3,000 - 30 with the margin back, 9,970, would have
        # carried the 2,800 loss: LP = (9,970 + 50 - 60,000) / (0.005 - 1) = 50,231.1557...
        "other_mode": {
            "mode": "CROSS",
            "outcome": "In Cross, this move would have taken 2,800.00 USDT from your wallet and "
            "left you open (liq. price 50,231.2).",
            "positions": [
                {
                    "position_id": event["positions"][0]["position_id"],
                    "symbol": "BTCUSDT",
                    "side": "LONG",
                    "liquidation_price": "50231.15577889",
                    "liquidation_price_display": "50231.20000000",
                    "at_risk": "9970.00000000",
                    "unrealized_pnl": "-2800.00000000",
                    "liquidated": False,
                }
            ],
        },
    }


def test_a_cross_receipt_counts_the_other_cross_positions(signed, trader):
    # given cross longs of 50 ETH at 3,000 (fee 75) and 20 SOL at 150 (fee 1.5): wallet 9,923.5
    open_position(trader, "BUY", "50", symbol="ETHUSDT", margin_mode="CROSS")
    open_position(trader, "BUY", "20", symbol="SOLUSDT", margin_mode="CROSS")
    # when ETH falls to 2,810: margin balance 9,923.5 - 9,500 = 423.5
    #   <= maintenance (140,500 x 0.005 - 50) + 3,000 x 0.005 = 652.5 + 15 = 667.5
    mark_price_set(symbol="ETHUSDT", price="2810")
    sweep_run()
    (event,) = signed.get("/api/v1/liquidations").json()["results"]

    receipt = signed.get(f"/api/v1/liquidations/{event['id']}").json()

    assert (receipt["margin_mode"], receipt["collateral"], receipt["loss"]) == (
        "CROSS",
        "9923.50000000",
        "9923.50000000",
    )
    assert (receipt["margin_balance"], receipt["maintenance_margin"]) == (
        "423.50000000",
        "667.50000000",
    )
    eth, sol = receipt["positions"]
    # ETH with SOL beside it: TMM1 = 15, UPNL1 = 0;
    #   LP = (9,923.5 - 15 + 0 + 50 - 50 x 3,000) / (50 x 0.005 - 50) = 2,814.9045226130...
    assert (eth["symbol"], eth["unrealized_pnl"]) == ("ETHUSDT", "-9500.00000000")
    assert (eth["others_maintenance_margin"], eth["others_unrealized_pnl"]) == (
        "15.00000000",
        "0.00000000",
    )
    assert (eth["liquidation_price"], eth["liquidation_price_display"]) == (
        "2814.90452261",
        "2814.91000000",
    )
    # SOL with ETH beside it: TMM1 = 652.5, UPNL1 = -9,500;
    #   LP = (9,923.5 - 652.5 - 9,500 + 0 - 20 x 150) / (20 x 0.005 - 20) = 162.2613065326...
    assert (sol["symbol"], sol["unrealized_pnl"]) == ("SOLUSDT", "0.00000000")
    assert (sol["others_maintenance_margin"], sol["others_unrealized_pnl"]) == (
        "652.50000000",
        "-9500.00000000",
    )
    assert sol["liquidation_price"] == "162.26130653"
    assert sol["liquidation_bracket"]["maintenance_amount"] == "0.00000000"


def test_a_receipt_reads_the_same_after_the_operator_changes_the_instrument(
    signed, isolated_liquidation
):
    # given alice's receipt as it read at the liquidation
    (event,) = signed.get("/api/v1/liquidations").json()["results"]
    before = signed.get(f"/api/v1/liquidations/{event['id']}").json()
    # when an operator changes BTCUSDT's bracket table and its tick
    instrument_update(
        operator=superuser_create(username="operator", password="a-long-passphrase-7"),
        symbol="BTCUSDT",
        tick_size="1",
        brackets=[("0", "100000", 50, "0.01"), ("100000", "1000000", 20, "0.02")],
    )

    after = signed.get(f"/api/v1/liquidations/{event['id']}").json()

    # then every figure is as it was: the brackets of the trigger, the display on its tick
    assert after == before
    (position,) = after["positions"]
    assert (position["maintenance_margin_rate"], position["maintenance_amount"]) == (
        "0.00500000",
        "50.00000000",
    )
    assert position["liquidation_price_display"] == "57236.20000000"


def test_someone_elses_liquidation_is_not_found(signed, make_trader, key_of):
    bob = make_trader("bob")
    open_position(bob, "BUY", "1")
    mark_price_set(symbol="BTCUSDT", price="57200")
    sweep_run()
    (bobs,) = key_of(bob).get("/api/v1/liquidations").json()["results"]

    response = signed.get(f"/api/v1/liquidations/{bobs['id']}")

    assert response.status_code == 404
    assert response.json() == {
        "code": "NOT_FOUND",
        "message": "Liquidation not found.",
        "field": None,
        "reason": None,
    }
    assert signed.get("/api/v1/liquidations").json()["count"] == 0


# --- funding -------------------------------------------------------------------------------


def test_funding_payments_show_what_each_position_paid_or_received(signed, trader):
    # given a cross BTC long of 1 and an isolated ETH short of 10 at 3,000
    open_position(trader, "BUY", "1", margin_mode="CROSS")
    open_position(trader, "SELL", "10", symbol="ETHUSDT")
    funding_time = funding_time_of(timezone.now()) + settings.FUNDING_INTERVAL

    # when funding settles with no price history: rate = interest 0.01 %
    funding_settle(now=funding_time)

    payments = signed.get("/api/v1/funding-payments").json()
    assert payments["count"] == 2
    time = funding_time.isoformat().replace("+00:00", "Z")
    rows = [
        (p["symbol"], p["margin_mode"], p["funding_time"], p["rate"], p["mark_price"], p["amount"])
        for p in payments["results"]
    ]
    assert rows == [
        # the short receives 30,000 x 0.0001 = 3, the long pays 60,000 x 0.0001 = 6
        ("ETHUSDT", "ISOLATED", time, "0.00010000", "3000.00000000", "3.00000000"),
        ("BTCUSDT", "CROSS", time, "0.00010000", "60000.00000000", "-6.00000000"),
    ]
    positions = {p["symbol"]: p["id"] for p in signed.get("/api/v1/positions").json()}
    assert [p["position_id"] for p in payments["results"]] == [
        positions["ETHUSDT"],
        positions["BTCUSDT"],
    ]


def test_a_read_only_key_reads_the_whole_history(key_of, trader, round_trip):
    reader = key_of(trader, permission="READ_ONLY")

    paths = ["fills", "ledger", "ledger.csv", "liquidations", "funding-payments"]
    assert [reader.get(f"/api/v1/{path}").status_code for path in paths] == [200] * 5
