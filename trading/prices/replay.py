"""The replay feed: a CSV file of marks played at PRICE_REPLAY_SPEED times real time, from its
first row, then looping (PRICE_REPLAY_LOOP) or holding the last prices once it ends.

The file: a header ``timestamp,symbol,mark_price[,index_price]``, then one row per mark: an ISO
8601 time (UTC when it names no zone), a symbol and a decimal price. Rows need not be sorted. At a
moment of the file, an instrument's mark is its latest row at or before that moment; symbols with
no instrument are ignored. ``index_price`` is optional, checked and not stored (a MarkPrice holds
marks only).

The replay's place (the moment of the file it has reached) is kept in the feed status, as its
``replay_place``: a restart resumes there, and every worker process reads the
same place. Each tick moves the place on by the time since the previous tick times the speed. A
gap of more than PAUSE_TICKS tick intervals means the worker or beat was stopped: it counts as one
interval, so a restart does not jump over the part of the file it missed. A replay starts at the
file's first moment when the previous tick came from another feed.
"""

import csv
import functools
import itertools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings

from trading.models import FeedStatus, MarkPrice
from trading.prices.feeds import STATUS_NAME, FeedError, InstrumentMark

COLUMNS = ("timestamp", "symbol", "mark_price")
PAUSE_TICKS = 5


@dataclass(frozen=True)
class Recording:
    """A replay file, read: per symbol, its moments in order and the mark at each."""

    start: datetime
    end: datetime
    step: timedelta  # the shortest time between two moments of the file (0: one moment only)
    times: dict[str, tuple[datetime, ...]]
    marks: dict[str, tuple[Decimal, ...]]

    def marks_at(self, moment: datetime) -> dict[str, Decimal]:
        found = {}
        for symbol, times in self.times.items():
            index = bisect_right(times, moment) - 1
            if index >= 0:
                found[symbol] = self.marks[symbol][index]
        return found

    def place_after(self, place: datetime, elapsed: timedelta, *, loop: bool) -> datetime:
        """Where the replay is ``elapsed`` (file time) after ``place``. Looping, the last moment
        is held for one step of the file before the first one comes again."""
        place = max(place, self.start) + elapsed
        if place <= self.end:
            return place
        if not loop:
            return self.end
        period = self.end - self.start + self.step
        if not period:
            return self.start
        return self.start + (place - self.start) % period


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _price(text: str, column: str) -> Decimal:
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{column} {text!r} is not a number") from None
    if not price.is_finite() or price <= 0:
        raise ValueError(f"{column} {text!r} is not a positive price")
    return price


@functools.lru_cache(maxsize=4)
def _recording_read(path: Path, modified_ns: int, size: int) -> Recording:
    """The file at ``path``, read once per version (the tick runs every second)."""
    rows: dict[str, list[tuple[datetime, Decimal]]] = {}
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        missing = [column for column in COLUMNS if column not in (reader.fieldnames or ())]
        if missing:
            raise FeedError(
                f"Replay file {path}: the header must name timestamp, symbol, mark_price "
                f"(and optionally index_price); missing: {', '.join(missing)}."
            )
        for row in reader:
            try:
                moment = _moment((row["timestamp"] or "").strip())
                symbol = (row["symbol"] or "").strip().upper()
                if not symbol:
                    raise ValueError("the symbol is empty")
                mark = _price((row["mark_price"] or "").strip(), "mark_price")
                if (row.get("index_price") or "").strip():
                    _price(row["index_price"].strip(), "index_price")
            except ValueError as problem:
                raise FeedError(f"Replay file {path}: line {reader.line_num}: {problem}.") from None
            rows.setdefault(symbol, []).append((moment, mark))
    if not rows:
        raise FeedError(f"Replay file {path} has no rows.")
    for symbol_rows in rows.values():
        symbol_rows.sort(key=lambda row: row[0])
    moments = sorted({moment for symbol_rows in rows.values() for moment, _ in symbol_rows})
    steps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    return Recording(
        start=moments[0],
        end=moments[-1],
        step=min(steps, default=timedelta(0)),
        times={symbol: tuple(moment for moment, _ in found) for symbol, found in rows.items()},
        marks={symbol: tuple(mark for _, mark in found) for symbol, found in rows.items()},
    )


def recording_read(path: Path) -> Recording:
    """The replay file at ``path``, or FeedError saying what is wrong with it."""
    try:
        stat = path.stat()
    except OSError as problem:
        raise FeedError(f"Replay file {path} cannot be read: {problem.strerror}.") from None
    return _recording_read(path, stat.st_mtime_ns, stat.st_size)


def _scaled(elapsed: timedelta, speed: Decimal) -> timedelta:
    microseconds = elapsed // timedelta(microseconds=1)
    return timedelta(microseconds=int(Decimal(microseconds) * speed))


class ReplayFeed:
    source = MarkPrice.Source.REPLAY

    def __init__(self, *, path: Path, speed: Decimal, loop: bool, tick_seconds: Decimal):
        if speed <= 0:
            raise ValueError("The replay speed must be above 0.")
        self.path = Path(path)
        self.speed = speed
        self.loop = loop
        self.tick = timedelta(microseconds=int(tick_seconds * 1_000_000))

    @classmethod
    def from_settings(cls) -> "ReplayFeed":
        return cls(
            path=settings.PRICE_REPLAY_FILE,
            speed=settings.PRICE_REPLAY_SPEED,
            loop=settings.PRICE_REPLAY_LOOP,
            tick_seconds=settings.PRICE_TICK_SECONDS,
        )

    def next_marks(self, instruments: Sequence[InstrumentMark], now: datetime) -> dict:
        """The file's marks at the replay's place after this tick (and the place is kept)."""
        recording = recording_read(self.path)
        place = self._place_next(recording, now)
        FeedStatus.objects.update_or_create(
            name=STATUS_NAME,
            defaults={"replay_place": place},
            create_defaults={"source": self.source, "replay_place": place},
        )
        marks = recording.marks_at(place)
        return {i.symbol: marks[i.symbol] for i in instruments if i.symbol in marks}

    def _place_next(self, recording: Recording, now: datetime) -> datetime:
        ticks = FeedStatus.objects.filter(name=STATUS_NAME).first()
        replaying = ticks is not None and ticks.source == self.source and ticks.last_tick_at
        place = ticks.replay_place if ticks is not None else None
        if not replaying or place is None:
            return recording.start
        elapsed = now - ticks.last_tick_at
        if elapsed > self.tick * PAUSE_TICKS:
            elapsed = self.tick
        elapsed = max(elapsed, timedelta(0))
        return recording.place_after(place, _scaled(elapsed, self.speed), loop=self.loop)
