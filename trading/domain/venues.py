"""Venue rule profiles: the rules an instrument's margin and liquidation follow, one set per venue.

Each instrument follows one profile (``Instrument.venue``, picked by the operator); its bracket
table holds the venue's tiers. What differs between the venues, each a rule here (the maths in
trading/engine/):

- what the liquidation counts as an isolated position's margin (``isolated_collateral``: Bybit
  reserves the fee to close on added margin);
- how much isolated margin may be removed (``max_removable``);
- how a liquidation reduces a position before closing it (``partial_keep``), whether it charges
  the instrument's liquidation fee, and whether it then waits out a cooldown (with a backstop
  that closes the position whole meanwhile if its margin balance falls below a share of its
  maintenance margin) or goes on until the position is back in margin;
- how auto-deleveraging ranks the opposite positions (``adl_score``);
- how funding is paid: Binance's rate of a FUNDING_INTERVAL (8 hours by default) in
  ``funding_periods`` settlements across it, each at its share of the rate, capped (Hyperliquid:
  hourly, 1/8 of the 8-hour rate, at most 4 % an hour).

The sources of each rule are in docs/margin.md ("Venue profiles").
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from trading import engine
from trading.engine.partial_liquidation import bracket_step_keep, fraction_keep
from trading.engine.venues import (
    bybit_isolated_collateral,
    hyperliquid_max_removable_isolated_margin,
)
from trading.models import Venue
from trading.schedules import FUNDING_PERIODS_FINEST

HYPERLIQUID_PARTIAL_ABOVE = Decimal("100000")  # USDC of notional at the mark
HYPERLIQUID_PARTIAL_SHARE = Decimal("0.2")
HYPERLIQUID_FUNDING_CAP = Decimal("0.04")  # an hour
FUNDING_RATE_PLACES = Decimal("1e-8")


@dataclass(frozen=True)
class AdlStanding:
    """A position as auto-deleveraging ranks it: its side (+1 long, -1 short), uPnL, notional at
    the mark, entry price and mark, and the margin balance behind it (its isolated margin +
    uPnL, or the account's cross margin balance)."""

    side: int
    unrealized_pnl: Decimal
    notional: Decimal
    entry_price: Decimal
    mark_price: Decimal
    margin_balance: Decimal


@dataclass(frozen=True)
class VenueRules:
    venue: Venue
    # what the liquidation counts as an isolated margin: (position, margin, leverage, taker fee)
    isolated_collateral: Callable[[engine.PositionState, Decimal, int, Decimal], Decimal]
    # how much isolated margin may be removed: (position, margin, leverage)
    max_removable: Callable[[engine.PositionState, Decimal, int], Decimal]
    # the size a partial liquidation step keeps (None: close the position whole)
    partial_keep: Callable[[engine.PositionState, Decimal], Decimal | None]
    charges_liquidation_fee: bool
    # after a partial step: 0, go on until the position is back in margin; else wait this long,
    # unless the margin balance falls below ``backstop_ratio`` x the maintenance margin
    cooldown_seconds: int
    backstop_ratio: Decimal | None
    adl_score: Callable[[AdlStanding], Decimal]
    # funding settlements per FUNDING_INTERVAL (a divisor of FUNDING_PERIODS_FINEST), and the cap
    # of one settlement's rate
    funding_periods: int = 1
    funding_rate_cap: Decimal | None = None
    # how its liquidation goes, in a trader's words (the confirmation screen says it)
    liquidation_summary: str = ""

    def backstop(self, *, margin_balance: Decimal, maintenance: Decimal) -> bool:
        """Past the backstop: the position is closed whole at once, cooldown or not."""
        ratio = self.backstop_ratio
        return ratio is not None and margin_balance < ratio * maintenance

    def liquidation_fee_rate(self, instrument_rate: Decimal) -> Decimal:
        """The liquidation fee rate charged: the instrument's, where the venue charges one."""
        return instrument_rate if self.charges_liquidation_fee else Decimal(0)

    def funding_interval(self, interval: timedelta) -> timedelta:
        """The time between two of its funding settlements, FUNDING_INTERVAL being ``interval``."""
        return interval / self.funding_periods

    def funding_rate(self, interval_rate: Decimal) -> Decimal:
        """The rate of one settlement, from the rate of a whole FUNDING_INTERVAL (Binance's):
        its share, capped, to the rate's 8 decimals."""
        rate = (interval_rate / self.funding_periods).quantize(FUNDING_RATE_PLACES)
        cap = self.funding_rate_cap
        return rate if cap is None else max(-cap, min(cap, rate))


def _effective_leverage(standing: AdlStanding) -> Decimal | None:
    if standing.margin_balance <= 0:
        return None
    return standing.notional / standing.margin_balance


def _binance_adl_score(standing: AdlStanding) -> Decimal:
    """PnL% x effective leverage for a profit, PnL% / effective leverage for a loss, PnL% being
    uPnL / notional and the effective leverage notional / margin balance (Binance's ranking):
    the most profitable and most leveraged first."""
    pnl_rate = standing.unrealized_pnl / standing.notional
    leverage = _effective_leverage(standing)
    if leverage is None:
        return pnl_rate
    return pnl_rate * leverage if pnl_rate > 0 else pnl_rate / leverage


def _bybit_adl_score(standing: AdlStanding) -> Decimal:
    """Bybit ranks by profit and effective leverage: the price change from the entry in the
    position's favour, times the effective leverage for a profit, over it for a loss."""
    change = standing.side * (standing.mark_price / standing.entry_price - 1)
    leverage = _effective_leverage(standing)
    if leverage is None:
        return change
    return change * leverage if change > 0 else change / leverage


def _hyperliquid_adl_score(standing: AdlStanding) -> Decimal:
    """Hyperliquid's sorting index, (mark / entry) x (notional / account value) for a long; a
    short's profit is the other way, (entry / mark)."""
    leverage = _effective_leverage(standing) or Decimal(0)
    ratio = (
        standing.mark_price / standing.entry_price
        if standing.side > 0
        else standing.entry_price / standing.mark_price
    )
    return ratio * leverage


def _no_fee_collateral(state, margin, leverage, taker_fee_rate) -> Decimal:
    return margin


def _binance_removable(state, margin, leverage) -> Decimal:
    return engine.max_removable_isolated_margin(state, isolated_margin=margin, leverage=leverage)


def _bracket_step(state, step_size) -> Decimal | None:
    return bracket_step_keep(state, step_size=step_size)


BINANCE = VenueRules(
    venue=Venue.BINANCE,
    isolated_collateral=_no_fee_collateral,
    max_removable=_binance_removable,
    partial_keep=_bracket_step,
    charges_liquidation_fee=True,
    cooldown_seconds=0,
    backstop_ratio=None,
    adl_score=_binance_adl_score,
    liquidation_summary="orders cancelled, then one bracket down at a time until back in margin",
)

BYBIT = VenueRules(
    venue=Venue.BYBIT,
    isolated_collateral=lambda state, margin, leverage, taker_fee_rate: bybit_isolated_collateral(
        state, isolated_margin=margin, leverage=leverage, taker_fee_rate=taker_fee_rate
    ),
    max_removable=_binance_removable,
    partial_keep=_bracket_step,
    charges_liquidation_fee=False,
    cooldown_seconds=0,
    backstop_ratio=None,
    adl_score=_bybit_adl_score,
    liquidation_summary="one risk-limit tier down at a time; the fee to close is reserved",
)

HYPERLIQUID = VenueRules(
    venue=Venue.HYPERLIQUID,
    isolated_collateral=_no_fee_collateral,
    max_removable=lambda state, margin, leverage: hyperliquid_max_removable_isolated_margin(
        state, isolated_margin=margin, leverage=leverage
    ),
    partial_keep=lambda state, step_size: fraction_keep(
        state,
        step_size=step_size,
        above_notional=HYPERLIQUID_PARTIAL_ABOVE,
        fraction=HYPERLIQUID_PARTIAL_SHARE,
    ),
    charges_liquidation_fee=False,
    cooldown_seconds=30,
    backstop_ratio=Decimal(2) / Decimal(3),
    adl_score=_hyperliquid_adl_score,
    funding_periods=FUNDING_PERIODS_FINEST,
    funding_rate_cap=HYPERLIQUID_FUNDING_CAP,
    liquidation_summary="20 % of a position above 100,000, then a 30 s pause",
)

RULES = {rules.venue: rules for rules in (BINANCE, BYBIT, HYPERLIQUID)}


def venue_rules(venue: str) -> VenueRules:
    return RULES[Venue(venue)]
