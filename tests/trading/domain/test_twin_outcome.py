"""What a liquidation receipt says the other mode would have done (trading/domain/twin.py):
amounts to the cent with thousands separators, liquidation prices on the tick."""

from decimal import Decimal

from trading.domain.twin import OtherMode, PositionTwin, other_mode, twin_outcome

D = Decimal


def twin(mode, *, liquidated, at_risk, pnl="0", price=None, symbol="BTCUSDT", side="LONG"):
    return PositionTwin(
        mode=mode,
        position_id=7,
        symbol=symbol,
        side=side,
        tick_size=D("0.10000000"),
        liquidation_price=None if price is None else D(price),
        liquidation_price_display=None if price is None else D(price),
        at_risk=D(at_risk),
        unrealized_pnl=D(pnl),
        liquidated=liquidated,
    )


def test_the_other_mode_of_cross_is_isolated_and_back():
    assert (other_mode("CROSS"), other_mode("ISOLATED")) == ("ISOLATED", "CROSS")


def test_a_cross_twin_that_survives_says_what_the_move_took_from_the_wallet():
    outcome = twin_outcome(
        [twin("CROSS", liquidated=False, at_risk="9970", pnl="-1240", price="50231.2")]
    )

    assert outcome == (
        "In Cross, this move would have taken 1,240.00 USDT from your wallet and left you open "
        "(liq. price 50,231.2)."
    )


def test_a_cross_twin_that_goes_too_puts_the_whole_wallet_at_risk():
    outcome = twin_outcome([twin("CROSS", liquidated=True, at_risk="9970", pnl="-2800")])

    assert outcome == (
        "In Cross, this move would have liquidated it too, with your whole wallet of "
        "9,970.00 USDT at risk."
    )


def test_an_isolated_twin_that_goes_loses_only_its_margin():
    outcome = twin_outcome([twin("ISOLATED", liquidated=True, at_risk="300", pnl="-310")])

    assert outcome == "In Isolated, only the 300.00 USDT margin would have been lost."


def test_an_isolated_twin_that_survives_says_so_with_its_liquidation_price():
    outcome = twin_outcome(
        [twin("ISOLATED", liquidated=False, at_risk="3000", pnl="-2000", price="57236.2")]
    )

    assert outcome == (
        "In Isolated, this position would have survived this move on its 3,000.00 USDT margin "
        "(liq. price 57,236.2)."
    )


def test_several_isolated_twins_are_told_one_by_one():
    outcome = twin_outcome(
        [
            twin("ISOLATED", liquidated=True, at_risk="7500", pnl="-9500"),
            twin(
                "ISOLATED",
                liquidated=False,
                at_risk="150",
                price=None,
                symbol="SOLUSDT",
                side="SHORT",
            ),
        ]
    )

    assert outcome == (
        "In Isolated, BTCUSDT long would have lost only its 7,500.00 USDT margin; SOLUSDT short "
        "would have survived on its 150.00 USDT margin (no liquidation price)."
    )


def test_the_receipts_record_reads_back_the_same_twins():
    other = OtherMode(
        "ISOLATED",
        (twin("ISOLATED", liquidated=False, at_risk="3000.5", pnl="-20.25", price="57236.2"),),
    )

    assert OtherMode.from_record(other.record()) == other
