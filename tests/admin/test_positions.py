"""The back office's positions: the list with the live figures each user sees (mark, uPnL, margin,
margin ratio, liquidation price on the tick), its filters (mode, symbol, at risk), a bounded
number of queries, a read-only page, and the forced close at market with a reason: what it does
to the position, the ledger, the audit log and the user's notices, and every refusal.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001), ETHUSDT 3,000; taker fee 0.05 %, no
slippage. BTCUSDT and ETHUSDT brackets: notional below 50,000 -> MMR 0.004, cum 0; 50,000 up to
600,000 -> MMR 0.005, cum 50. Every trader starts with 10,000 USDT.
"""

import html
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.builders import (
    changelist_rows,
    last_ledger_pk,
    ledger_rows,
    open_position,
    wallet_balance,
)
from trading.errors import MarginInsufficient, NoPosition, OperatorNotPermitted
from trading.models import AuditEntry, Notification, Order, Position
from trading.selectors import position_list
from trading.services import mark_price_set, position_close
from trading.services.interventions import position_force_close
from trading.templatetags.figures import ratio, to_tick, usdt

pytestmark = pytest.mark.django_db

D = Decimal
CHANGELIST = reverse("admin:trading_position_changelist")


# --- helpers -------------------------------------------------------------------------------


def force_close(client, position_ids, reason="Runaway position during the class drill"):
    selected = position_ids if isinstance(position_ids, list) else [position_ids]
    return client.post(
        CHANGELIST,
        {"action": "force_close", "_selected_action": selected, "apply": "1", "reason": reason},
    )


def audit_and_notices() -> tuple[int, int]:
    return AuditEntry.objects.count(), Notification.objects.count()


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_position_with_the_figures_its_user_sees(
    operator_client, trader, make_trader
):
    # given alice's 1 BTC isolated long at 60,000, 20x: margin 60000 / 20 = 3000
    isolated = open_position(trader, "BUY", "1")
    # and bob's 1 BTC cross long at 60,000, 10x: wallet 10000 - fee 30 = 9970
    bob = make_trader("bob")
    cross = open_position(bob, "BUY", "1", margin_mode="CROSS", leverage=10)
    # when the mark falls to 58,000
    mark_price_set(symbol="BTCUSDT", price="58000")

    response = operator_client.get(CHANGELIST)

    assert response.status_code == 200
    rows = changelist_rows(response)
    # alice: uPnL 1 x (58000 - 60000) = -2000; MM 58000 x 0.005 - 50 = 240;
    # ratio 240 / (3000 - 2000) = 24 %; LP (3000 + 50 - 60000) / (0.005 - 1) = 57,236.18 -> up
    assert rows[isolated.pk] == {
        "id": str(isolated.pk),
        "user": "alice",
        "symbol": "BTCUSDT",
        "margin_mode": "Isolated",
        "side": "Long",
        "size": "1.000",
        "entry": "60,000.0",
        "mark": "58,000.0",
        "unrealized_pnl": "-2,000.00",
        "margin": "3,000.00",
        "margin_ratio": "24.00 %",
        "liquidation_price": "57,236.2",
        "status": "Open",
        "opened_at": rows[isolated.pk]["opened_at"],
    }
    # bob (cross): the account's ratio 240 / (9970 - 2000) = 3.01 %; margin 58000 / 10 = 5800;
    # LP (9970 + 50 - 60000) / (0.005 - 1) = 50,231.16 -> up
    assert {k: rows[cross.pk][k] for k in ("margin", "margin_ratio", "liquidation_price")} == {
        "margin": "5,800.00",
        "margin_ratio": "3.01 %",
        "liquidation_price": "50,231.2",
    }
    # the very figures of the users' own positions panels
    for user, position in ((trader, isolated), (bob, cross)):
        (row,) = position_list(user=user)
        tick = position.instrument.tick_size
        assert rows[position.pk]["liquidation_price"] == to_tick(
            row.liquidation_price_display, tick
        )
        assert rows[position.pk]["unrealized_pnl"] == usdt(row.figures.unrealized_pnl)
        assert rows[position.pk]["margin_ratio"] == ratio(row.figures.margin_ratio)


def test_a_closed_position_is_listed_without_live_figures(operator_client, trader):
    position = open_position(trader, "BUY", "1")
    position_close(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    row = changelist_rows(operator_client.get(CHANGELIST))[position.pk]

    assert (row["status"], row["size"], row["mark"], row["margin_ratio"]) == (
        "Closed",
        "0.000",
        "—",
        "—",
    )


def test_the_at_risk_filter_lists_only_positions_at_or_past_80_percent(
    operator_client, trader, make_trader
):
    # given alice's 1 BTC isolated long at 20x (margin 3000) and bob's at 10x (margin 6000)
    risky = open_position(trader, "BUY", "1")
    safe = open_position(make_trader("bob"), "BUY", "1", leverage=10)
    # when the mark falls to 57,280: MM 57280 x 0.005 - 50 = 236.4 for both;
    # alice 236.4 / (3000 - 2720) = 84.43 %, bob 236.4 / (6000 - 2720) = 7.21 %
    mark_price_set(symbol="BTCUSDT", price="57280")

    everything = changelist_rows(operator_client.get(CHANGELIST))
    at_risk = changelist_rows(operator_client.get(CHANGELIST, {"risk": "at_risk"}))

    assert everything[risky.pk]["margin_ratio"] == "84.43 %"
    assert everything[safe.pk]["margin_ratio"] == "7.21 %"
    assert list(at_risk) == [risky.pk]


def test_a_cross_position_is_at_risk_by_its_accounts_ratio(operator_client, make_trader):
    # given carol's 3 BTC cross long at 60,000, 20x: wallet 10000 - fee 90 = 9910
    carol = make_trader("carol")
    position = open_position(carol, "BUY", "3", margin_mode="CROSS")
    # when the mark falls to 57,000: uPnL -9000, balance 910, MM 171000 x 0.005 - 50 = 805:
    # ratio 805 / 910 = 88.46 %
    mark_price_set(symbol="BTCUSDT", price="57000")

    at_risk = changelist_rows(operator_client.get(CHANGELIST, {"risk": "at_risk"}))

    assert list(at_risk) == [position.pk]
    assert at_risk[position.pk]["margin_ratio"] == "88.46 %"


def test_the_list_filters_by_mode_and_by_symbol(operator_client, trader, make_trader):
    isolated = open_position(trader, "BUY", "1")
    cross = open_position(make_trader("bob"), "SELL", "2", symbol="ETHUSDT", margin_mode="CROSS")
    eth = cross.instrument

    by_mode = changelist_rows(operator_client.get(CHANGELIST, {"margin_mode__exact": "CROSS"}))
    by_symbol = changelist_rows(operator_client.get(CHANGELIST, {"instrument__id__exact": eth.pk}))
    isolated_only = changelist_rows(
        operator_client.get(CHANGELIST, {"margin_mode__exact": "ISOLATED"})
    )

    assert list(by_mode) == [cross.pk]
    assert list(by_symbol) == [cross.pk]
    assert list(isolated_only) == [isolated.pk]


def test_the_list_costs_the_same_queries_for_few_or_many_accounts(
    operator_client, make_trader, django_assert_max_num_queries
):
    # session, user, the counts, the page's rows, the symbol filter's instruments, then the
    # page's holdings: positions, their brackets, marks, wallets, margin held by orders; and 6
    # for the ADL queues of the rows' sides (on a cold cache)
    page, at_risk = 19, 19 + 6  # the filter values every open position: the same 6 again
    open_position(make_trader(), "BUY", "0.1")
    with django_assert_max_num_queries(page):
        assert len(changelist_rows(operator_client.get(CHANGELIST))) == 1

    for _ in range(6):
        user = make_trader()
        open_position(user, "BUY", "0.1")
        open_position(user, "SELL", "1", symbol="ETHUSDT", margin_mode="CROSS")
    with django_assert_max_num_queries(page):
        assert len(changelist_rows(operator_client.get(CHANGELIST))) == 13
    with django_assert_max_num_queries(at_risk):
        assert len(changelist_rows(operator_client.get(CHANGELIST, {"risk": "at_risk"}))) == 0


def test_the_position_page_shows_live_figures_and_nothing_is_editable(
    operator_client, trader, unchanged
):
    position = open_position(trader, "BUY", "1")
    mark_price_set(symbol="BTCUSDT", price="58000")
    url = reverse("admin:trading_position_change", args=[position.pk])

    response = operator_client.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    for figure in ("57,236.2", "24.00 %", "-2,000.00", "58,000.0"):
        assert figure in content
    assert 'name="quantity"' not in content
    assert 'name="_save"' not in content
    with unchanged():
        assert operator_client.post(url, {"quantity": "5", "_save": "1"}).status_code == 403
    assert operator_client.get(reverse("admin:trading_position_add")).status_code == 403


# --- force-close ---------------------------------------------------------------------------


def test_the_operator_force_closes_a_position_at_market_with_a_reason(
    operator_client, operator, trader, balanced_ledger
):
    # given alice's 1 BTC isolated long at 60,000, 20x: wallet 10000 - 3000 - 30 = 6970
    position = open_position(trader, "BUY", "1")
    mark_price_set(symbol="BTCUSDT", price="58000")
    last_entry = last_ledger_pk()

    response = force_close(operator_client, position.pk)

    # then she is back to the change list, told what was done
    assert response.status_code == 302
    position.refresh_from_db()
    assert (position.status, position.quantity, position.realized_pnl) == ("CLOSED", 0, D("-2000"))
    # a reduce-only market sell of 1 BTC, filled at the mark
    order = Order.objects.get(user=trader, side="SELL")
    assert (order.order_type, order.reduce_only, order.status, order.average_fill_price) == (
        "MARKET",
        True,
        "FILLED",
        D("58000"),
    )
    # the loss of 2000 from the position's margin, the other 1000 back, the fee 58000 x 0.0005
    assert ledger_rows(after=last_entry) == [
        ("REALIZED_PNL", D("2000"), "ISOLATED_MARGIN", "HOUSE"),
        ("ISOLATED_MARGIN", D("1000"), "ISOLATED_MARGIN", "WALLET"),
        ("FEE", D("29"), "WALLET", "FEES"),
    ]
    assert wallet_balance(trader) == D("6970") + D("1000") - D("29")
    # the audit log says who, what, from what to what, and why
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target_type, entry.target_id) == (
        operator,
        "POSITION_FORCE_CLOSED",
        "trading.Position",
        str(position.pk),
    )
    assert entry.target_label == "alice: BTCUSDT Isolated long"
    assert entry.before == {
        "status": "OPEN",
        "side": "LONG",
        "quantity": "1.00000000",
        "entry_price": "60000.00000000",
        "isolated_margin": "3000.00000000",
    }
    assert entry.after == {
        "status": "CLOSED",
        "order_id": order.pk,
        "fill_price": "58000.00000000",
        "realized_pnl": "-2000.00000000",
        "fee": "29.00000000",
    }
    assert entry.reason == "Runaway position during the class drill"
    # and alice is told
    notice = Notification.objects.get(user=trader)
    assert notice.kind == "OPERATOR"
    assert notice.message == (
        "An operator closed your BTCUSDT Isolated long of 1 at market, at 58,000. "
        "Reason: Runaway position during the class drill"
    )


def test_a_long_reason_is_kept_whole_in_the_audit_log_and_shortened_in_the_notice(operator, trader):
    position = open_position(trader, "BUY", "1")
    reason = "r" * 300

    position_force_close(operator=operator, position_id=str(position.pk), reason=reason)

    assert AuditEntry.objects.get().reason == reason
    message = Notification.objects.get(user=trader).message
    assert len(message) == 300
    assert message.endswith("rrr…")


def test_force_close_asks_for_a_reason_first(operator_client, trader, unchanged):
    position = open_position(trader, "BUY", "1")
    counts = audit_and_notices()

    with unchanged():
        response = operator_client.post(
            CHANGELIST, {"action": "force_close", "_selected_action": [position.pk]}
        )

    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    assert audit_and_notices() == counts


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
def test_force_close_without_a_valid_reason_is_refused_and_changes_nothing(
    operator_client, trader, unchanged, reason
):
    position = open_position(trader, "BUY", "1")
    counts = audit_and_notices()

    with unchanged():
        response = force_close(operator_client, position.pk, reason=reason)

    assert response.status_code == 400
    assert Position.objects.get(pk=position.pk).status == "OPEN"
    assert audit_and_notices() == counts


def test_force_closing_a_closed_position_is_refused_with_its_status(
    operator_client, trader, unchanged
):
    position = open_position(trader, "BUY", "1")
    position_close(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    counts = audit_and_notices()

    with unchanged():
        response = force_close(operator_client, position.pk)

    assert response.status_code == 404
    assert (
        f"Position {position.pk} (BTCUSDT Isolated) is already closed: only an open position "
        "can be closed."
    ) in html.unescape(response.content.decode())
    assert audit_and_notices() == counts


def test_force_close_takes_one_position_at_a_time(operator_client, trader, make_trader, unchanged):
    first = open_position(trader, "BUY", "1")
    second = open_position(make_trader("bob"), "BUY", "1")

    with unchanged():
        response = force_close(operator_client, [first.pk, second.pk])

    assert response.status_code == 400
    assert "Force-close one position at a time" in response.content.decode()
    assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize("position_id", [10**9, "999999", "abc", "", None, True, -1, 10**30, "1.5"])
def test_force_closing_an_unknown_position_is_not_found(operator, trader, unchanged, position_id):
    open_position(trader, "BUY", "1")

    with unchanged(), pytest.raises(NoPosition, match="Position not found"):
        position_force_close(operator=operator, position_id=position_id, reason="cleanup")

    assert audit_and_notices() == (0, 0)


def test_a_cross_close_at_a_loss_beyond_the_wallet_is_refused_with_the_close_rules_message(
    operator, trader, unchanged
):
    # given alice's cross long 1 BTC and cross short 20 ETH, 20x each: wallet 10000 - 30 - 30
    btc = open_position(trader, "BUY", "1", margin_mode="CROSS")
    open_position(trader, "SELL", "20", symbol="ETHUSDT", margin_mode="CROSS")
    # when BTC falls to 50,000 (uPnL -10000) and ETH to 2,500 (+10000): the account is sound,
    # but closing BTC alone realizes 10000 + fee 25 against a wallet of 9940
    mark_price_set(symbol="BTCUSDT", price="50000")
    mark_price_set(symbol="ETHUSDT", price="2500")

    with unchanged(), pytest.raises(MarginInsufficient) as refusal:
        position_force_close(operator=operator, position_id=btc.pk, reason="cleanup")

    assert refusal.value.status == 409
    assert refusal.value.message.startswith(
        "Closing this realizes a loss of 10,000 USDT (and a fee of 25), more than your "
        "wallet's 9,940 USDT."
    )
    assert audit_and_notices() == (0, 0)


# --- permissions ---------------------------------------------------------------------------


def test_support_sees_the_positions_but_cannot_force_close(
    support_client, support, trader, unchanged
):
    position = open_position(trader, "BUY", "1")

    page = support_client.get(CHANGELIST)
    assert page.status_code == 200
    assert position.pk in changelist_rows(page)
    assert 'value="force_close"' not in page.content.decode()
    with unchanged():
        forged = force_close(support_client, position.pk)
        with pytest.raises(OperatorNotPermitted):
            position_force_close(operator=support, position_id=position.pk, reason="because")

    # no action is offered to support: a forged one is refused
    assert forged.status_code == 403
    assert 'name="reason"' not in forged.content.decode()
    assert Position.objects.get(pk=position.pk).status == "OPEN"
    assert audit_and_notices() == (0, 0)


def test_a_trader_gets_no_back_office_page(trader_client, trader, unchanged):
    position = open_position(trader, "BUY", "1")

    with unchanged():
        listing = trader_client.get(CHANGELIST)
        forged = force_close(trader_client, position.pk)

    for response in (listing, forged):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert audit_and_notices() == (0, 0)
