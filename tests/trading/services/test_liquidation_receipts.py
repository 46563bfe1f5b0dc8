"""The migration that made liquidation receipts records (trading/migrations/0009): an event written
before it kept only its positions, prices and totals; the migration fills in every other figure
the receipt shows from the instruments as they are when it runs, exactly as the receipt computed
them until then.

Seeded market: BTCUSDT mark 60,000, ETHUSDT 3,000, SOLUSDT 150; BTCUSDT and ETHUSDT brackets
below 50,000 notional MMR 0.004, cum 0; 50,000 up to 600,000 MMR 0.005, cum 50. SOLUSDT below
5,000: MMR 0.005, cum 0. Every trader starts with 10,000 USDT.
"""

import importlib

import pytest
from django.apps import apps

from accounts.services import superuser_create
from trading.models import LiquidationEvent
from trading.services import leverage_set, mark_price_set, order_place, sweep_run
from trading.services.instruments import instrument_update

pytestmark = pytest.mark.django_db

backfill = importlib.import_module(
    "trading.migrations.0009_liquidation_receipts_as_records"
).receipts_backfill

# what a receipt kept of each position before the migration
OLD_KEYS = {
    "position",
    "symbol",
    "side",
    "quantity",
    "entry_price",
    "mark_price",
    "liquidation_price",
    "bankruptcy_price",
}


def as_written_before_the_migration(event: LiquidationEvent) -> None:
    old = [{key: value for key, value in row.items() if key in OLD_KEYS} for row in event.details]
    LiquidationEvent.objects.filter(pk=event.pk).update(details=old, brackets={})


def opened(user, *orders) -> None:
    """Market ``orders`` of (symbol, side, quantity, mode) at 20x, at the seed marks."""
    for symbol, side, quantity, mode in orders:
        leverage_set(user=user, symbol=symbol, margin_mode=mode, leverage=20)
        order_place(user=user, symbol=symbol, side=side, quantity=quantity, margin_mode=mode)


def without_venue(details: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "venue"} for row in details]


def test_the_backfill_writes_an_old_isolated_receipt_as_the_liquidation_would_have(trader):
    # given a 1 BTC isolated long at 60,000, 20x (margin 3,000) liquidated at a mark of 57,200
    opened(trader, ("BTCUSDT", "BUY", "1", "ISOLATED"))
    mark_price_set(symbol="BTCUSDT", price="57200")
    sweep_run()
    recorded = LiquidationEvent.objects.get(user=trader)
    # and its row as an event written before the migration
    as_written_before_the_migration(recorded)

    backfill(apps, None)

    # then the backfill fills in the very figures the liquidation records now
    event = LiquidationEvent.objects.get(pk=recorded.pk)
    # (but for the venue, which the receipts of that time did not name: all were Binance's)
    assert event.details == without_venue(recorded.details)
    assert event.brackets == recorded.brackets
    assert event.details[0]["maintenance_bracket"] == ["50000", "600000", 100, "0.005", "50"]


def test_the_backfill_counts_the_other_cross_positions_of_an_old_cross_receipt(trader):
    # given cross longs of 50 ETH at 3,000 and 20 SOL at 150, liquidated when ETH falls to 2,810
    opened(trader, ("ETHUSDT", "BUY", "50", "CROSS"), ("SOLUSDT", "BUY", "20", "CROSS"))
    mark_price_set(symbol="ETHUSDT", price="2810")
    sweep_run()
    recorded = LiquidationEvent.objects.get(user=trader)
    as_written_before_the_migration(recorded)

    backfill(apps, None)

    # then each position has the other's maintenance margin and uPnL: SOL sees ETH's
    # 140,500 x 0.005 - 50 = 652.5 and 50 x (2,810 - 3,000) = -9,500
    event = LiquidationEvent.objects.get(pk=recorded.pk)
    # (but for the venue, which the receipts of that time did not name: all were Binance's)
    assert event.details == without_venue(recorded.details)
    assert event.brackets == recorded.brackets
    sol = event.details[1]
    assert (sol["others_maintenance_margin"], sol["others_unrealized_pnl"]) == ("652.5", "-9500")


def test_the_backfill_takes_the_brackets_and_terms_as_they_are_when_it_runs(trader):
    # given an old receipt of a 1 BTC isolated long liquidated at 57,200
    opened(trader, ("BTCUSDT", "BUY", "1", "ISOLATED"))
    mark_price_set(symbol="BTCUSDT", price="57200")
    sweep_run()
    as_written_before_the_migration(LiquidationEvent.objects.get(user=trader))
    # whose instrument an operator changed before the migration ran
    instrument_update(
        operator=superuser_create(username="operator", password="a-long-passphrase-7"),
        symbol="BTCUSDT",
        tick_size="1",
        brackets=[("0", "100000", 50, "0.01"), ("100000", "1000000", 20, "0.02")],
    )

    backfill(apps, None)

    # then it reads what the receipt showed the day before: today's brackets (cum of tier 2:
    # 100,000 x (0.02 - 0.01) = 1,000) and tick; its stored prices stay as they were
    (row,) = LiquidationEvent.objects.get(user=trader).details
    assert row["maintenance_bracket"] == ["0", "100000", 50, "0.01", "0"]
    assert row["liquidation_bracket"] == ["0", "100000", 50, "0.01", "0"]
    assert row["tick_size"] == "1.00000000"
    assert (row["liquidation_price"], row["bankruptcy_price"]) == (
        "57236.18090452",
        "57000.00000000",
    )
    assert LiquidationEvent.objects.get(user=trader).brackets == {
        "BTCUSDT": [["0", "100000", 50, "0.01", "0"], ["100000", "1000000", 20, "0.02", "1000"]]
    }
