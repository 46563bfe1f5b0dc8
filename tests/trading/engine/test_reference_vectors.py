"""The engine against the shared reference figures (vectors/README.md): every case, to 1e-8
relative, dispatched on the case's ``kind`` exactly as the README's table says."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from trading.engine import (
    PositionState,
    brackets_from_rows,
    cross_liquidation_price,
    isolated_bankruptcy_price,
    isolated_liquidation_price,
    maintenance_margin,
    max_removable_isolated_margin,
)

VECTORS_FILE = Path(__file__).resolve().parent / "vectors" / "liquidation_cases.json"
# parents: [0] engine, [1] trading, [2] tests, [3] the repo root (main), [4] its parent (/work)
SHARED_FOLDER = Path(__file__).resolve().parents[4] / "shared"
SHARED_VECTORS_FILE = SHARED_FOLDER / "vectors" / "liquidation_cases.json"
RELATIVE_TOLERANCE = Decimal("1e-8")

VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
CASES = VECTORS["cases"]


def bracket_table(spec):
    """A table name from the file's ``brackets`` or an inline list of rows."""
    return brackets_from_rows(VECTORS["brackets"][spec] if isinstance(spec, str) else spec)


def position_state(spec):
    return PositionState(
        side=spec["side"],
        quantity=Decimal(spec["quantity"]),
        entry_price=Decimal(spec["entry_price"]),
        mark_price=Decimal(spec["mark_price"]),
        brackets=bracket_table(spec["brackets"]),
    )


def engine_result(case):
    position = position_state(case["position"])
    kind = case["kind"]
    if kind == "isolated_liquidation_price":
        return isolated_liquidation_price(
            position, isolated_margin=Decimal(case["isolated_margin"])
        )
    if kind == "cross_liquidation_price":
        return cross_liquidation_price(
            position,
            wallet_balance=Decimal(case["wallet_balance"]),
            others=[position_state(other) for other in case["others"]],
        )
    if kind == "maintenance_margin":
        return maintenance_margin(position)
    if kind == "max_removable_isolated_margin":
        return max_removable_isolated_margin(
            position,
            isolated_margin=Decimal(case["isolated_margin"]),
            leverage=case["leverage"],
        )
    if kind == "isolated_bankruptcy_price":
        return isolated_bankruptcy_price(position, isolated_margin=Decimal(case["isolated_margin"]))
    raise AssertionError(f"vectors/README.md has no call for kind {kind!r}")


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_engine_matches_the_reference_figure(case):
    result = engine_result(case)

    if case["expected"] is None:
        assert result is None
        return
    expected = Decimal(case["expected"])
    assert isinstance(result, Decimal)
    # relative 1e-8; an expected 0 therefore demands exactly 0
    assert abs(result - expected) <= RELATIVE_TOLERANCE * abs(expected), (
        f"{case['name']}: expected {expected}, got {result}"
    )


@pytest.mark.parametrize(
    "case",
    [case for case in CASES if case["expected"] is not None],
    ids=[case["name"] for case in CASES if case["expected"] is not None],
)
def test_engine_reproduces_the_reference_figure_to_its_last_digit(case):
    # The README claims agreement to all the digits the file gives (50 significant at most).
    assert engine_result(case) == Decimal(case["expected"])


def test_bracket_rows_are_in_the_column_order_the_engine_reads():
    assert VECTORS["bracket_columns"] == [
        "notional_floor",
        "notional_cap",
        "max_leverage",
        "maintenance_margin_rate",
        "maintenance_amount",
    ]


def test_reference_case_names_are_unique_so_every_case_runs_under_its_own_id():
    names = [case["name"] for case in CASES]

    assert len(names) == len(set(names))


def test_reference_cases_cover_every_kind_the_readme_lists():
    kinds = {case["kind"] for case in CASES}

    assert kinds == {
        "isolated_liquidation_price",
        "cross_liquidation_price",
        "maintenance_margin",
        "max_removable_isolated_margin",
        "isolated_bankruptcy_price",
    }


def test_projects_copy_of_the_vectors_equals_the_shared_file():
    if not SHARED_FOLDER.is_dir():
        pytest.skip(f"no shared folder at {SHARED_FOLDER}")

    assert VECTORS_FILE.read_bytes() == SHARED_VECTORS_FILE.read_bytes()
