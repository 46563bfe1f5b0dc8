"""isolated_margin_add and isolated_margin_remove: money between the wallet and an isolated
position's margin, the liquidation price that follows, the engine's maximum removable margin, and
every refusal with a proof that nothing changed.

Seeded market: BTCUSDT mark 60,000, first bracket MMR 0.4 % up to 50,000 notional; default
leverage 20; every trader starts with 10,000 USDT.
"""

import re
from decimal import Context, Decimal, localcontext

import pytest

from tests.builders import ledger_rows, open_position, wallet_balance
from trading.domain.holdings import engine_brackets
from trading.engine import PositionState, Side, isolated_liquidation_price
from trading.engine import max_removable_isolated_margin as engine_max_removable
from trading.errors import InvalidAmount, MarginInsufficient, NoPosition, NotIsolated
from trading.models import LedgerEntry, Position
from trading.selectors import account_summary, position_list
from trading.selectors.positions import isolated_margin_max_removable
from trading.services import (
    isolated_margin_add,
    isolated_margin_remove,
    mark_price_set,
    order_place,
)

pytestmark = pytest.mark.django_db

D = Decimal
PRECISE = Context(prec=50)


# --- helpers -------------------------------------------------------------------------------


def last_entry_row():
    return ledger_rows("memo")[-1]


def row_of(user, position):
    """The position_list row of ``position`` (live figures at the current mark)."""
    (row,) = [row for row in position_list(user=user) if row.position.pk == position.pk]
    return row


def open_positions(user):
    return list(Position.objects.filter(user=user, status="OPEN").select_related("instrument"))


def engine_liquidation_price(position, *, mark, isolated_margin):
    state = PositionState(
        Side.LONG if position.side == "LONG" else Side.SHORT,
        position.quantity,
        position.entry_price,
        mark,
        engine_brackets(position.instrument),
    )
    return isolated_liquidation_price(state, isolated_margin=isolated_margin)


# --- isolated_margin_add ------------------------------------------------------------------


def test_adding_margin_moves_it_from_the_wallet_and_the_long_liquidation_price_down(
    trader, balanced_ledger
):
    # given an isolated long of 0.1 BTC at 60,000, 20x: margin 300, fee 3, wallet 9,697
    position = open_position(trader, "BUY", "0.1")
    assert (position.isolated_margin, wallet_balance(trader)) == (D("300"), D("9697"))
    # its liquidation price, bracket 1 (MMR 0.004, amount 0), s = +1:
    # LP = (300 - 0.1 x 60,000) / (0.1 x 0.004 - 0.1) = -5,700 / -0.0996
    with localcontext(PRECISE):
        before = (D("300") - D("6000")) / (D("0.0004") - D("0.1"))
    assert before == D("57228.915662650602409638554216867469879518072289157")
    assert engine_liquidation_price(position, mark=D("60000"), isolated_margin=D("300")) == before
    row = row_of(trader, position)
    assert row.figures.liquidation_price == before
    assert row.liquidation_price_display == D("57229.0")  # a long's rounds up to the tick

    # when the trader adds 100 USDT
    returned = isolated_margin_add(user=trader, symbol="BTCUSDT", amount="100")

    # then 100 moves WALLET -> ISOLATED_MARGIN, "margin added", on this position
    assert last_entry_row() == (
        "ISOLATED_MARGIN", D("100"), "WALLET", "ISOLATED_MARGIN", "margin added",
    )  # fmt: skip
    entry = LedgerEntry.objects.order_by("pk").last()
    assert (entry.user_id, entry.position_id, entry.order_id) == (trader.pk, position.pk, None)
    assert entry.destination.position_id == position.pk
    # the margin grows to 400, the wallet falls to 9,597
    assert returned.pk == position.pk
    assert returned.isolated_margin == D("400")
    position.refresh_from_db()
    assert position.isolated_margin == D("400")
    assert wallet_balance(trader) == D("9597")
    # and LP = (400 - 6,000) / -0.0996 moves away from the mark (down, for a long)
    with localcontext(PRECISE):
        after = (D("400") - D("6000")) / (D("0.0004") - D("0.1"))
    assert after == D("56224.899598393574297188755020080321285140562248996")
    assert engine_liquidation_price(position, mark=D("60000"), isolated_margin=D("400")) == after
    row = row_of(trader, position)
    assert row.figures.liquidation_price == after
    assert row.liquidation_price_display == D("56224.9")
    assert after < before < D("60000")
    # the position itself is untouched
    assert (position.quantity, position.entry_price, position.status) == (
        D("0.1"), D("60000"), "OPEN",
    )  # fmt: skip


def test_adding_margin_to_an_isolated_short_moves_its_liquidation_price_up(trader, balanced_ledger):
    # given an isolated short of 0.1 BTC at 60,000, 20x: margin 300; s = -1:
    # LP = (300 + 0.1 x 60,000) / (0.1 x 0.004 + 0.1) = 6,300 / 0.1004
    position = open_position(trader, "SELL", "0.1")
    with localcontext(PRECISE):
        before = D("6300") / D("0.1004")
        after = D("6550.5") / D("0.1004")
    assert row_of(trader, position).figures.liquidation_price == before
    assert row_of(trader, position).liquidation_price_display == D("62749.0")  # a short's down

    # when the trader adds 250.5
    isolated_margin_add(user=trader, symbol="BTCUSDT", amount="250.5")

    # then the margin is 550.5, the wallet 9,697 - 250.5, and LP = 6,550.5 / 0.1004, higher
    position.refresh_from_db()
    assert position.isolated_margin == D("550.5")
    assert wallet_balance(trader) == D("9446.5")
    row = row_of(trader, position)
    assert row.figures.liquidation_price == after
    assert engine_liquidation_price(position, mark=D("60000"), isolated_margin=D("550.5")) == after
    assert row.liquidation_price_display == D("65244.0")
    assert D("60000") < before < after


def test_adding_exactly_the_available_balance_is_accepted_one_unit_more_is_refused(
    trader, unchanged, balanced_ledger
):
    # given an isolated BTC long (margin 300, fee 3) and a cross long of 1 ETH at 3,000 (fee
    # 1.5): wallet 10,000 - 300 - 3 - 1.5 = 9,695.5
    open_position(trader, "BUY", "0.1")
    open_position(trader, "BUY", "1", margin_mode="CROSS", symbol="ETHUSDT")
    assert wallet_balance(trader) == D("9695.5")
    # and ETH marked at 3,100: cross uPnL +100, cross initial margin 3,100 / 20 = 155
    mark_price_set(symbol="ETHUSDT", price="3100")
    # available = 9,695.5 + 100 - 155 = 9,640.5; unrealized profit cannot become isolated
    # margin (it is no cash), so at most 9,640.5 - 100 = 9,540.5 may be added
    assert account_summary(user=trader).available_balance == D("9640.5")

    # when the trader adds 9,540.50000001; then refused, naming the maximum
    with (
        pytest.raises(
            MarginInsufficient,
            match=r"^You can add at most 9,540\.5 USDT \(your available balance\)\.$",
        ),
        unchanged(),
    ):
        isolated_margin_add(user=trader, symbol="BTCUSDT", amount="9540.50000001")

    # when the trader adds 9,540.5; then it is accepted: margin 9,840.5, wallet 155
    position = isolated_margin_add(user=trader, symbol="BTCUSDT", amount="9540.5")
    assert position.isolated_margin == D("9840.5")
    assert wallet_balance(trader) == D("155")
    assert account_summary(user=trader).available_balance == D("100")


def test_adding_more_than_the_available_balance_is_refused(trader, unchanged, balanced_ledger):
    # given an isolated long: wallet 9,697, nothing else open, so 9,697 available
    open_position(trader, "BUY", "0.1")

    # when the trader adds 20,000; then MarginInsufficient, nothing changes
    with (
        pytest.raises(
            MarginInsufficient, match=r"You can add at most 9,697 USDT \(your available balance\)\."
        ),
        unchanged(),
    ):
        isolated_margin_add(user=trader, symbol="BTCUSDT", amount="20000")


def test_adding_margin_touches_only_the_isolated_position_of_the_symbol(trader, balanced_ledger):
    # given on BTCUSDT a cross short of 0.2 (fee 6) and an isolated long of 0.1 (margin 300,
    # fee 3): wallet 9,691
    cross = open_position(trader, "SELL", "0.2", margin_mode="CROSS")
    isolated = open_position(trader, "BUY", "0.1")
    assert wallet_balance(trader) == D("9691")
    cross_before = Position.objects.filter(pk=cross.pk).values().get()
    entries_before = LedgerEntry.objects.count()

    # when the trader adds 50 to BTCUSDT
    isolated_margin_add(user=trader, symbol="BTCUSDT", amount="50")

    # then one entry moves 50 into the isolated position; the cross position is untouched
    assert LedgerEntry.objects.count() == entries_before + 1
    entry = LedgerEntry.objects.select_related("destination").order_by("pk").last()
    assert (entry.position_id, entry.destination.position_id) == (isolated.pk, isolated.pk)
    isolated.refresh_from_db()
    assert isolated.isolated_margin == D("350")
    assert Position.objects.filter(pk=cross.pk).values().get() == cross_before
    assert wallet_balance(trader) == D("9641")
    # the isolated liquidation price is (350 - 6,000) / -0.0996
    with localcontext(PRECISE):
        expected = (D("350") - D("6000")) / (D("0.0004") - D("0.1"))
    assert row_of(trader, isolated).figures.liquidation_price == expected

    # and removing touches only the isolated one too
    isolated_margin_remove(user=trader, symbol="BTCUSDT", amount="50")
    isolated.refresh_from_db()
    assert isolated.isolated_margin == D("300")
    assert Position.objects.filter(pk=cross.pk).values().get() == cross_before
    assert wallet_balance(trader) == D("9691")


# --- isolated_margin_remove ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mark", "maximum", "comment"),
    [
        # uPnL 0.1 x 1,234.5 = 123.45; notional 6,123.45; MM x 0.004 = 24.4938
        # min(300 - 24.4938, 300 + 123.45 - 6,123.45 / 20 = 117.2775): the initial margin binds
        ("61234.5", D("117.2775"), "initial margin at the mark binds"),
        # uPnL 1,000; notional 7,000; MM 28
        # min(300 - 28 = 272, 300 + 1,000 - 350 = 950): the maintenance margin binds
        ("70000", D("272"), "maintenance margin binds"),
    ],
)
def test_removing_margin_is_allowed_up_to_the_engines_maximum_and_refused_one_unit_above(
    trader, unchanged, balanced_ledger, mark, maximum, comment
):
    # given an isolated long of 0.1 BTC at 60,000, 20x: margin 300, wallet 9,697
    position = open_position(trader, "BUY", "0.1")
    mark_price_set(symbol="BTCUSDT", price=mark)

    # the service's maximum is the engine's, at the mark
    removable = isolated_margin_max_removable(
        user=trader, position=position, positions=open_positions(trader)
    )
    state = PositionState(
        Side.LONG, D("0.1"), D("60000"), D(mark), engine_brackets(position.instrument)
    )
    assert removable == maximum
    assert engine_max_removable(state, isolated_margin=D("300"), leverage=20) == maximum

    # when the trader removes one unit more; then refused, naming the maximum
    with (
        pytest.raises(
            MarginInsufficient,
            match=re.escape(f"You can remove at most {maximum:,f} USDT from this position."),
        ),
        unchanged(),
    ):
        isolated_margin_remove(user=trader, symbol="BTCUSDT", amount=str(maximum + D("0.00000001")))

    # when the trader removes exactly the maximum
    returned = isolated_margin_remove(user=trader, symbol="BTCUSDT", amount=str(maximum))

    # then it moves ISOLATED_MARGIN -> WALLET, "margin removed"
    assert last_entry_row() == (
        "ISOLATED_MARGIN", maximum, "ISOLATED_MARGIN", "WALLET", "margin removed",
    )  # fmt: skip
    assert returned.pk == position.pk
    position.refresh_from_db()
    assert position.isolated_margin == D("300") - maximum
    assert wallet_balance(trader) == D("9697") + maximum
    # and nothing more can leave
    assert (
        isolated_margin_max_removable(
            user=trader, position=position, positions=open_positions(trader)
        )
        == 0
    )
    with (
        pytest.raises(
            MarginInsufficient, match=r"You can remove at most 0 USDT from this position\."
        ),
        unchanged(),
    ):
        isolated_margin_remove(user=trader, symbol="BTCUSDT", amount="0.00000001")


def test_removing_margin_moves_the_liquidation_price_toward_the_mark(trader, balanced_ledger):
    # given an isolated long of 0.1 BTC at 60,000 with 400 of margin (300 + 100 added)
    position = open_position(trader, "BUY", "0.1")
    isolated_margin_add(user=trader, symbol="BTCUSDT", amount="100")
    position.refresh_from_db()
    # at the mark 60,000: max removable = min(400 - 24, 400 + 0 - 300) = 100
    assert (
        isolated_margin_max_removable(
            user=trader, position=position, positions=open_positions(trader)
        )
        == 100
    )

    # when the trader removes 60
    isolated_margin_remove(user=trader, symbol="BTCUSDT", amount="60")

    # then margin 340, wallet 9,597 + 60, LP = (340 - 6,000) / -0.0996, closer to 60,000
    position.refresh_from_db()
    assert position.isolated_margin == D("340")
    assert wallet_balance(trader) == D("9657")
    with localcontext(PRECISE):
        expected = (D("340") - D("6000")) / (D("0.0004") - D("0.1"))
    assert row_of(trader, position).figures.liquidation_price == expected
    assert expected == D("56827.309236947791164658634538152610441767068273092")


def test_a_losing_isolated_position_has_nothing_removable(trader, unchanged, balanced_ledger):
    # given an isolated long of 0.1 BTC at 60,000 (margin 300) with the mark at 59,000:
    # min(300 - 23.6, 300 - 100 - 295 = -95) -> 0
    position = open_position(trader, "BUY", "0.1")
    mark_price_set(symbol="BTCUSDT", price="59000")
    assert (
        isolated_margin_max_removable(
            user=trader, position=position, positions=open_positions(trader)
        )
        == 0
    )

    with (
        pytest.raises(
            MarginInsufficient, match=r"You can remove at most 0 USDT from this position\."
        ),
        unchanged(),
    ):
        isolated_margin_remove(user=trader, symbol="BTCUSDT", amount="1")


# --- refusals -----------------------------------------------------------------------------

BOTH_SERVICES = [
    pytest.param(isolated_margin_add, id="add"),
    pytest.param(isolated_margin_remove, id="remove"),
]


@pytest.mark.parametrize("service", BOTH_SERVICES)
def test_a_cross_position_is_refused_as_not_isolated(trader, unchanged, service, balanced_ledger):
    # given only a cross position on BTCUSDT
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")

    # when the trader adds or removes margin; then NotIsolated with the exchange's wording
    with (
        pytest.raises(NotIsolated, match=r"^Add margin only support for isolated position\.$"),
        unchanged(),
    ):
        service(user=trader, symbol="BTCUSDT", amount="10")


@pytest.mark.parametrize("service", BOTH_SERVICES)
def test_without_a_position_is_refused_as_no_position(trader, unchanged, service, balanced_ledger):
    # given an isolated ETH position but nothing on BTCUSDT
    open_position(trader, "BUY", "1", symbol="ETHUSDT")

    with (
        pytest.raises(NoPosition, match=r"You have no open BTCUSDT Isolated position\."),
        unchanged(),
    ):
        service(user=trader, symbol="BTCUSDT", amount="10")


@pytest.mark.parametrize("service", BOTH_SERVICES)
def test_a_closed_isolated_position_is_refused_as_no_position(
    trader, unchanged, service, balanced_ledger
):
    # given an isolated position that was closed
    open_position(trader, "BUY", "0.1")
    order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", margin_mode="ISOLATED")

    with pytest.raises(NoPosition, match="You have no open BTCUSDT Isolated"), unchanged():
        service(user=trader, symbol="BTCUSDT", amount="10")


@pytest.mark.parametrize("service", BOTH_SERVICES)
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        pytest.param(0, "greater than 0", id="zero"),
        pytest.param("0", "greater than 0", id="zero-string"),
        pytest.param("-1", "greater than 0", id="negative"),
        pytest.param(Decimal("NaN"), "finite number", id="nan"),
        pytest.param("Infinity", "finite number", id="infinity"),
        pytest.param(10.5, "decimal number or string", id="float"),
        pytest.param(True, "decimal number or string", id="bool"),
        pytest.param("abc", "must be a number", id="abc"),
        pytest.param("1e16", "too large", id="huge"),
        pytest.param("0.000000001", "more than 8 decimal places", id="nine-decimals"),
        pytest.param(None, "must be a number", id="none"),
    ],
)
def test_an_invalid_amount_is_refused(trader, unchanged, service, amount, message, balanced_ledger):
    # given an isolated long with margin to spare (so only the amount can be wrong)
    open_position(trader, "BUY", "0.1")
    isolated_margin_add(user=trader, symbol="BTCUSDT", amount="100")

    with pytest.raises(InvalidAmount, match=message), unchanged():
        service(user=trader, symbol="BTCUSDT", amount=amount)
