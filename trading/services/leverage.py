"""Leverage per (symbol, margin mode), the symbol's default margin mode, and the refusal to change
the mode of an open position."""

from django.db import transaction

from trading.domain.holdings import engine_brackets
from trading.domain.margin_modes import mode_change_refusal
from trading.engine import max_notional_at_leverage
from trading.errors import (
    InvalidLeverage,
    LeverageReductionRefused,
    LeverageTooHigh,
    MarginInsufficient,
    MarginModeLocked,
    MarginModeUnchanged,
    NoPosition,
)
from trading.inputs import digits_as_int
from trading.models import (
    AuditEntry,
    LeverageSetting,
    MarginMode,
    Order,
    Position,
    SymbolMarginMode,
)
from trading.money import usdt
from trading.selectors import (
    holdings_load,
    instrument_get,
    leverage_for,
    margin_mode_checked,
    margin_mode_default,
)
from trading.selectors.holdings import mark_prices
from trading.selectors.instruments import margin_mode_inherited
from trading.services.audit_log import audit_record
from trading.services.locks import open_positions_lock, wallet_lock


def leverage_checked(leverage, *, maximum: int) -> int:
    """A whole number from 1 to ``maximum`` (an int, or a string of digits from a form)."""
    leverage = digits_as_int(leverage)
    if isinstance(leverage, bool) or not isinstance(leverage, int):
        raise InvalidLeverage(
            f"Leverage must be a whole number from 1 to {maximum}.", field="leverage"
        )
    if leverage < 1:
        raise InvalidLeverage(f"Leverage must be at least 1, not {leverage}.", field="leverage")
    if leverage > maximum:
        raise LeverageTooHigh(
            f"Leverage {leverage}x is above this symbol's maximum of {maximum}x.",
            field="leverage",
            reason=LeverageTooHigh.Reason.ABOVE_MAXIMUM,
        )
    return leverage


def leverage_set(*, user, symbol, margin_mode, leverage) -> LeverageSetting:
    """Set the leverage of (symbol, mode). With an open position of that mode, the position must
    fit the bracket cap at the new leverage; an isolated one may only raise it (its margin stays
    and more becomes removable); a cross one may lower it while the available balance stays >= 0.
    A change is recorded in the audit log."""
    instrument = instrument_get(symbol)
    margin_mode = margin_mode_checked(margin_mode)
    leverage = leverage_checked(leverage, maximum=instrument.max_leverage)
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        positions = open_positions_lock(user)
        position = next(
            (
                p
                for p in positions
                if p.instrument_id == instrument.pk and p.margin_mode == margin_mode
            ),
            None,
        )
        if position is not None:
            _position_leverage_change(user, wallet, positions, position, leverage)
        before = leverage_for(user=user, instrument=instrument, margin_mode=margin_mode)
        setting, _ = LeverageSetting.objects.update_or_create(
            user=user,
            instrument=instrument,
            margin_mode=margin_mode,
            defaults={"leverage": leverage},
        )
        if before != leverage:
            setting_audit(
                user,
                instrument,
                action=AuditEntry.Action.LEVERAGE_SET,
                before={"margin_mode": margin_mode, "leverage": before},
                after={"margin_mode": margin_mode, "leverage": leverage},
            )
    return setting


def setting_audit(user, instrument, *, action, before: dict, after: dict) -> None:
    """Record a user's change of a per-symbol setting, as "alice · BTCUSDT"."""
    audit_record(
        actor=user,
        action=action,
        target=user,
        label=f"{user.get_username()} · {instrument.symbol}",
        before={"symbol": instrument.symbol, **before},
        after={"symbol": instrument.symbol, **after},
    )


def _position_leverage_change(user, wallet, positions, position: Position, leverage: int):
    instrument = position.instrument
    brackets = engine_brackets(instrument)
    mark = mark_prices([instrument.pk]).get(instrument.pk, position.entry_price)
    cap = max_notional_at_leverage(brackets, leverage)
    notional = position.quantity * mark
    if notional > cap:
        raise LeverageTooHigh(
            f"At {leverage}x the largest position is {usdt(cap)} USDT; your {instrument.symbol} "
            f"position is {usdt(notional)} USDT.",
            field="leverage",
            reason=LeverageTooHigh.Reason.POSITION_TOO_LARGE,
        )
    lowering = leverage < position.leverage
    if lowering and position.margin_mode == MarginMode.ISOLATED:
        raise LeverageReductionRefused(
            "Leverage reduction is not supported in Isolated Margin Mode with open positions.",
            field="leverage",
        )
    position.leverage = leverage
    if lowering:
        # ``position`` is one of ``positions``: the figures see the new leverage
        holdings = holdings_load(user=user, wallet=wallet, positions=positions)
        available = holdings.figures().available_balance
        if available < 0:
            raise MarginInsufficient(
                f"At {leverage}x your cross positions would need {usdt(-available)} USDT more "
                "than your available balance.",
                field="leverage",
            )
    position.save(update_fields=["leverage", "updated_at"])


def symbol_margin_mode_set(*, user, symbol, margin_mode) -> SymbolMarginMode:
    """The symbol's default margin mode for new orders. Refused while the symbol has an open
    position or open order in the current default mode (Binance's rule)."""
    instrument = instrument_get(symbol)
    margin_mode = margin_mode_checked(margin_mode)
    with transaction.atomic(durable=True):
        wallet_lock(user)
        current = margin_mode_default(user=user, instrument=instrument)
        _symbol_mode_change_checked(user, instrument, current=current, wanted=margin_mode)
        setting, _ = SymbolMarginMode.objects.update_or_create(
            user=user, instrument=instrument, defaults={"margin_mode": margin_mode}
        )
        setting_audit(
            user,
            instrument,
            action=AuditEntry.Action.SYMBOL_MARGIN_MODE_SET,
            before={"margin_mode": current},
            after={"margin_mode": margin_mode},
        )
    return setting


def symbol_margin_mode_clear(*, user, symbol) -> str:
    """The symbol follows the default again (the instrument's, else the user's): its own default
    is removed. Returns the mode its new orders now get. Refused as ``symbol_margin_mode_set``
    when that changes the mode while a position or order is open in the current one; refused as
    unchanged when the symbol already follows the default."""
    instrument = instrument_get(symbol)
    with transaction.atomic(durable=True):
        wallet_lock(user)
        own = SymbolMarginMode.objects.filter(user=user, instrument=instrument).first()
        if own is None:
            raise MarginModeUnchanged(
                f"{instrument.symbol} already follows your default margin mode.",
                field="margin_mode",
            )
        inherited = margin_mode_inherited(user=user, instrument=instrument)
        if inherited != own.margin_mode:
            _symbol_mode_change_checked(user, instrument, current=own.margin_mode, wanted=inherited)
        own.delete()
        setting_audit(
            user,
            instrument,
            action=AuditEntry.Action.SYMBOL_MARGIN_MODE_SET,
            before={"margin_mode": own.margin_mode},
            after={"margin_mode": inherited, "follows_default": True},
        )
    return inherited


def _symbol_mode_change_checked(user, instrument, *, current: str, wanted: str) -> None:
    """Refuse moving the symbol's default from ``current`` to ``wanted``: unchanged, or while a
    position or order is open in ``current``."""
    if wanted == current:
        raise MarginModeUnchanged("No need to change margin type.", field="margin_mode")
    open_in_current = {"user": user, "instrument": instrument, "margin_mode": current}
    if Position.objects.filter(status=Position.Status.OPEN, **open_in_current).exists():
        reason = MarginModeLocked.Reason.OPEN_POSITION
    elif Order.objects.filter(status=Order.Status.NEW, **open_in_current).exists():
        reason = MarginModeLocked.Reason.OPEN_ORDERS
    else:
        return
    raise mode_change_refusal(symbol=instrument.symbol, held=current, wanted=wanted, reason=reason)


def position_margin_mode_change(*, user, symbol, margin_mode):
    """Always refused: the mode of an open position never changes. Says what to do instead."""
    instrument = instrument_get(symbol)
    margin_mode = margin_mode_checked(margin_mode)
    other = MarginMode.CROSS if margin_mode == MarginMode.ISOLATED else MarginMode.ISOLATED
    open_modes = set(
        Position.objects.filter(
            user=user, instrument=instrument, status=Position.Status.OPEN
        ).values_list("margin_mode", flat=True)
    )
    if other not in open_modes:
        if margin_mode in open_modes:
            raise MarginModeUnchanged(
                f"Your {instrument.symbol} position is already {margin_mode.title()}.",
                field="margin_mode",
            )
        raise NoPosition(
            f"You have no open {instrument.symbol} {other.title()} position.", field="symbol"
        )
    raise mode_change_refusal(
        symbol=instrument.symbol,
        held=other,
        wanted=margin_mode,
        reason=MarginModeLocked.Reason.OPEN_POSITION,
    )
