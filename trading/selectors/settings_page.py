"""The read model of /settings. ``account_settings`` loads the trading settings the page shows (its
API keys are the accounts app's) with a fixed number of queries, whatever the number of
instruments: the rules of ``margin_mode_resolved`` (the mode of a symbol's new orders) and
``leverage_for`` (its leverage per mode), applied to rows fetched in bulk."""

from dataclasses import dataclass
from decimal import Decimal

from trading.domain.leverage import leverage_default
from trading.domain.margin_modes import margin_mode_resolved
from trading.models import (
    Instrument,
    LeverageSetting,
    MarginMode,
    Order,
    Position,
    Preferences,
    SymbolMarginMode,
    Wallet,
)
from trading.selectors.instruments import instrument_list


@dataclass(frozen=True)
class LeverageCell:
    """The leverage of one (symbol, mode), and whether a position of that mode is open (which
    restricts the change: an isolated one may only be raised)."""

    margin_mode: str
    leverage: int
    has_open_position: bool

    @property
    def margin_mode_label(self) -> str:
        return MarginMode(self.margin_mode).label


@dataclass(frozen=True)
class SymbolSettings:
    """One instrument's row of /settings. ``own_margin_mode`` is the symbol's own default (None:
    it follows ``inherited_margin_mode``, the instrument's default if the operator set one, else
    the user's default); ``margin_mode`` is the one its new orders get."""

    instrument: Instrument
    own_margin_mode: str | None
    inherited_margin_mode: str
    margin_mode: str
    leverage: tuple[LeverageCell, ...]
    open_position_modes: tuple[str, ...]  # sorted: CROSS before ISOLATED
    open_order_modes: tuple[str, ...]


@dataclass(frozen=True)
class AccountSettings:
    default_margin_mode: str
    wallet_balance: Decimal | None  # None: the user has no wallet (made outside user_create)
    has_open_positions: bool
    has_open_orders: bool
    symbols: tuple[SymbolSettings, ...]


def _modes_by_instrument(rows) -> dict[int, tuple[str, ...]]:
    modes: dict[int, set[str]] = {}
    for instrument_id, margin_mode in rows:
        modes.setdefault(instrument_id, set()).add(margin_mode)
    return {instrument_id: tuple(sorted(found)) for instrument_id, found in modes.items()}


def account_settings(*, user) -> AccountSettings:
    """What /settings shows: the default margin mode, each symbol's default mode and leverage per
    mode, what is open (the reason some changes are refused) and the wallet balance."""
    # order_by(): the Meta.ordering of these rows would join the user (by username) for nothing
    default_mode = (
        Preferences.objects.filter(user=user)
        .order_by()
        .values_list("default_margin_mode", flat=True)
        .first()
        or MarginMode.CROSS
    )
    own_modes = dict(
        SymbolMarginMode.objects.filter(user=user)
        .order_by()
        .values_list("instrument_id", "margin_mode")
    )
    stored_leverage = {
        (instrument_id, margin_mode): leverage
        for instrument_id, margin_mode, leverage in LeverageSetting.objects.filter(user=user)
        .order_by()
        .values_list("instrument_id", "margin_mode", "leverage")
    }
    position_modes = _modes_by_instrument(
        Position.objects.filter(user=user, status=Position.Status.OPEN)
        .order_by()
        .values_list("instrument_id", "margin_mode")
    )
    order_modes = _modes_by_instrument(
        Order.objects.filter(user=user, status=Order.Status.NEW)
        .order_by()
        .values_list("instrument_id", "margin_mode")
    )
    wallet_balance = (
        Wallet.objects.filter(user=user).order_by().values_list("balance", flat=True).first()
    )
    symbols = []
    for instrument in instrument_list():
        open_positions = position_modes.get(instrument.pk, ())
        default_leverage = leverage_default(instrument)
        symbols.append(
            SymbolSettings(
                instrument=instrument,
                own_margin_mode=own_modes.get(instrument.pk),
                inherited_margin_mode=margin_mode_resolved(
                    symbol_default=None,
                    instrument_default=instrument.default_margin_mode,
                    user_default=default_mode,
                ),
                margin_mode=margin_mode_resolved(
                    symbol_default=own_modes.get(instrument.pk),
                    instrument_default=instrument.default_margin_mode,
                    user_default=default_mode,
                ),
                leverage=tuple(
                    LeverageCell(
                        margin_mode=mode,
                        leverage=stored_leverage.get((instrument.pk, mode), default_leverage),
                        has_open_position=mode in open_positions,
                    )
                    for mode in MarginMode.values
                ),
                open_position_modes=open_positions,
                open_order_modes=order_modes.get(instrument.pk, ()),
            )
        )
    return AccountSettings(
        default_margin_mode=default_mode,
        wallet_balance=wallet_balance,
        has_open_positions=bool(position_modes),
        has_open_orders=bool(order_modes),
        symbols=tuple(symbols),
    )
