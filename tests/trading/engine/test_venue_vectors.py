"""Bybit's and Hyperliquid's rules against their published figures (vectors/venue_cases.json,
sources in the file): Hyperliquid's real position outputs to rel. 1e-4 (as freqtrade checks them;
the venue rounds the collateral it reports to 6 decimals), Bybit's worked example to the cent."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from trading.engine import (
    PositionState,
    cross_liquidation_price,
    isolated_liquidation_price,
    maintenance_margin,
)
from trading.engine.brackets import brackets_with_amounts
from trading.engine.venues import (
    bybit_isolated_collateral,
    hyperliquid_brackets,
    hyperliquid_maintenance_rate,
    hyperliquid_max_removable_isolated_margin,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parent / "vectors" / "venue_cases.json").read_text(encoding="utf-8")
)
HYPERLIQUID_TOLERANCE = Decimal("1e-4")
UNCAPPED = Decimal("1e15")
SIDES = {"long": 1, "short": -1}


def hyperliquid_position(case, mark=None):
    entry = Decimal(case["entry_price"])
    return PositionState(
        side=SIDES[case["side"]],
        quantity=Decimal(case["quantity"]),
        entry_price=entry,
        mark_price=entry if mark is None else mark,
        brackets=hyperliquid_brackets([(0, UNCAPPED, case["max_leverage"])]),
    )


@pytest.mark.parametrize(
    "case",
    VECTORS["hyperliquid_isolated"],
    ids=lambda c: f"{c['coin']}-{c['side']}-{c['entry_price']}x{c['leverage']}",
)
def test_hyperliquid_liquidation_price_matches_the_venue(case):
    expected = Decimal(case["liquidation_price"])
    position = hyperliquid_position(case)
    collateral = Decimal(case["collateral"])
    isolated = isolated_liquidation_price(position, isolated_margin=collateral)
    # freqtrade's cross check: the wallet is the collateral and nothing else is open
    cross = cross_liquidation_price(position, wallet_balance=collateral, others=[])
    for computed in (isolated, cross):
        assert abs(computed - expected) <= HYPERLIQUID_TOLERANCE * expected


def test_there_are_32_hyperliquid_rows():
    assert len(VECTORS["hyperliquid_isolated"]) == 32


def test_hyperliquid_maintenance_is_half_the_initial_margin_at_max_leverage():
    tiers = hyperliquid_brackets([(0, 150_000_000, 40), (150_000_000, UNCAPPED, 20)])
    assert [t.maintenance_margin_rate for t in tiers] == [Decimal("0.0125"), Decimal("0.025")]
    # the deduction keeps maintenance continuous at the floor: 150M x (0.025 - 0.0125)
    assert tiers[1].maintenance_amount == Decimal("1875000")
    position = PositionState(1, Decimal("2000"), Decimal("100000"), Decimal("100000"), tiers)
    assert maintenance_margin(position) == Decimal("200000000") * Decimal("0.025") - 1875000
    assert hyperliquid_maintenance_rate(50) == Decimal("0.01")


def test_the_hyperliquid_worked_example_in_the_docs():
    """0.5 BTC long at 100,000, 10x, margin 5,000, MMR 1.25 % (40x): LP 91,139.24."""
    position = PositionState(
        1,
        Decimal("0.5"),
        Decimal("100000"),
        Decimal("100000"),
        hyperliquid_brackets([(0, UNCAPPED, 40)]),
    )
    price = isolated_liquidation_price(position, isolated_margin=Decimal("5000"))
    assert price.quantize(Decimal("0.01")) == Decimal("91139.24")


@pytest.mark.parametrize(
    ("mark", "margin", "leverage", "removable"),
    [
        # notional 50,000 at 10x: what stays must be max(IM 5,000, 10 % 5,000) = 5,000
        ("100000", "8000", 10, "3000"),
        # at 20x the 10 % floor binds: 5,000, not IM 2,500
        ("100000", "8000", 20, "3000"),
        # the mark at 96,000: uPnL -2,000, notional 48,000, floor 4,800 -> 8,000 - 2,000 - 4,800
        ("96000", "8000", 20, "1200"),
        # a profit does not make more than the margin removable... up to the margin itself
        ("150000", "8000", 20, "8000"),
        # past the floor nothing may go
        ("92000", "8000", 10, "0"),
    ],
)
def test_hyperliquid_removes_isolated_margin_down_to_the_larger_of_im_and_ten_percent(
    mark, margin, leverage, removable
):
    position = PositionState(
        1,
        Decimal("0.5"),
        Decimal("100000"),
        Decimal(mark),
        hyperliquid_brackets([(0, UNCAPPED, 40)]),
    )
    assert hyperliquid_max_removable_isolated_margin(
        position, isolated_margin=Decimal(margin), leverage=leverage
    ) == Decimal(removable)


@pytest.mark.parametrize("case", VECTORS["bybit_isolated"], ids=lambda c: c["liquidation_price"])
def test_bybit_liquidation_price_matches_its_worked_example(case):
    rate = Decimal(case["maintenance_margin_rate"])
    position = PositionState(
        SIDES[case["side"]],
        Decimal(case["quantity"]),
        Decimal(case["entry_price"]),
        Decimal(case["entry_price"]),
        brackets_with_amounts([(Decimal(0), UNCAPPED, 100, rate)]),
    )
    collateral = bybit_isolated_collateral(
        position,
        isolated_margin=Decimal(case["isolated_margin"]),
        leverage=case["leverage"],
        taker_fee_rate=Decimal(case["taker_fee_rate"]),
    )
    # 800 of initial margin, and the 3,000 added counted less the fee to close on it
    assert collateral.quantize(Decimal("1e-12")) == Decimal("3801.650907999400")
    price = isolated_liquidation_price(position, isolated_margin=collateral)
    assert price.quantize(Decimal("0.01")) == Decimal(case["liquidation_price"])


def test_bybit_counts_a_short_s_added_margin_with_the_fee_the_other_way():
    position = PositionState(
        -1,
        Decimal("1"),
        Decimal("40000"),
        Decimal("40000"),
        brackets_with_amounts([(Decimal(0), UNCAPPED, 100, Decimal("0.005"))]),
    )
    collateral = bybit_isolated_collateral(
        position,
        isolated_margin=Decimal("3800"),
        leverage=50,
        taker_fee_rate=Decimal("0.00055"),
    )
    assert collateral.quantize(Decimal("1e-12")) == Decimal("3798.350907001149")
