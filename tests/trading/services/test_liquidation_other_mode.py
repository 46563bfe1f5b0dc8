"""What a liquidation's receipt and notice say the other margin mode would have done at that
moment, after real liquidations by the sweep; and where the trader reads it and each open
position's twin: the receipt page, the notice, the native API and the positions panel.

Seeded market: BTCUSDT 60,000, ETHUSDT 3,000, SOLUSDT 150 (tick 0.01); 20x by default in both
modes; taker fee 0.05 %. BTCUSDT and ETHUSDT brackets: below 50,000 notional MMR 0.004, cum 0;
50,000 up to 600,000 MMR 0.005, cum 50. SOLUSDT below 5,000: MMR 0.005, cum 0. Every trader
starts with 10,000 USDT.
"""

import re

import pytest
from django.urls import reverse

from tests.builders import isolated_btc_long_liquidated, open_position
from trading.models import LiquidationEvent, Notification
from trading.selectors.history import liquidation_receipt
from trading.services import mark_price_set, sweep_run

pytestmark = pytest.mark.django_db


def outcome_of(event: LiquidationEvent) -> str:
    return liquidation_receipt(user=event.user, event_id=event.pk).other_mode.outcome


def test_an_isolated_liquidation_says_cross_would_have_taken_the_loss_from_the_wallet(trader):
    # given 1 BTC isolated long at 60,000, 20x (margin 3,000, fee 30: wallet 6,970), liquidated
    # at 57,200 (margin balance 200 <= maintenance 236)
    event = isolated_btc_long_liquidated(trader)

    # then in Cross the wallet, 6,970 with the 3,000 back, 9,970, carries the 2,800 loss:
    # margin balance 7,170 > 236, still open; LP = (9,970 + 50 - 60,000) / (0.005 - 1)
    (position,) = event.positions.all()
    assert event.other_mode == {
        "mode": "CROSS",
        "positions": [
            {
                "position": position.pk,
                "symbol": "BTCUSDT",
                "side": "LONG",
                "tick_size": "0.10000000",
                "liquidation_price": "50231.15577889",
                "liquidation_price_display": "50231.20000000",
                "at_risk": "9970",
                "unrealized_pnl": "-2800",
                "liquidated": False,
            }
        ],
    }
    outcome = (
        "In Cross, this move would have taken 2,800.00 USDT from your wallet and left you open "
        "(liq. price 50,231.2)."
    )
    assert outcome_of(event) == outcome
    # and the notice ends with it
    notice = Notification.objects.get(user=trader, liquidation=event)
    assert notice.message.endswith(f"the rest of your account is untouched. {outcome}")


def test_an_isolated_liquidation_by_a_gap_says_cross_would_have_gone_too(trader):
    # given 3 BTC isolated long at 60,000, 20x: margin 9,000, fee 90, wallet 910. Isolated LP
    # = (9,000 + 50 - 180,000) / (0.015 - 3) = 57,269.68; the cross twin's, on 9,910,
    # (9,910 + 50 - 180,000) / (0.015 - 3) = 56,964.82
    open_position(trader, "BUY", "3")
    # when the mark gaps to 56,900, past both
    mark_price_set(symbol="BTCUSDT", price="56900")
    sweep_run()

    event = LiquidationEvent.objects.get(user=trader)
    assert event.other_mode["positions"][0]["liquidated"] is True
    assert outcome_of(event) == (
        "In Cross, this move would have liquidated it too, with your whole wallet of "
        "9,910.00 USDT at risk."
    )


def test_a_cross_liquidation_says_isolated_would_have_lost_only_the_margin(trader, insurance_fund):
    # given a cross long of 1 BTC at 60,000 (fee 30: wallet 9,970), liquidated at 50,000
    # (margin balance 9,970 - 10,000 = -30 <= maintenance)
    open_position(trader, "BUY", "1", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="50000")
    sweep_run()

    event = LiquidationEvent.objects.get(user=trader)
    # then in Isolated at 20x it held 3,000, and lost that alone
    assert event.other_mode["mode"] == "ISOLATED"
    assert outcome_of(event) == "In Isolated, only the 3,000.00 USDT margin would have been lost."


def test_a_cross_liquidation_tells_each_positions_isolated_twin(trader):
    # given cross longs of 50 ETH at 3,000 (fee 75) and 20 SOL at 150 (fee 1.5), liquidated when
    # ETH falls to 2,810 (margin balance 9,923.5 - 9,500 = 423.5 <= maintenance 667.5)
    open_position(trader, "BUY", "50", symbol="ETHUSDT", margin_mode="CROSS")
    open_position(trader, "BUY", "20", symbol="SOLUSDT", margin_mode="CROSS")
    mark_price_set(symbol="ETHUSDT", price="2810")
    sweep_run()

    event = LiquidationEvent.objects.get(user=trader)
    # then in Isolated at 20x: ETH on 150,000 / 20 = 7,500 loses 9,500: gone, its margin lost;
    # SOL on 3,000 / 20 = 150, at its entry, survives: LP = (150 - 3,000) / (0.1 - 20) =
    # 143.216..., a long's up to the tick: 143.22
    assert outcome_of(event) == (
        "In Isolated, ETHUSDT long would have lost only its 7,500.00 USDT margin; SOLUSDT long "
        "would have survived on its 150.00 USDT margin (liq. price 143.22)."
    )
    sol = event.other_mode["positions"][1]
    assert (sol["liquidation_price"], sol["at_risk"], sol["liquidated"]) == (
        "143.21608040",
        "150",
        False,
    )
    notice = Notification.objects.get(user=trader, liquidation=event)
    assert notice.message.endswith(outcome_of(event))


def test_a_receipt_written_before_the_twins_were_kept_has_none(trader, signed_in):
    event = isolated_btc_long_liquidated(trader)
    LiquidationEvent.objects.filter(pk=event.pk).update(other_mode=None)

    assert liquidation_receipt(user=trader, event_id=event.pk).other_mode is None
    page = signed_in.get(reverse("liquidation_detail", args=[event.pk])).content.decode()
    assert 'data-figure="other-mode"' not in page


def test_the_receipt_page_says_what_the_other_mode_would_have_done(trader, signed_in):
    event = isolated_btc_long_liquidated(trader)

    page = signed_in.get(reverse("liquidation_detail", args=[event.pk])).content.decode()

    shown = re.search(r'<p class="other-mode" data-figure="other-mode">(.*?)</p>', page, re.S)
    assert shown.group(1) == (
        "<strong>In the other mode:</strong> In Cross, this move would have taken 2,800.00 USDT "
        "from your wallet and left you open (liq. price 50,231.2)."
    )


def test_the_positions_panel_shows_each_positions_twin(trader, signed_in):
    # given a cross long of 1 BTC at 60,000 (wallet 9,970) and an isolated short of 0.1 BTC at
    # 60,000, 20x (margin 300, fee 3: wallet 9,667)
    cross = open_position(trader, "BUY", "1", margin_mode="CROSS")
    isolated = open_position(trader, "SELL", "0.1")

    page = signed_in.get("/portfolio/").content.decode()

    def twin_row(position) -> str:
        """The text of the position's twin row, its tags and extra spaces dropped."""
        row = re.search(rf'<tr class="other-mode" data-twin-of="{position.pk}".*?</tr>', page, re.S)
        return " ".join(re.sub(r"<[^>]+>", "", row.group(0)).split())

    # then the cross long in Isolated: margin 3,000, LP (3,000 + 50 - 60,000) / (0.005 - 1)
    assert twin_row(cross) == "In Isolated: liq. price 57,236.2, at risk 3,000.00 USDT"
    # and the isolated short in Cross: the wallet 9,667 + 300 = 9,967 beside the BTC long
    # (MM 60,000 x 0.005 - 50 = 250, uPnL 0): LP = (9,967 - 250 + 0 + 0.1 x 60,000) /
    # (0.1 x 0.004 + 0.1) = 15,717 / 0.1004 = 156,543.82..., a short's down to the tick
    assert (
        twin_row(isolated) == "In Cross: liq. price 156,543.8, at risk: your wallet (9,967.00 USDT)"
    )
