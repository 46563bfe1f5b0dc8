"""The drill's price path (trading/prices/drill.py): a straight line from the start price to
start x (1 + move) over N seconds, straight back over N more, then the start price; rounded to the
nearest tick (halves up), never below one tick, the start and end exact. No database, no clock."""

import ast
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from trading.prices import drill
from trading.prices.drill import drill_done, drill_elapsed, drill_price, drill_progress

D = Decimal
START = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def btc_drop(elapsed, *, move="-20", seconds=60, start="60000", tick="0.10") -> Decimal:
    return drill_price(
        start_price=D(start),
        move_percent=D(move),
        seconds=seconds,
        elapsed=D(elapsed),
        tick_size=D(tick),
    )


@pytest.mark.parametrize(
    ("elapsed", "price"),
    [
        ("0", D("60000")),  # e = 0: the start
        ("15", D("57000")),  # a quarter of the way down: -5 %
        ("30", D("54000")),  # e = N/2: -10 %
        ("60", D("48000")),  # e = N: the bottom, -20 %
        ("90", D("54000")),  # e = 3N/2: half way back
        ("119", D("59800")),  # one second before the end: -1/60 of 20 %
        ("120", D("60000")),  # e = 2N: back at the start
        ("500", D("60000")),  # long after: still the start
    ],
)
def test_a_drop_of_20_percent_over_60_seconds_goes_down_and_back(elapsed, price):
    assert btc_drop(elapsed) == price


def test_a_lift_moves_the_other_way():
    assert btc_drop("60", move="15") == D("69000")
    assert btc_drop("30", move="15") == D("64500")
    assert btc_drop("90", move="15") == D("64500")


def test_fractions_of_a_second_count():
    assert btc_drop("1.5") == D("59700")  # 60000 x (1 - 0.2 x 1.5 / 60)
    assert btc_drop("30.25") == D("53950")  # 60000 x (1 - 0.2 x 30.25 / 60)
    assert btc_drop("0.000001") == D("60000")  # 0.0000002 below the start: the start's tick


def test_prices_on_the_way_round_to_the_nearest_tick_halves_up():
    # 100 x (1 - 0.1 x 1/4) = 97.5: exactly half way between the ticks 97 and 98
    assert btc_drop("1", move="-10", seconds=4, start="100", tick="1") == D("98")
    assert btc_drop("3", move="-10", seconds=4, start="100", tick="1") == D("93")  # 92.5
    assert btc_drop("7", move="-10", seconds=4, start="100", tick="1") == D("98")  # on the way back
    # 100 x (1 - 0.333333 x 1/7) = 95.238095...: the nearest cent
    assert btc_drop("1", move="-33.3333", seconds=7, start="100", tick="0.01") == D("95.24")


def test_a_price_on_the_way_is_never_below_one_tick():
    # 0.5 x (1 - 0.99) = 0.005, which rounds to 0.0: one tick instead
    assert btc_drop("1", move="-99", seconds=1, start="0.5", tick="0.1") == D("0.1")


def test_the_start_and_end_are_the_start_price_exactly_even_off_the_tick():
    assert btc_drop("0", start="60000.05") == D("60000.05")
    assert btc_drop("120", start="60000.05") == D("60000.05")
    assert btc_drop("60", start="60000.05") == D("48000.0")  # 48000.04 on the tick


def test_a_moment_before_the_start_is_the_start():
    assert drill_elapsed(START, START - timedelta(seconds=3)) == D(0)
    assert btc_drop(drill_elapsed(START, START - timedelta(seconds=3))) == D("60000")


def test_elapsed_seconds_are_exact_to_the_microsecond():
    assert drill_elapsed(START, START + timedelta(seconds=30, milliseconds=250)) == D("30.25")
    assert drill_elapsed(START, START + timedelta(days=1, seconds=1, microseconds=1)) == D(
        "86401.000001"
    )


def test_a_drill_is_done_once_it_came_back():
    assert not drill_done(seconds=60, elapsed=D("119.999999"))
    assert drill_done(seconds=60, elapsed=D("120"))


def test_progress_counts_the_way_out_and_back():
    assert drill_progress(seconds=60, elapsed=D("30")) == D("0.25")
    assert drill_progress(seconds=60, elapsed=D("90")) == D("0.75")
    assert drill_progress(seconds=60, elapsed=D("500")) == D("1")


def test_the_path_module_imports_no_django_and_reads_no_clock():
    tree = ast.parse(Path(drill.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    assert imported == {"datetime", "decimal"}
    assert "now(" not in Path(drill.__file__).read_text()
