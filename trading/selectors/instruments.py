import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch

from marginsite.errors import InvalidInput
from trading.domain.leverage import leverage_default
from trading.domain.margin_modes import margin_mode_resolved
from trading.domain.venues import venue_rules
from trading.errors import UnknownSymbol
from trading.models import (
    Instrument,
    InstrumentsVersion,
    LedgerAccount,
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


def _symbol_checked(symbol) -> str:
    if not isinstance(symbol, str) or not SYMBOL.fullmatch(symbol.strip()):
        raise UnknownSymbol("symbol must be a symbol such as BTCUSDT.", field="symbol")
    return symbol.strip().upper()


def _unknown(symbol: str) -> UnknownSymbol:
    return UnknownSymbol(f"Unknown symbol {symbol.strip()!r}.", field="symbol")


def instrument_get(symbol, *, venue: str | None = None) -> Instrument:
    """The instrument called ``symbol`` (case-insensitive), on ``venue``'s rules if given (one
    on another venue's is not found, like a missing one), or UnknownSymbol."""
    wanted = _symbol_checked(symbol)
    instruments = Instrument.objects.prefetch_related("brackets")
    try:
        return (instruments.filter(venue=venue) if venue else instruments).get(symbol=wanted)
    except Instrument.DoesNotExist:
        raise _unknown(symbol) from None


# --- the instruments kept in memory, for placing orders and reading accounts -----------------
#
# An order reads its instrument and brackets from this process's copy of every instrument, not
# from the database. The copy is tagged with the version (InstrumentsVersion) it was loaded
# after; the statement that locks the trader's wallet reads the version too
# (trading/services/locks.py), and a copy of another version is replaced before the order goes
# on. A change is thus seen by every process from its next order, whatever wrote it; the ids of
# the system ledger accounts (created once) are kept beside it (trading/services/ledger.py). A
# read of an account (selectors/holdings.py) reads the version with it too (instruments_read).


@dataclass(frozen=True)
class _Instruments:
    version: int | None  # None: the version row is missing (a flushed test database)
    by_pk: dict[int, Instrument]
    by_symbol: dict[str, Instrument]
    ledger_accounts: dict[str, LedgerAccount] = field(default_factory=dict)


_instruments: _Instruments | None = None


def _instruments_load(version: int | None) -> _Instruments:
    global _instruments
    _instruments = _instruments_loaded(version)
    return _instruments


def _instruments_loaded(version: int | None) -> _Instruments:
    loaded = instrument_list()
    return _Instruments(version, {i.pk: i for i in loaded}, {i.symbol: i for i in loaded})


def _instruments_fresh() -> _Instruments:
    return _instruments_load(InstrumentsVersion.objects.values_list("version", flat=True).first())


def instruments_version_seen(version: int | None) -> None:
    """``version`` was read in the current transaction with the wallet's lock (an order's): from
    here on, this process's instruments are those of that version or later."""
    if _instruments is None or version is None or _instruments.version != version:
        _instruments_load(version)


def instruments_read(version: int | None, pks: set[int]) -> dict[int, Instrument]:
    """Instruments ``pks`` with their brackets (id -> instrument), for a read of the account whose
    statement saw ``version`` (selectors/holdings.py's ``holdings_read``): from this process's
    copy when it is of that version, else from a copy loaded now. Outside a transaction that copy
    becomes the process's, as an order's does: loaded after the version was read, it is at least
    as new. Inside one it is the reader's alone: a transaction's snapshot (a live page's
    REPEATABLE READ) may be older than the copy an order on another thread has just loaded, and
    that order must not be handed older instruments."""
    instruments = _instruments
    if (
        instruments is None
        or version is None
        or instruments.version != version
        or not pks <= instruments.by_pk.keys()
    ):
        instruments = (
            _instruments_loaded(version)
            if connection.in_atomic_block
            else _instruments_load(version)
        )
    return {pk: _own(instruments, instruments.by_pk[pk]) for pk in pks}


def instruments_forget() -> None:
    """Drop this process's copy (the tests do, as each rolls its database back)."""
    global _instruments
    _instruments = None


def instruments_version() -> int | None:
    """The version of this process's copy (None: none loaded, or no version row)."""
    return None if _instruments is None else _instruments.version


def instrument_cached(symbol, *, venue: str | None = None) -> Instrument:
    """``instrument_get`` from this process's copy: the instrument of the last version this
    process saw (one it does not know, or knows on another venue, is looked for in the database
    first). An order checks its request with it, and again under its lock if the version has
    moved since."""
    wanted = _symbol_checked(symbol)

    def found(instruments: _Instruments) -> Instrument | None:
        instrument = instruments.by_symbol.get(wanted)
        return instrument if instrument and venue in (None, instrument.venue) else None

    instruments = _instruments or _instruments_fresh()
    if found(instruments) is None:
        instruments = _instruments_fresh()
    if (instrument := found(instruments)) is None:
        raise _unknown(symbol)
    return _own(instruments, instrument)


def instrument_by_pk(pk: int) -> Instrument:
    """Instrument ``pk`` with its brackets, from this process's copy (see above)."""
    instruments = _instruments or _instruments_fresh()
    if pk not in instruments.by_pk:
        instruments = _instruments_fresh()
    return _own(instruments, instruments.by_pk[pk])


def _own(instruments: _Instruments, instrument: Instrument) -> Instrument:
    """A copy for the caller to attach to its rows (related rows a caller reads through it are
    cached on the copy, never on the process's), tagged with its version."""
    mine = copy.copy(instrument)
    mine.instruments_version = instruments.version
    return mine


def system_ledger_accounts() -> dict[str, LedgerAccount]:
    """The system ledger accounts (kind -> the row, its id and kind) read while this copy is
    current, for trading/services/ledger.py to fill and read: they are created once and never
    change, but a test database's are rolled back, flushed (which moves the version) or created
    anew."""
    return (_instruments or _instruments_fresh()).ledger_accounts


def margin_mode_checked(margin_mode) -> str:
    if margin_mode not in MarginMode.values:
        raise InvalidInput(
            f"margin_mode must be CROSS or ISOLATED, not {margin_mode!r}.", field="margin_mode"
        )
    return margin_mode


def margin_mode_default(*, user, instrument: Instrument) -> str:
    """The mode an order on ``instrument`` gets when it names none (trading/domain/margin_modes.py
    has the rule)."""
    return margin_mode_defaults(user=user, instruments=[instrument])[instrument.pk]


def margin_mode_defaults(*, user, instruments: Iterable[Instrument]) -> dict[int, str]:
    """``margin_mode_default`` of each of ``instruments`` (instrument id -> mode), in two queries
    whatever their number (the Binance facade's account shows each position's symbol's), one
    when every symbol has a default of its own."""
    instruments = {instrument.pk: instrument for instrument in instruments}
    symbol_defaults = dict(
        SymbolMarginMode.objects.filter(user=user, instrument_id__in=instruments).values_list(
            "instrument_id", "margin_mode"
        )
    )
    user_default = None if len(symbol_defaults) == len(instruments) else _user_default_mode(user)
    return {
        pk: margin_mode_resolved(
            symbol_default=symbol_defaults.get(pk),
            instrument_default=instrument.default_margin_mode,
            user_default=user_default,
        )
        for pk, instrument in instruments.items()
    }


def margin_mode_inherited(*, user, instrument: Instrument) -> str:
    """The mode an order on ``instrument`` gets when neither it nor the symbol's own default names
    one: what a symbol that follows the default follows."""
    return margin_mode_resolved(
        symbol_default=None,
        instrument_default=instrument.default_margin_mode,
        user_default=_user_default_mode(user),
    )


def _user_default_mode(user) -> str | None:
    """The mode the user chose on /settings for the symbols that follow the default (None: none
    chosen)."""
    return (
        Preferences.objects.filter(user=user).values_list("default_margin_mode", flat=True).first()
    )


def leverage_for(*, user, instrument: Instrument, margin_mode: str) -> int:
    """The leverage stored for (symbol, mode), else the instrument's default."""
    stored = (
        LeverageSetting.objects.filter(user=user, instrument=instrument, margin_mode=margin_mode)
        .values_list("leverage", flat=True)
        .first()
    )
    return stored or leverage_default(instrument)
