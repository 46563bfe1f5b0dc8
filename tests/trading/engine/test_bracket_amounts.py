"""``brackets_with_amounts``: an operator types floors, caps, max leverage and rates; the
maintenance amounts follow from the recurrence amount_1 = 0, amount_i = amount_(i-1) + floor_i x
(rate_i - rate_(i-1)), so the table always passes ``brackets_validate``. And the validation's
refusals name the tier and the field at fault."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from trading.engine import brackets_from_rows, brackets_validate
from trading.engine.brackets import BracketTableInvalid, brackets_with_amounts

D = Decimal
SEED = json.loads(
    (Path(__file__).resolve().parents[3] / "trading" / "seed" / "market.json").read_text()
)


def test_amounts_follow_the_recurrence():
    brackets = brackets_with_amounts(
        [
            (D(0), D(50000), 125, D("0.004")),
            (D(50000), D(250000), 100, D("0.005")),
            (D(250000), D(1000000), 50, D("0.01")),
        ]
    )

    assert [b.maintenance_amount for b in brackets] == [D(0), D(50), D(1300)]
    assert brackets_validate(brackets) is None


@pytest.mark.parametrize("spec", SEED["instruments"], ids=lambda spec: spec["symbol"])
def test_amounts_computed_from_the_seed_tables_equal_the_published_ones(spec):
    published = brackets_from_rows(spec["brackets"])

    computed = brackets_with_amounts(
        (b.notional_floor, b.notional_cap, b.max_leverage, b.maintenance_margin_rate)
        for b in published
    )

    assert computed == published


def test_a_refusal_names_the_tier_and_the_field():
    brackets = brackets_with_amounts(
        [(D(0), D(50000), 125, D("0.004")), (D(50000), D(90000), 150, D("0.005"))]
    )

    with pytest.raises(BracketTableInvalid) as refused:
        brackets_validate(brackets)

    assert (refused.value.tier, refused.value.field) == (2, "max_leverage")
    assert isinstance(refused.value, ValueError)
