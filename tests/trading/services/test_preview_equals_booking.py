"""The preview shows what the order books: for generated accounts (a wallet, maybe a position of
either mode on the symbol) and market orders of either side and mode, ``order_preview``'s figures
for the chosen mode equal what ``order_place`` then books, to the last 1e-8: the refusal and its
code, the fill's price, quantity and fee, the wallet, the position's margin and liquidation price,
and the cross margin ratio.

Both come from one settlement (trading/domain/settlement.py); this proves nobody re-derives it.
Seeded market (FLAT_BOOK: takers fill at the mark), marks fixed while an example runs.
"""

import contextlib
from decimal import Decimal

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from marginsite.errors import ApplicationError
from tests.builders import DATABASE_PROPERTY, wallet_balance
from trading.models import Fill, MarginMode, Position
from trading.selectors import account_summary, position_list
from trading.services import leverage_set, order_place, order_preview, wallet_deposit

pytestmark = pytest.mark.django_db

D = Decimal
MODES = st.sampled_from([MarginMode.CROSS, MarginMode.ISOLATED])
SIDES = st.sampled_from(["BUY", "SELL"])
QUANTITIES = st.integers(1, 400).map(lambda n: D(n).scaleb(-3))  # 0.001 .. 0.4 BTC


@given(
    deposit=st.integers(0, 50_000),
    held=st.one_of(st.none(), st.tuples(SIDES, QUANTITIES, MODES, st.integers(1, 50))),
    side=SIDES,
    quantity=QUANTITIES,
    mode=MODES,
    leverage=st.integers(1, 125),
)
@DATABASE_PROPERTY
def test_the_preview_equals_what_order_place_books(
    make_trader, deposit, held, side, quantity, mode, leverage
):
    user = make_trader()
    wallet_deposit(user=user, amount=D(deposit) + 1)
    if held is not None:
        held_side, held_quantity, held_mode, held_leverage = held
        leverage_set(user=user, symbol="BTCUSDT", margin_mode=held_mode, leverage=held_leverage)
        with contextlib.suppress(ApplicationError):  # not affordable: it goes on flat
            order_place(
                user=user, symbol="BTCUSDT", side=held_side, quantity=held_quantity,
                margin_mode=held_mode,
            )  # fmt: skip
    # an open position's leverage may only rise: refused, the order goes at the one it has
    with contextlib.suppress(ApplicationError):
        leverage_set(user=user, symbol="BTCUSDT", margin_mode=mode, leverage=leverage)
    order = {"user": user, "symbol": "BTCUSDT", "side": side, "quantity": quantity}

    preview = order_preview(**order, margin_mode=mode).chosen
    refusal = None
    try:
        placed = order_place(**order, margin_mode=mode)
    except ApplicationError as error:
        refusal = error
    event("refused" if refusal else "placed")
    if refusal is not None:
        assert (preview.accepted, preview.rejection_code, preview.rejection_reason) == (
            False, refusal.code, refusal.reason
        )  # fmt: skip
        return

    assert preview.accepted
    fills = list(Fill.objects.filter(order=placed))
    assert (preview.price, preview.fill_quantity) == (placed.average_fill_price, quantity)
    assert preview.fee == sum((fill.fee for fill in fills), D(0))
    summary = account_summary(user=user)
    assert preview.cross_margin_ratio_after == summary.cross_margin_ratio
    position = Position.objects.filter(
        user=user, instrument__symbol="BTCUSDT", margin_mode=mode, status=Position.Status.OPEN
    ).first()
    if position is None:
        assert preview.position_margin == 0
        assert preview.liquidation_price is None
        return
    (row,) = [row for row in position_list(user=user) if row.position.pk == position.pk]
    assert preview.liquidation_price == row.figures.liquidation_price
    if mode == MarginMode.ISOLATED:
        assert preview.position_margin == position.isolated_margin
        assert preview.max_loss == position.isolated_margin
    else:
        assert preview.max_loss == max(D(0), summary.cross_margin_balance)
    assert wallet_balance(user) >= 0
