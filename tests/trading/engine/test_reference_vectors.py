"""The engine against the shared reference figures (vectors/README.md): every case, to 1e-8
relative, dispatched on the case's ``kind`` exactly as the README's table says."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from trading.engine import (
    Bracket,
    PositionState,
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
    rows = VECTORS["brackets"][spec] if isinstance(spec, str) else spec
    columns = VECTORS["bracket_columns"]
    brackets = []
    for row in rows:
        fields = dict(zip(columns, row, strict=True))
        brackets.append(
            Bracket(
                notional_floor=Decimal(fields["notional_floor"]),
                notional_cap=Decimal(fields["notional_cap"]),
                max_leverage=fields["max_leverage"],
                maintenance_margin_rate=Decimal(fields["maintenance_margin_rate"]),
                maintenance_amount=Decimal(fields["maintenance_amount"]),
            )
        )
    return tuple(brackets)


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


def test_shared_folder_path_is_a_sibling_of_the_repository_root():
    repo_root = Path(__file__).resolve().parents[3]

    assert (repo_root / "trading" / "engine" / "__init__.py").is_file()
    assert repo_root.parent / "shared" == SHARED_FOLDER


def test_projects_copy_of_the_vectors_equals_the_shared_file():
    if not SHARED_FOLDER.is_dir():
        pytest.skip(f"no shared folder at {SHARED_FOLDER}")

    assert VECTORS_FILE.read_bytes() == SHARED_VECTORS_FILE.read_bytes()
