import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch

from marginsite.errors import InvalidInput
from trading.domain.leverage import leverage_default
from trading.domain.margin_modes import margin_mode_resolved
from trading.domain.venues import venue_rules
from trading.errors import UnknownSymbol
from trading.models import (
    Instrument,
    LeverageBracket,
    LeverageSetting,
    MarginMode,
    Preferences,
    SymbolMarginMode,
)

# letters and digits, in parts joined by single hyphens (BTC-PERP), 20 characters at most
SYMBOL = re.compile(r"(?=.{1,20}$)[A-Za-z0-9]+(-[A-Za-z0-9]+)*")


def instrument_list(*, venue: str | None = None) -> list[Instrument]:
    """Every instrument (on ``venue``'s rules only, if given) with its brackets, by symbol."""
    instruments = Instrument.objects.prefetch_related(
        Prefetch("brackets", queryset=LeverageBracket.objects.order_by("tier"))
    )
    return list(instruments.filter(venue=venue) if venue else instruments)


@dataclass(frozen=True)
class RulesShown:
    """What a screen says of the venue rules an instrument follows."""

    venue: str  # the venue's label
    liquidation: str  # how its liquidation goes
    liquidation_fee_rate: Decimal  # what is charged (0 where the venue charges none)
    funding_interval: timedelta


def instrument_rules(instrument: Instrument) -> RulesShown:
    rules = venue_rules(instrument.venue)
    return RulesShown(
        instrument.get_venue_display(),
        rules.liquidation_summary,
        rules.liquidation_fee_rate(instrument.liquidation_fee_rate),
        rules.funding_interval(settings.FUNDING_INTERVAL),
    )


def instrument_get(symbol, *, venue: str | None = None) -> Instrument:
    """The instrument called ``symbol`` (case-insensitive), on ``venue``'s rules if given (one
    on another venue's is not found, like a missing one), or UnknownSymbol."""
    if not isinstance(symbol, str) or not SYMBOL.fullmatch(symbol.strip()):
        raise UnknownSymbol("symbol must be a symbol such as BTCUSDT.", field="symbol")
    instruments = Instrument.objects.prefetch_related("brackets")
    try:
        return (instruments.filter(venue=venue) if venue else instruments).get(
            symbol=symbol.strip().upper()
        )
    except Instrument.DoesNotExist:
        raise UnknownSymbol(f"Unknown symbol {symbol.strip()!r}.", field="symbol") from None


def margin_mode_checked(margin_mode) -> str:
    if margin_mode not in MarginMode.values:
        raise InvalidInput(
            f"margin_mode must be CROSS or ISOLATED, not {margin_mode!r}.", field="margin_mode"
        )
    return margin_mode


def margin_mode_default(*, user, instrument: Instrument) -> str:
    """The mode an order on ``instrument`` gets when it names none (trading/domain/margin_modes.py
    has the rule)."""
    symbol_default = (
        SymbolMarginMode.objects.filter(user=user, instrument=instrument)
        .values_list("margin_mode", flat=True)
        .first()
    )
    return symbol_default or margin_mode_inherited(user=user, instrument=instrument)


def margin_mode_inherited(*, user, instrument: Instrument) -> str:
    """The mode an order on ``instrument`` gets when neither it nor the symbol's own default names
    one: what a symbol that follows the default follows."""
    user_default = (
        Preferences.objects.filter(user=user).values_list("default_margin_mode", flat=True).first()
    )
    return margin_mode_resolved(
        symbol_default=None,
        instrument_default=instrument.default_margin_mode,
        user_default=user_default,
    )


def leverage_for(*, user, instrument: Instrument, margin_mode: str) -> int:
    """The leverage stored for (symbol, mode), else the instrument's default."""
    stored = (
        LeverageSetting.objects.filter(user=user, instrument=instrument, margin_mode=margin_mode)
        .values_list("leverage", flat=True)
        .first()
    )
    return stored or leverage_default(instrument)
