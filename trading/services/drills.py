"""Price drills, started by the operator and moved on by the price tick.

A drill moves an instrument's mark by move_percent over ``seconds`` and back (the path:
trading/prices/drill.py), so that the sweeps after each tick liquidate whoever the move reaches,
as a real crash would. Starting one holds the mark at its current price (source drill), so no
feed moves it; each tick (prices_tick) then writes the drill's price at the tick's time, whatever
PRICE_FEED is; the tick that finds it over puts the start price back, marks the drill DONE and
releases the mark to the feed. Setting a manual price or releasing the mark cancels it
(trading/services/prices.py). Locks: the MarkPrice row, then the PriceDrill row.
"""

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from marginsite.errors import InvalidInput
from trading.errors import DrillRunning, NoMarkPrice
from trading.inputs import decimal_from_input
from trading.models import AuditEntry, MarkPrice, PriceDrill
from trading.prices.drill import drill_done, drill_elapsed, drill_price
from trading.selectors import instrument_get
from trading.services.audit_log import audit_record, operator_permitted, reason_checked
from trading.services.bulk_writes import row_update
from trading.services.prices import (
    drill_end,
    drill_running_lock,
    mark_price_lock,
    mark_price_write,
    mark_state,
)

# -99 % leaves a hundredth of the price; +900 % makes it ten times. The column holds 4 decimals.
DRILL_MOVE_MIN = Decimal("-99")
DRILL_MOVE_MAX = Decimal("900")
DRILL_MOVE_PLACES = Decimal("0.0001")
DRILL_SECONDS_MAX = 3600


def drill_move_checked(move_percent) -> Decimal:
    """A drill's move in %: signed (-20 drops the price 20 %, 15 lifts it 15 %), not 0, from
    -99 to +900, at most 4 decimals."""
    try:
        move = decimal_from_input(move_percent, field="move_percent")
    except InvalidInput:
        raise InvalidInput(
            "The move is a number of percent, such as -20 (a drop of 20 %).", field="move_percent"
        ) from None
    if move == 0:
        raise InvalidInput(
            "A drill moves the price: give a move other than 0 %.", field="move_percent"
        )
    if not DRILL_MOVE_MIN <= move <= DRILL_MOVE_MAX:
        raise InvalidInput(
            f"A drill moves the price by {DRILL_MOVE_MIN:f} % to +{DRILL_MOVE_MAX:f} % "
            "(-20 drops it 20 %, 15 lifts it 15 %).",
            field="move_percent",
        )
    if move != move.quantize(DRILL_MOVE_PLACES):
        raise InvalidInput("A drill's move has at most 4 decimal places.", field="move_percent")
    return move


def drill_seconds_checked(seconds) -> int:
    """The seconds a drill takes to get there (as many again to come back): 1 to 3600."""
    if isinstance(seconds, str):
        text = seconds.strip()
        if text.isascii() and text.isdigit() and len(text) <= 9:
            seconds = int(text)
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise InvalidInput("Give the seconds as a whole number, such as 60.", field="seconds")
    if not 1 <= seconds <= DRILL_SECONDS_MAX:
        raise InvalidInput(
            f"A drill takes 1 to {DRILL_SECONDS_MAX} seconds to get there.", field="seconds"
        )
    return seconds


def price_drill_start(
    *, operator, symbol, move_percent, seconds, reason, now: datetime | None = None
) -> PriceDrill:
    """Start moving ``symbol``'s mark by ``move_percent`` over ``seconds`` and back, from its
    current mark, which holds from now on (source drill). Refused when the instrument has no
    mark yet or a drill already runs on it."""
    operator_permitted(operator, "trading.move_prices", what="move prices")
    instrument = instrument_get(symbol)
    move = drill_move_checked(move_percent)
    seconds = drill_seconds_checked(seconds)
    reason = reason_checked(reason)
    now = timezone.now() if now is None else now
    with transaction.atomic(durable=True):
        mark = mark_price_lock(instrument)
        if mark is None:
            raise NoMarkPrice(
                f"{instrument.symbol} has no mark price yet: a drill starts from it.",
                field="symbol",
            )
        if drill_running_lock(instrument) is not None:
            raise DrillRunning(
                f"A drill already runs on {instrument.symbol}: release the mark to stop it first.",
                field="symbol",
            )
        before = mark_state(mark)
        try:
            with transaction.atomic():  # the unique running drill per instrument, as a backstop
                drill = PriceDrill.objects.create(
                    instrument=instrument,
                    start_price=mark.price,
                    move_percent=move,
                    seconds=seconds,
                    started_by=operator,
                    started_at=now,
                )
        except IntegrityError:
            raise DrillRunning(
                f"A drill already runs on {instrument.symbol}.", field="symbol"
            ) from None
        mark, _ = mark_price_write(
            instrument=instrument, mark=mark, price=mark.price, source=MarkPrice.Source.DRILL
        )
        audit_record(
            actor=operator,
            action=AuditEntry.Action.PRICE_DRILL_STARTED,
            target=drill,
            before=before,
            after={
                **mark_state(mark),
                "move_percent": move.normalize(),
                "seconds": seconds,
                "started_at": now.isoformat(),
            },
            reason=reason,
            label=f"{instrument.symbol} drill {move.normalize():+f} % over {seconds} s",
        )
    return drill


def price_drills_advance(*, marks: dict[int, MarkPrice], now: datetime) -> list[str]:
    """Write every running drill's price at ``now`` into ``marks`` (the instruments' marks by
    instrument id, locked by the caller's transaction: the price tick's); a drill that is over
    puts its start price back, ends DONE and releases the mark. Returns the symbols changed."""
    changed = []
    drills = (
        PriceDrill.objects.select_for_update(of=("self",))
        .filter(status=PriceDrill.Status.RUNNING, instrument_id__in=marks)
        .select_related("instrument")
        .order_by("pk")
    )
    for drill in drills:
        mark = marks[drill.instrument_id]
        elapsed = drill_elapsed(drill.started_at, now)
        if drill_done(seconds=drill.seconds, elapsed=elapsed):
            before = (mark.price, mark.source, mark.held)
            mark.price, mark.source, mark.held = drill.start_price, MarkPrice.Source.DRILL, False
            row_update(mark, ["price", "source", "held", "updated_at"])
            drill_end(drill, status=PriceDrill.Status.DONE, now=now)
            was_changed = before != (mark.price, mark.source, mark.held)
        else:
            price = drill_price(
                start_price=drill.start_price,
                move_percent=drill.move_percent,
                seconds=drill.seconds,
                elapsed=elapsed,
                tick_size=drill.instrument.tick_size,
            )
            mark, was_changed = mark_price_write(
                instrument=drill.instrument, mark=mark, price=price, source=MarkPrice.Source.DRILL
            )
        if was_changed:
            changed.append(drill.instrument.symbol)
    return changed
