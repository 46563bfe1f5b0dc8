"""Creating, changing, halting and resuming instruments, and loading the demo market.

A bracket table is validated by the engine before anything is written, so an instrument is never
stored with tiers that would make liquidation prices ambiguous. An operator types each tier's
floor, cap, max leverage and maintenance margin rate; the maintenance amounts follow from the
recurrence, and the instrument's max leverage is always its first tier's. Every operator change is
recorded in the audit log, and an edit marks every account holding the instrument due for the next
sweep: its stored watch prices were computed with the old terms (trading/services/watch.py).

The order book's liquidity model (trading/engine/book.py) is a set of terms like the others: a
half spread and a level spacing in ticks, a quantity per level on the step, and a maximum
slippage between 0 and MAX_SLIPPAGE_RATE.
"""

import json
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import NamedTuple

from django.db import IntegrityError, transaction

from marginsite.errors import InvalidInput
from trading.domain.holdings import engine_brackets
from trading.domain.leverage import leverage_default
from trading.engine import Bracket, brackets_from_rows, brackets_validate
from trading.engine.brackets import BracketTableInvalid, brackets_with_amounts
from trading.engine.venues import hyperliquid_maintenance_rate
from trading.errors import InstrumentStatusUnchanged, InvalidBrackets, UnknownSymbol
from trading.inputs import DECIMAL_PLACES, decimal_from_input, digits_as_int, on_step
from trading.models import (
    AuditEntry,
    Instrument,
    LeverageBracket,
    LeverageSetting,
    MarginMode,
    MarkPrice,
    Order,
    Position,
    Preferences,
    SymbolMarginMode,
    Venue,
    Wallet,
)
from trading.money import ZERO
from trading.selectors.instruments import SYMBOL
from trading.services.audit_log import audit_record, operator_permitted, reason_checked

MARKET_SEED_FILE = Path(__file__).resolve().parent.parent / "seed" / "market.json"

# Binance's highest leverage on any USD-M contract; the trade page's leverage slider stops there.
MAX_LEVERAGE = 125
# A fee of 10 % of the notional is no market anyone trades; above it is a typing error.
FEE_RATE_MAX = Decimal("0.1")
# Binance's longest table has 11 tiers.
MAX_BRACKETS = 20
STEP_TERMS = ("tick_size", "step_size", "min_quantity")
FEE_TERMS = ("taker_fee_rate", "maker_fee_rate", "liquidation_fee_rate")
BOOK_TICK_TERMS = ("book_half_spread_ticks", "book_level_ticks")
BOOK_TERMS = (*BOOK_TICK_TERMS, "book_level_quantity", "book_max_slippage_rate")
# A book wider than this many ticks a step is no market; above it is a typing error.
BOOK_TICKS_MAX = 10000
# A taker walking the book half way to zero (or to twice the mark) is no protection at all.
MAX_SLIPPAGE_RATE = Decimal("0.5")
# A new instrument's book holds this many minimum quantities at each level unless told.
BOOK_LEVEL_MIN_QUANTITIES = 1000
BOOK_DEFAULTS = {
    "book_half_spread_ticks": 1,
    "book_level_ticks": 1,
    "book_max_slippage_rate": Decimal("0.05"),
}
# What an operator may change on an existing instrument (symbol and assets never change: orders,
# positions and the ledger name them).
EDITABLE_TERMS = (
    *STEP_TERMS,
    "min_notional",
    *FEE_TERMS,
    "default_leverage",
    "default_margin_mode",
    "venue",
    *BOOK_TERMS,
)
SYMBOL_CHARACTERS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
QUOTE_ASSET = "USDT"


class BracketRow(NamedTuple):
    """One tier as an operator types it (the maintenance amount is computed)."""

    notional_floor: Decimal
    notional_cap: Decimal
    max_leverage: int
    maintenance_margin_rate: Decimal


def _label(name: str) -> str:
    return str(Instrument._meta.get_field(name).verbose_name).capitalize()


def _decimal(value, *, field: str, label: str, error=InvalidInput, **details) -> Decimal:
    try:
        return decimal_from_input(value, field=label)
    except InvalidInput as refusal:
        raise error(refusal.message, field=field, **details) from None


def _whole_number(value, *, field: str, label: str, error=InvalidInput, **details) -> int:
    value = digits_as_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{label} must be a whole number.", field=field, **details)
    if not 1 <= value <= MAX_LEVERAGE:
        raise error(
            f"{label} must be from 1 to {MAX_LEVERAGE}, not {value}.", field=field, **details
        )
    return value


def instrument_term_checked(name: str, value):
    """One of the EDITABLE_TERMS, checked on its own: steps above 0, a minimum notional of at
    least 0, fee rates from 0 to FEE_RATE_MAX, a default leverage from 1 to MAX_LEVERAGE (the
    bracket table may allow less: ``instrument_update`` checks that) and a default margin mode
    that is empty (the trader's own default), CROSS or ISOLATED."""
    if name not in EDITABLE_TERMS:
        raise InvalidInput(f"{name} is not a term of an instrument that can be set.", field=name)
    label = _label(name)
    if name == "default_margin_mode":
        if value not in ("", *MarginMode.values):
            raise InvalidInput(
                f"{label} must be CROSS, ISOLATED or empty (the trader's own default), "
                f"not {value!r}.",
                field=name,
            )
        return value
    if name == "venue":
        if value not in Venue.values:
            raise InvalidInput(
                f"{label} must be one of {', '.join(Venue.values)}, not {value!r}.", field=name
            )
        return value
    if name == "default_leverage":
        return _whole_number(value, field=name, label=label)
    if name in BOOK_TICK_TERMS:
        return _book_ticks(value, field=name, label=label)
    number = _decimal(value, field=name, label=label)
    if name == "book_level_quantity" and number <= 0:
        raise InvalidInput(f"{label} must be greater than 0.", field=name)
    if name == "book_max_slippage_rate" and not ZERO < number <= MAX_SLIPPAGE_RATE:
        raise InvalidInput(f"{label} must be above 0 and at most {MAX_SLIPPAGE_RATE}.", field=name)
    if name in STEP_TERMS and number <= 0:
        raise InvalidInput(f"{label} must be greater than 0.", field=name)
    if number < 0:
        raise InvalidInput(f"{label} must not be negative.", field=name)
    if name in FEE_TERMS and number > FEE_RATE_MAX:
        raise InvalidInput(f"{label} must be at most {FEE_RATE_MAX}.", field=name)
    return number


def _book_ticks(value, *, field: str, label: str) -> int:
    """A number of ticks: a level spacing of at least 1, a half spread of at least 0."""
    value = digits_as_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{label} must be a whole number of ticks.", field=field)
    least = 1 if field == "book_level_ticks" else 0
    if not least <= value <= BOOK_TICKS_MAX:
        raise InvalidInput(
            f"{label} must be from {least} to {BOOK_TICKS_MAX} ticks, not {value}.", field=field
        )
    return value


def venue_brackets_checked(venue: str, brackets: Sequence[Bracket]) -> None:
    """A bracket table that follows its venue's maintenance rule: on Hyperliquid, each tier's
    maintenance rate is half its initial margin rate at max leverage, 1 / (2 x max leverage), to
    the rate's 8 decimals."""
    if venue != Venue.HYPERLIQUID:
        return
    for tier, bracket in enumerate(brackets, start=1):
        due = hyperliquid_maintenance_rate(bracket.max_leverage).quantize(Decimal("1e-8"))
        if bracket.maintenance_margin_rate.quantize(Decimal("1e-8")) != due:
            raise InvalidBrackets(
                f"Bracket {tier}: on Hyperliquid's rules the maintenance margin rate is half the "
                f"initial margin rate at {bracket.max_leverage}x, {due.normalize():f}.",
                tier=tier,
                field="maintenance_margin_rate",
            )


def book_level_quantity_checked(level_quantity: Decimal, step_size: Decimal) -> None:
    """Each level of the book holds whole steps, so what a taker gets is always on the step."""
    if not on_step(level_quantity, step_size):
        raise InvalidInput(
            f"{_label('book_level_quantity')} {level_quantity.normalize():f} is not a multiple "
            f"of the step size {step_size.normalize():f}.",
            field="book_level_quantity",
        )


def bracket_row_checked(row, *, tier: int) -> BracketRow:
    """One tier on its own (floor >= 0, cap above it, max leverage 1..MAX_LEVERAGE, rate
    between 0 and 1), or InvalidBrackets naming ``tier`` and the field."""
    try:
        floor, cap, leverage, rate = row
    except (TypeError, ValueError):
        raise InvalidBrackets(
            f"Bracket {tier} must give a floor, a cap, a max leverage and a maintenance rate.",
            tier=tier,
            field="notional_floor",
        ) from None
    where = {"error": InvalidBrackets, "tier": tier}
    floor = _decimal(floor, field="notional_floor", label=f"Bracket {tier}'s floor", **where)
    cap = _decimal(cap, field="notional_cap", label=f"Bracket {tier}'s cap", **where)
    leverage = _whole_number(
        leverage, field="max_leverage", label=f"Bracket {tier}'s max leverage", **where
    )
    rate = _decimal(
        rate, field="maintenance_margin_rate", label=f"Bracket {tier}'s maintenance rate", **where
    )
    if floor < 0:
        raise InvalidBrackets(
            f"Bracket {tier}'s floor must not be negative.", tier=tier, field="notional_floor"
        )
    if cap <= floor:
        raise InvalidBrackets(
            f"Bracket {tier}'s cap must be above its floor of {floor.normalize():f}.",
            tier=tier,
            field="notional_cap",
        )
    if not 0 < rate < 1:
        raise InvalidBrackets(
            f"Bracket {tier}'s maintenance rate must be above 0 and below 1.",
            tier=tier,
            field="maintenance_margin_rate",
        )
    return BracketRow(floor, cap, leverage, rate)


def _brackets_validated(brackets: Sequence[Bracket]) -> None:
    """The engine's check of a whole table, its refusal as a sentence naming the tier."""
    try:
        brackets_validate(brackets)
    except BracketTableInvalid as refusal:
        message = str(refusal)
        raise InvalidBrackets(
            f"{message[0].upper()}{message[1:]}.", tier=refusal.tier, field=refusal.field
        ) from None


def bracket_table_checked(rows: Sequence) -> tuple[Bracket, ...]:
    """The bracket table of ``rows`` (floor, cap, max leverage, maintenance rate), lowest tier
    first, with its maintenance amounts computed; or InvalidBrackets naming the tier and field:
    floors and caps contiguous from 0, rates rising, max leverage not rising, rate x max
    leverage below 1 (the engine's rules, trading/engine/brackets.py)."""
    if not 1 <= len(rows) <= MAX_BRACKETS:
        raise InvalidBrackets(
            f"An instrument has 1 to {MAX_BRACKETS} leverage brackets, not {len(rows)}.",
            tier=1,
            field="notional_floor",
        )
    checked = [bracket_row_checked(row, tier=tier) for tier, row in enumerate(rows, start=1)]
    brackets = brackets_with_amounts(checked)
    _brackets_validated(brackets)
    quantum = Decimal(1).scaleb(-DECIMAL_PLACES)
    for tier, bracket in enumerate(brackets, start=1):
        if bracket.maintenance_amount != bracket.maintenance_amount.quantize(
            quantum, rounding=ROUND_DOWN
        ):
            raise InvalidBrackets(
                f"Bracket {tier}'s maintenance amount would be {bracket.maintenance_amount}, "
                f"more than {DECIMAL_PLACES} decimal places: round its floor or rate.",
                tier=tier,
                field="notional_floor",
            )
    return brackets


def default_leverage_checked(default_leverage: int, brackets: Sequence[Bracket]) -> None:
    """Refuse a default leverage above the table's max leverage (its first tier's)."""
    maximum = brackets[0].max_leverage
    if default_leverage > maximum:
        raise InvalidInput(
            f"Default leverage {default_leverage}x is above the max leverage of {maximum}x "
            "(the first bracket's).",
            field="default_leverage",
        )


def _bracket_json(brackets: Sequence[Bracket]) -> list[dict]:
    return [
        {
            "tier": tier,
            "notional_floor": _shown(bracket.notional_floor),
            "notional_cap": _shown(bracket.notional_cap),
            "max_leverage": bracket.max_leverage,
            "maintenance_margin_rate": _shown(bracket.maintenance_margin_rate),
            "maintenance_amount": _shown(bracket.maintenance_amount),
        }
        for tier, bracket in enumerate(brackets, start=1)
    ]


def _shown(value):
    """A value as the audit log shows it: decimals without the column's trailing zeros."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else value


def _brackets_write(instrument: Instrument, brackets: Sequence[Bracket]) -> None:
    LeverageBracket.objects.filter(instrument=instrument).delete()
    LeverageBracket.objects.bulk_create(
        LeverageBracket(
            instrument=instrument,
            tier=tier,
            notional_floor=bracket.notional_floor,
            notional_cap=bracket.notional_cap,
            max_leverage=bracket.max_leverage,
            maintenance_margin_rate=bracket.maintenance_margin_rate,
            maintenance_amount=bracket.maintenance_amount,
        )
        for tier, bracket in enumerate(brackets, start=1)
    )


def instrument_identity_checked(symbol, base_asset, quote_asset) -> tuple[str, str, str]:
    """A new instrument's names, upper-case: a USDT-margined symbol spelt base + quote."""
    parts = []
    for field, value in (("symbol", symbol), ("base_asset", base_asset)):
        text = value.strip().upper() if isinstance(value, str) else ""
        limit = Instrument._meta.get_field(field).max_length
        if field == "symbol" and not SYMBOL.fullmatch(text):
            raise InvalidInput(
                f"Symbol must be 1 to {limit} letters and digits, in parts joined by single "
                "hyphens (BTCUSDT, BTC-PERP).",
                field=field,
            )
        if field != "symbol" and (
            not text or len(text) > limit or not set(text) <= SYMBOL_CHARACTERS
        ):
            raise InvalidInput(
                f"{_label(field)} must be 1 to {limit} letters and digits.", field=field
            )
        parts.append(text)
    symbol, base_asset = parts
    if quote_asset != QUOTE_ASSET:
        raise InvalidInput(
            f"Only {QUOTE_ASSET}-margined perpetuals are traded here: the quote asset must be "
            f"{QUOTE_ASSET}.",
            field="quote_asset",
        )
    pair = base_asset + quote_asset
    # a second instrument of one pair (on another venue's rules) carries a tag after a hyphen
    if symbol != pair and not symbol.startswith((f"{pair}-", f"{base_asset}-")):
        raise InvalidInput(
            f"The symbol must be the base asset followed by the quote asset, {pair}, or either "
            f"followed by a hyphen and a tag ({pair}-BYBIT, {base_asset}-PERP).",
            field="symbol",
        )
    return symbol, base_asset, quote_asset


def instrument_create(
    *,
    symbol: str,
    base_asset: str,
    quote_asset: str,
    tick_size: Decimal,
    step_size: Decimal,
    min_quantity: Decimal,
    min_notional: Decimal,
    default_leverage: int,
    taker_fee_rate: Decimal,
    maker_fee_rate: Decimal,
    liquidation_fee_rate: Decimal,
    brackets: Sequence[Bracket],
    default_margin_mode: str = "",
    venue: str = Venue.BINANCE,
    operator=None,
    book_half_spread_ticks=BOOK_DEFAULTS["book_half_spread_ticks"],
    book_level_ticks=BOOK_DEFAULTS["book_level_ticks"],
    book_level_quantity=None,
    book_max_slippage_rate=BOOK_DEFAULTS["book_max_slippage_rate"],
) -> Instrument:
    """An instrument with its bracket table; its max leverage is the first bracket's. Created by
    an ``operator`` (the back office), it is recorded in the audit log; the demo market's seed
    (no operator) is not an operator's change. It trades once it has a mark price (the feed's
    next tick, or one the operator sets). The book holds BOOK_LEVEL_MIN_QUANTITIES minimum
    quantities a level unless ``book_level_quantity`` says otherwise."""
    if operator is not None:
        operator_permitted(operator, "trading.add_instrument", what="add instruments")
    symbol, base_asset, quote_asset = instrument_identity_checked(symbol, base_asset, quote_asset)
    given = {
        "tick_size": tick_size,
        "step_size": step_size,
        "min_quantity": min_quantity,
        "min_notional": min_notional,
        "taker_fee_rate": taker_fee_rate,
        "maker_fee_rate": maker_fee_rate,
        "liquidation_fee_rate": liquidation_fee_rate,
        "default_leverage": default_leverage,
        "default_margin_mode": default_margin_mode,
        "venue": venue,
        "book_half_spread_ticks": book_half_spread_ticks,
        "book_level_ticks": book_level_ticks,
        "book_max_slippage_rate": book_max_slippage_rate,
    }
    terms = {name: instrument_term_checked(name, value) for name, value in given.items()}
    terms["book_level_quantity"] = (
        terms["min_quantity"] * BOOK_LEVEL_MIN_QUANTITIES
        if book_level_quantity is None
        else instrument_term_checked("book_level_quantity", book_level_quantity)
    )
    book_level_quantity_checked(terms["book_level_quantity"], terms["step_size"])
    _brackets_validated(brackets)
    venue_brackets_checked(terms["venue"], brackets)
    default_leverage_checked(terms["default_leverage"], brackets)
    with transaction.atomic(durable=True):
        instrument = Instrument.objects.create(
            symbol=symbol,
            base_asset=base_asset,
            quote_asset=quote_asset,
            max_leverage=brackets[0].max_leverage,
            **terms,
        )
        _brackets_write(instrument, brackets)
        if operator is not None:
            audit_record(
                actor=operator,
                action=AuditEntry.Action.INSTRUMENT_CREATED,
                target=instrument,
                after={
                    "base_asset": base_asset,
                    "quote_asset": quote_asset,
                    **{name: _shown(value) for name, value in terms.items()},
                    "max_leverage": brackets[0].max_leverage,
                    "brackets": _bracket_json(brackets),
                },
            )
    return instrument


def _instrument_lock(symbol) -> Instrument:
    """The instrument, locked against other operators' changes. FOR NO KEY UPDATE: traders'
    orders and positions (which take a key-share lock on it through their foreign key) are not
    held up, and cannot deadlock with the wallets this transaction marks."""
    text = symbol.strip().upper() if isinstance(symbol, str) else ""
    instrument = (
        Instrument.objects.select_for_update(no_key=True)
        .prefetch_related("brackets")
        .filter(symbol=text)
        .first()
    )
    if instrument is None:
        raise UnknownSymbol(f"Unknown symbol {symbol!r}.", field="symbol")
    return instrument


def _holders_sweep_due(instrument: Instrument) -> int:
    """Mark every account with an open position on ``instrument`` due for the next sweep, wallets
    locked in primary-key order (trading/services/locks.py); returns how many."""
    holders = Position.objects.filter(instrument=instrument, status=Position.Status.OPEN).values(
        "user_id"
    )
    wallets = list(
        Wallet.objects.select_for_update()
        .filter(user_id__in=holders)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return Wallet.objects.filter(pk__in=wallets).update(sweep_due=True)


class _TraderDefaults(NamedTuple):
    """What a trader who set nothing for the instrument gets: its leverage and its default
    margin mode (empty: the trader's own default)."""

    leverage: int
    margin_mode: str

    @classmethod
    def of(cls, instrument: Instrument) -> "_TraderDefaults":
        leverage = leverage_default(instrument)
        return cls(leverage, instrument.default_margin_mode)


def _trader_defaults_kept(instrument: Instrument, was: _TraderDefaults) -> None:
    """A trader with an open position or order on ``instrument`` keeps the leverage and the
    default margin mode they had, even when they came from the instrument's defaults the operator
    just changed: a position's margin was charged at its leverage, and a bot that names no mode
    must keep acting on the position it holds (a trader may not change the mode under a position
    either). They are written as the trader's own settings, which the trader may then change."""
    now = _TraderDefaults.of(instrument)
    if now == was:
        return
    positions = Position.objects.filter(instrument=instrument, status=Position.Status.OPEN)
    orders = Order.objects.filter(instrument=instrument, status=Order.Status.NEW)
    held = {
        (user_id, mode): leverage
        for user_id, mode, leverage in positions.values_list("user_id", "margin_mode", "leverage")
    }
    for key in orders.values_list("user_id", "margin_mode"):
        held.setdefault(key, was.leverage)
    if now.leverage != was.leverage:
        LeverageSetting.objects.bulk_create(
            [
                LeverageSetting(
                    user_id=user_id, instrument=instrument, margin_mode=mode, leverage=leverage
                )
                for (user_id, mode), leverage in held.items()
            ],
            ignore_conflicts=True,  # a trader's own setting stays as it is
        )
    if now.margin_mode != was.margin_mode:
        users = {user_id for user_id, _ in held}
        preferred = dict(
            Preferences.objects.filter(user_id__in=users).values_list(
                "user_id", "default_margin_mode"
            )
        )
        SymbolMarginMode.objects.bulk_create(
            [
                SymbolMarginMode(
                    user_id=user_id,
                    instrument=instrument,
                    margin_mode=was.margin_mode or preferred.get(user_id, MarginMode.CROSS),
                )
                for user_id in users
            ],
            ignore_conflicts=True,
        )


def instrument_update(
    *,
    operator,
    symbol,
    tick_size=None,
    step_size=None,
    min_quantity=None,
    min_notional=None,
    taker_fee_rate=None,
    maker_fee_rate=None,
    liquidation_fee_rate=None,
    default_leverage=None,
    default_margin_mode=None,
    venue=None,
    brackets: Sequence | None = None,
    book_half_spread_ticks=None,
    book_level_ticks=None,
    book_level_quantity=None,
    book_max_slippage_rate=None,
) -> Instrument:
    """Change an instrument's terms (a term left None stays) and/or its bracket table, given as
    rows of (floor, cap, max leverage, maintenance rate): the maintenance amounts are computed
    and the max leverage becomes the first tier's. The default leverage must stay within it.

    One transaction: the instrument locked, everything checked before anything is written, the
    audit entry with the changed terms before and after, and every account holding a position
    on the instrument marked due for the next sweep. Changing nothing writes nothing."""
    operator_permitted(operator, "trading.change_instrument", what="change instruments")
    given = {
        "tick_size": tick_size,
        "step_size": step_size,
        "min_quantity": min_quantity,
        "min_notional": min_notional,
        "taker_fee_rate": taker_fee_rate,
        "maker_fee_rate": maker_fee_rate,
        "liquidation_fee_rate": liquidation_fee_rate,
        "default_leverage": default_leverage,
        "default_margin_mode": default_margin_mode,
        "venue": venue,
        "book_half_spread_ticks": book_half_spread_ticks,
        "book_level_ticks": book_level_ticks,
        "book_level_quantity": book_level_quantity,
        "book_max_slippage_rate": book_max_slippage_rate,
    }
    terms = {
        name: instrument_term_checked(name, value)
        for name, value in given.items()
        if value is not None
    }
    table = bracket_table_checked(brackets) if brackets is not None else None
    with transaction.atomic(durable=True):
        instrument = _instrument_lock(symbol)
        current = engine_brackets(instrument)
        venue_brackets_checked(terms.get("venue", instrument.venue), table or current)
        default_leverage_checked(
            terms.get("default_leverage", instrument.default_leverage), table or current
        )
        book_level_quantity_checked(
            terms.get("book_level_quantity", instrument.book_level_quantity),
            terms.get("step_size", instrument.step_size),
        )
        was = _TraderDefaults.of(instrument)
        before, after = {}, {}
        for name, value in terms.items():
            if getattr(instrument, name) != value:
                before[name], after[name] = getattr(instrument, name), value
                setattr(instrument, name, value)
        if table is not None and table != current:
            if instrument.max_leverage != table[0].max_leverage:
                before["max_leverage"] = instrument.max_leverage
                after["max_leverage"] = instrument.max_leverage = table[0].max_leverage
            before["brackets"], after["brackets"] = _bracket_json(current), _bracket_json(table)
            _brackets_write(instrument, table)
        if not after:
            return instrument
        instrument.save(update_fields=[name for name in after if name != "brackets"])
        _holders_sweep_due(instrument)
        _trader_defaults_kept(instrument, was)
        audit_record(
            actor=operator,
            action=AuditEntry.Action.INSTRUMENT_CHANGED,
            target=instrument,
            before={name: _shown(value) for name, value in before.items()},
            after={name: _shown(value) for name, value in after.items()},
        )
    instrument.refresh_from_db()
    return instrument


def _status_set(*, operator, symbol, reason, status: str, action) -> Instrument:
    operator_permitted(operator, "trading.halt_instrument", what="halt or resume trading")
    reason = reason_checked(reason)
    with transaction.atomic(durable=True):
        instrument = _instrument_lock(symbol)
        if instrument.status == status:
            raise InstrumentStatusUnchanged(
                f"Trading in {instrument.symbol} is already "
                f"{'halted' if status == Instrument.Status.HALTED else 'open'}.",
                field="symbol",
            )
        before = instrument.status
        instrument.status = status
        instrument.save(update_fields=["status"])
        audit_record(
            actor=operator,
            action=action,
            target=instrument,
            before={"status": before},
            after={"status": status},
            reason=reason,
        )
    return instrument


def instrument_halt(*, operator, symbol, reason) -> Instrument:
    """Halt trading in an instrument: orders that would open or grow a position are refused
    (order_place says why); closing and reducing stay allowed, and so do liquidations."""
    return _status_set(
        operator=operator,
        symbol=symbol,
        reason=reason,
        status=Instrument.Status.HALTED,
        action=AuditEntry.Action.TRADING_HALTED,
    )


def instrument_resume(*, operator, symbol, reason) -> Instrument:
    """Open a halted instrument to new orders again."""
    return _status_set(
        operator=operator,
        symbol=symbol,
        reason=reason,
        status=Instrument.Status.TRADING,
        action=AuditEntry.Action.TRADING_RESUMED,
    )


def market_seed(*, seed_file: Path | None = None) -> list[str]:
    """Create the demo market's instruments that do not exist yet, each with a starting mark
    price; return the symbols created. ``seed_file``: MARKET_SEED_FILE unless given (read when
    called, so that the test suite can seed a market whose book leaves its figures at the mark).

    Existing instruments are left as they are, so an operator's edits survive a restart. Two
    processes seeding at once both succeed: the loser of the race on the unique symbol skips it.
    """
    seed = json.loads((seed_file or MARKET_SEED_FILE).read_text())
    created = []
    for spec in seed["instruments"]:
        if Instrument.objects.filter(symbol=spec["symbol"]).exists():
            continue
        brackets = brackets_from_rows(spec["brackets"])
        try:
            instrument_create(
                symbol=spec["symbol"],
                base_asset=spec["base_asset"],
                quote_asset=spec["quote_asset"],
                tick_size=Decimal(spec["tick_size"]),
                step_size=Decimal(spec["step_size"]),
                min_quantity=Decimal(spec["min_quantity"]),
                min_notional=Decimal(spec["min_notional"]),
                default_leverage=spec["default_leverage"],
                taker_fee_rate=Decimal(spec["taker_fee_rate"]),
                maker_fee_rate=Decimal(spec["maker_fee_rate"]),
                liquidation_fee_rate=Decimal(spec["liquidation_fee_rate"]),
                venue=spec.get("venue", Venue.BINANCE),
                brackets=brackets,
                book_half_spread_ticks=spec["book"]["half_spread_ticks"],
                book_level_ticks=spec["book"]["level_ticks"],
                book_level_quantity=Decimal(spec["book"]["level_quantity"]),
                book_max_slippage_rate=Decimal(spec["book"]["max_slippage_rate"]),
            )
        except IntegrityError:
            if not Instrument.objects.filter(symbol=spec["symbol"]).exists():
                raise
            continue
        MarkPrice.objects.get_or_create(
            instrument__symbol=spec["symbol"],
            defaults={
                "instrument": Instrument.objects.get(symbol=spec["symbol"]),
                "price": Decimal(spec["mark_price"]),
                "source": MarkPrice.Source.SEED,
            },
        )
        created.append(spec["symbol"])
    return created
