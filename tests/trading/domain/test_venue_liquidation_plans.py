"""The liquidation rule on Hyperliquid's and Bybit's profiles, as pure plans (no database): the
steps each venue takes, their sizes and what each settles, to the cent."""

from decimal import Decimal

import pytest

from trading.domain.holdings import Holdings
from trading.domain.liquidation import Terms, cross_liquidation_plan, isolated_liquidation_plan
from trading.domain.settlement import PositionHeld
from trading.domain.venues import BYBIT, HYPERLIQUID
from trading.engine import CrossHolding, IsolatedHolding, PositionState
from trading.engine.brackets import brackets_from_rows
from trading.engine.venues import bybit_isolated_collateral, hyperliquid_brackets

D = Decimal
STEP = D("0.001")
FUND = D("1000000")
HL_TIERS = hyperliquid_brackets([(0, 150_000_000, 40), (150_000_000, 10**15, 20)])
BYBIT_TIERS = brackets_from_rows(  # the first three of Bybit's BTCUSDT risk limits (the seed's)
    [
        ["0", "2000000", 100, "0.005", "0"],
        ["2000000", "2600000", 90, "0.0056", "1200"],
        ["2600000", "3200000", 80, "0.0063", "3020"],
    ]
)
KEY = (1, "ISOLATED")
CROSS_KEY = (1, "CROSS")


def isolated_long(quantity, mark, margin, leverage, tiers, collateral=None):
    state = PositionState(1, D(quantity), D("100000"), D(mark), tiers)
    holding = IsolatedHolding(state, D(margin), leverage, collateral)
    held = PositionHeld(1, D(quantity), D("100000"), D(margin), leverage)
    return Holdings(D("0"), D("0"), {KEY: holding}), held


def hyperliquid_terms(cooling=False):
    return Terms(HYPERLIQUID, STEP, D("0"), D("0.00045"), cooling=cooling)


def test_hyperliquid_sends_a_fifth_of_a_large_position_then_waits():
    """2 BTC long at 100,000, 40x, margin 5,000; at 98,700 the margin balance 2,400 is below the
    maintenance 2,467.50 but above the backstop (2/3, 1,645): 0.4 BTC goes at the mark, without
    a fee, and the position waits out the cooldown."""
    holdings, held = isolated_long("2", "98700", "5000", 40, HL_TIERS)
    plan = isolated_liquidation_plan(
        holdings, KEY, held=held, terms=hyperliquid_terms(), fund_balance=FUND
    )
    assert [(s.quantity, s.final) for s in plan.steps] == [(D("0.4"), False)]
    settlement = plan.steps[0].settlement
    assert settlement.realized_pnl == D("-520.0")
    assert settlement.fee == 0
    assert settlement.position.quantity == D("1.6")
    assert settlement.position.isolated_margin == D("4480.0")
    assert plan.survived is True
    assert plan.fund_balance == FUND


def test_hyperliquid_takes_no_step_while_its_cooldown_runs():
    holdings, held = isolated_long("2", "98400", "5000", 40, HL_TIERS)  # balance 1,800 >= 1,640
    plan = isolated_liquidation_plan(
        holdings, KEY, held=held, terms=hyperliquid_terms(cooling=True), fund_balance=FUND
    )
    assert plan.steps == ()
    assert plan.survived is True


@pytest.mark.parametrize("cooling", [True, False])
def test_hyperliquid_backstop_closes_the_position_whole_cooldown_or_not(cooling):
    """At 98,300 the margin balance 1,600 is below 2/3 of the maintenance 2,457.50 (1,638.33)."""
    holdings, held = isolated_long("2", "98300", "5000", 40, HL_TIERS)
    plan = isolated_liquidation_plan(
        holdings, KEY, held=held, terms=hyperliquid_terms(cooling=cooling), fund_balance=FUND
    )
    assert [(s.quantity, s.final) for s in plan.steps] == [(D("2"), True)]
    assert plan.steps[0].settlement.position is None
    assert plan.survived is False
    # no liquidation fee on Hyperliquid: the fund takes the margin balance left, 1,600
    assert plan.fund_balance == FUND + D("1600")


def test_hyperliquid_closes_a_position_at_most_100000_notional_whole():
    holdings, held = isolated_long("1", "97600", "2500", 40, HL_TIERS)  # notional 97,600
    plan = isolated_liquidation_plan(
        holdings, KEY, held=held, terms=hyperliquid_terms(), fund_balance=FUND
    )
    assert [(s.quantity, s.final) for s in plan.steps] == [(D("1"), True)]
    assert plan.fund_balance == FUND + D("100")


def test_hyperliquid_cross_step_then_cooldown():
    """Wallet 10,000, 2 BTC cross long at 100,000 on Hyperliquid, the mark at 96,000: margin
    balance 2,000, maintenance 2,400, backstop 1,600. One step: 0.4 BTC at the mark, the wallet
    pays its loss of 1,600; the rest waits."""
    state = PositionState(1, D("2"), D("100000"), D("96000"), HL_TIERS)
    holdings = Holdings(D("10000"), D("0"), {CROSS_KEY: CrossHolding(state, 40)})
    plan = cross_liquidation_plan(
        holdings,
        held={CROSS_KEY: PositionHeld(1, D("2"), D("100000"), D("0"), 40)},
        terms={CROSS_KEY: hyperliquid_terms()},
        fund_balance=FUND,
    )
    assert [(s.quantity, s.final) for s in plan.steps] == [(D("0.4"), False)]
    assert plan.steps[0].settlement.wallet_balance == D("8400.0")
    assert plan.survived is True
    assert plan.wallet_taken == 0


def test_bybit_steps_one_risk_limit_tier_down_without_a_fee():
    """25 BTC long at 100,000, 20x, margin 125,000 (notional 2,500,000: tier 2, MMR 0.56 %).
    At 95,400 the margin balance 10,000 is below the maintenance 12,156: the position is cut to
    tier 1's cap, 20.964 BTC, closing 4.036 at the mark (loss 18,565.60, no fee). Bybit counts the
    margin above the initial one less the fee to close on it: collateral 104,820 + 1,614.40 /
    0.99945, margin balance 10,000.89 above tier 1's maintenance of 9,999.83: it survives."""
    state = PositionState(1, D("25"), D("100000"), D("95400"), BYBIT_TIERS)
    holdings, held = isolated_long("25", "95400", "125000", 20, BYBIT_TIERS)
    terms = Terms(BYBIT, STEP, D("0"), D("0.00055"))
    assert bybit_isolated_collateral(
        state, isolated_margin=D("125000"), leverage=20, taker_fee_rate=D("0.00055")
    ) == D("125000")
    plan = isolated_liquidation_plan(holdings, KEY, held=held, terms=terms, fund_balance=FUND)
    assert [(s.quantity, s.final) for s in plan.steps] == [(D("4.036"), False)]
    settlement = plan.steps[0].settlement
    assert settlement.realized_pnl == D("-18565.600")
    assert settlement.fee == 0
    assert settlement.position.isolated_margin == D("106434.400")
    assert plan.survived is True
    assert plan.fund_balance == FUND
