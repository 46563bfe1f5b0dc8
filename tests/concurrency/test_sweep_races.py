"""Real concurrency on PostgreSQL for the sweep: several threads, each with its own connection and
transaction. Parallel sweeps must liquidate every account exactly once, and a user's add-margin
racing a liquidation must end in one consistent story, with the books balanced either way.

Every position here: 1 BTC isolated long at 60,000, 20x: margin 3000, fee 30 (wallet 6970),
liquidation price (3000 + 50 - 60000) / (0.005 - 1) = 57236.18...; at the mark 57,200 its margin
balance is 3000 - 2800 = 200 <= maintenance 57200 x 0.005 - 50 = 236: liquidatable, closed at
bankruptcy 57,000, the fund taking 1 x (57200 - 57000) = 200.
"""

import time
from decimal import Decimal

import pytest

from accounts.services import user_create
from tests.builders import assert_each_liquidated_once, race
from trading.errors import NoPosition
from trading.models import LiquidationEvent, Position, Wallet
from trading.selectors import ledger_problems
from trading.services import (
    isolated_margin_add,
    leverage_set,
    mark_price_set,
    order_place,
    sweep_run,
)
from trading.services.sweeps import account_sweep

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
TRADERS = 12


def isolated_long_opened(username):
    """A trader holding the 1 BTC isolated long of the module docstring (the mark at 60,000)."""
    user = user_create(username=username, password="pw-0123456789")
    leverage_set(user=user, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED")
    return user


@pytest.fixture
def accounts_at_risk():
    """TRADERS traders, each with the isolated long, and the mark moved to 57,200."""
    users = [isolated_long_opened(f"racer{n}") for n in range(TRADERS)]
    mark_price_set(symbol="BTCUSDT", price="57200")
    return users


def test_two_sweeps_racing_liquidate_every_account_exactly_once(accounts_at_risk):
    # given 12 accounts below their liquidation price
    # when two sweeps start at once
    reports, errors = race(sweep_run, sweep_run)

    # then every account is liquidated exactly once (the second sweep either found the first
    # running and did nothing, or ran after it and found nothing left)
    assert errors == []
    assert len(reports) == 2
    assert sum(report.isolated_liquidations for report in reports) == TRADERS
    assert_each_liquidated_once(accounts_at_risk)


def test_parallel_workers_sweeping_the_same_accounts_liquidate_each_exactly_once(
    accounts_at_risk,
):
    # given 12 accounts below their liquidation price
    user_ids = [user.pk for user in accounts_at_risk]

    # when four workers handle every account at once, in different orders, each account in its
    # own transaction (what sweep_run does per account: SKIP LOCKED, then re-check)
    def worker(order):
        def sweep_all():
            return [account_sweep(user_id=user_id) for user_id in order]

        return sweep_all

    orders = [user_ids, user_ids[::-1], user_ids[1::2] + user_ids[::2], user_ids[6:] + user_ids[:6]]
    results, errors = race(*(worker(order) for order in orders))

    # then each account was liquidated by exactly one of them; the others skipped it (busy) or
    # found it already liquidated
    assert errors == []
    reports = [report for result in results for report in result]
    assert sum(report.isolated_liquidations for report in reports) == TRADERS
    assert sum(report.cross_liquidations for report in reports) == 0
    assert_each_liquidated_once(accounts_at_risk)


# (delay of the add, delay of the sweep) after the threads are released, in seconds: true races
# at 0, and offsets that let each side win, so that both stories are seen
START_OFFSETS = [(0, 0), (0, 0), (0, 0), (0.005, 0), (0.02, 0), (0.05, 0), (0.5, 0), (0, 0.5)]


def test_adding_margin_racing_a_liquidation_ends_in_one_consistent_story():
    # given, round after round, a fresh account below its liquidation price, and its owner adding
    # 1000 USDT of margin while the sweep runs. With the 1000 added the position survives:
    # margin balance 4000 - 2800 = 1200 > 236.
    outcomes = []
    for round_, (add_delay, sweep_delay) in enumerate(START_OFFSETS):
        mark_price_set(symbol="BTCUSDT", price="60000")
        user = isolated_long_opened(f"adder{round_}")
        mark_price_set(symbol="BTCUSDT", price="57200")

        def add(user=user, delay=add_delay):
            time.sleep(delay)
            try:
                isolated_margin_add(user=user, symbol="BTCUSDT", amount="1000")
            except NoPosition:
                return ("add", "refused")
            return ("add", "accepted")

        def sweep(delay=sweep_delay):
            time.sleep(delay)
            return ("sweep", sweep_run())

        results, errors = race(add, sweep)

        # when both are done
        assert errors == []
        result = dict(results)
        report = result["sweep"]
        assert report.ran
        position = Position.objects.get(user=user)
        events = LiquidationEvent.objects.filter(user=user).count()
        wallet = Wallet.objects.get(user=user).balance
        # then either the add came first: the position survives with 3000 + 1000 of margin and
        # the wallet paid 1000 (6970 - 1000); the sweep found it safe, or skipped it while busy
        if result["add"] == "accepted":
            assert (position.status, position.isolated_margin) == ("OPEN", D("4000"))
            assert (events, wallet) == (0, D("5970"))
            assert report.isolated_liquidations == 0
            outcomes.append("add first")
        # or the liquidation came first: the add found no position and moved nothing
        else:
            assert (position.status, position.isolated_margin) == ("LIQUIDATED", D(0))
            assert (events, wallet) == (1, D("6970"))
            assert report.isolated_liquidations == 1
            outcomes.append("liquidation first")
        # never both, and the books balance after every round
        assert ledger_problems() == []
    assert set(outcomes) == {"add first", "liquidation first"}, outcomes
