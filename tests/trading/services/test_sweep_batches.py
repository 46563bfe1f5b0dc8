"""The sweep's batches (trading/services/write_batches.py): a flash crash's liquidations kept in
memory and written a table at a time write exactly the rows one-by-one liquidations write; a
failing account is rolled back alone; a second run changes nothing.

The crash: BTCUSDT from 60,000 to 50,100 and ETHUSDT from 3,000 to 2,810, against an insurance
fund of 1,000,000 (so that what it pays never depends on which account was liquidated first):
- a whale's isolated BTC long of 5,000 at 5x: partly liquidated, one bracket down
  (test_exchange_grade_liquidation.py);
- an isolated BTC long of 1 at 20x: margin 3,000, loss 9,900: closed at its bankruptcy price,
  the fund paying what its margin lacks;
- a cross ETH long of 50 at 20x: the cross account liquidated (wallet 9,925 - 9,500 = 425 <=
  the maintenance margin 652.5);
- both of the last two in one account (funded with the isolated position's 3,030 more).
"""

import gc
import json
import threading
from decimal import Decimal

import psycopg
import pytest
import redis
from django.db import connection
from django.db.models import Model

from marginsite.channel_layers import NOTIFY_CHANNEL
from marginsite.channel_layers import _conninfo as conninfo
from tests.builders import open_position
from trading.models import (
    Fill,
    Instrument,
    Journal,
    LedgerAccount,
    LedgerEntry,
    LiquidationEvent,
    Notification,
    Order,
    Position,
    SweepRun,
    Wallet,
)
from trading.selectors.ledger import system_account_balance
from trading.services import (
    insurance_fund_grant,
    liquidations,
    mark_price_set,
    sweep_run,
    wallet_deposit,
    write_batches,
)
from trading.services.sweeps import account_sweep, accounts_sweep

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def deep_book():
    """A BTCUSDT and ETHUSDT book that fills any size at the mark: entry prices stay round."""
    Instrument.objects.filter(symbol__in=["BTCUSDT", "ETHUSDT"]).update(
        book_half_spread_ticks=0, book_level_quantity="1000000"
    )


def crash_accounts(make_trader, group: str) -> list:
    """The four accounts of the module, opened at 60,000 and 3,000."""
    whale, isolated, cross, both = (
        make_trader(f"{group}-{name}") for name in ("whale", "isolated", "cross", "both")
    )
    wallet_deposit(user=whale, amount="70000000")
    open_position(whale, "BUY", "5000", leverage=5)
    wallet_deposit(user=both, amount="3030")  # its isolated position's margin and fee
    for user in (isolated, both):
        open_position(user, "BUY", "1", leverage=20)
    for user in (cross, both):
        open_position(user, "BUY", "50", symbol="ETHUSDT", margin_mode="CROSS", leverage=20)
    return [whale, isolated, cross, both]


def crash() -> None:
    mark_price_set(symbol="BTCUSDT", price="50100")
    mark_price_set(symbol="ETHUSDT", price="2810")


def _named(value, names: dict):
    """``value`` (a receipt's JSON) with each position id replaced by its (symbol, mode)."""
    if isinstance(value, dict):
        return {
            key: names[item] if key == "position" else _named(item, names)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_named(item, names) for item in value]
    return value


def rows_of(user) -> dict:
    """Every row a liquidation writes or changes for ``user``, in order, without ids or times
    (a position is named by its symbol and mode)."""
    positions = Position.objects.filter(user=user).select_related("instrument").order_by("pk")
    names = {p.pk: f"{p.instrument.symbol} {p.margin_mode}" for p in positions}

    def plain(row: Model, *fields: str) -> tuple:
        return tuple(getattr(row, field) for field in fields)

    return {
        "wallet": plain(Wallet.objects.get(user=user), "balance", "sweep_due"),
        "positions": [
            (
                names[p.pk],
                *plain(p, "status", "side", "quantity", "entry_price", "isolated_margin"),
                *plain(p, "realized_pnl", "watch_price", "leverage"),
                p.liquidation_cooldown_until is None,
            )
            for p in positions
        ],
        "orders": [
            (
                f"{o.instrument.symbol} {o.margin_mode}",
                *plain(o, "side", "order_type", "quantity", "status", "filled_quantity"),
                *plain(o, "average_fill_price", "reduce_only", "leverage", "margin_held"),
            )
            for o in Order.objects.filter(user=user).select_related("instrument").order_by("pk")
        ],
        "fills": [
            (
                names[f.position_id],
                *plain(f, "price", "quantity", "fee", "realized_pnl", "liquidity"),
                f.journal.kind,
            )
            for f in Fill.objects.filter(order__user=user).select_related("journal").order_by("pk")
        ],
        "ledger": [
            (
                *(e.journal.kind, e.kind, e.amount, e.source.kind, e.destination.kind, e.memo),
                *(names.get(e.position_id), e.order and (e.order.side, e.order.quantity)),
            )
            for e in LedgerEntry.objects.filter(user=user)
            .select_related("journal", "source", "destination", "order")
            .order_by("pk")
        ],
        "receipts": [
            (
                *plain(event, "margin_mode", "collateral", "margin_balance", "maintenance_margin"),
                *plain(event, "loss", "insurance_fund_change", "liquidation_fee", "survived"),
                _named(event.steps, names),
                _named(event.details, names),
                event.deleveraged,
                event.brackets,
                _named(event.other_mode, names),
                sorted(names[p.pk] for p in event.positions.all()),
            )
            for event in LiquidationEvent.objects.filter(user=user).order_by("pk")
        ],
        "notices": list(
            Notification.objects.filter(user=user)
            .order_by("pk")
            .values_list("kind", "message", "liquidation__margin_mode")
        ),
    }


def test_a_batch_writes_exactly_the_rows_that_one_by_one_liquidations_write(
    make_trader, deep_book, insurance_fund, balanced_ledger
):
    # given the crash's four accounts twice over
    one_by_one = crash_accounts(make_trader, "alone")
    batched = crash_accounts(make_trader, "batched")
    crash()

    # when the first four are swept one account per transaction, and the other four in one batch
    for user in one_by_one:
        account_sweep(user_id=user.pk)
    report, swept = accounts_sweep(user_ids=[user.pk for user in batched])

    # then the batch swept them all: the whale's partial step, 3 isolated and 2 cross
    # liquidations
    assert swept == 4
    assert (report.isolated_liquidations, report.cross_liquidations, report.errors) == (3, 2, 0)
    # and each account's rows are exactly those of its twin swept on its own
    for alone, batch in zip(one_by_one, batched, strict=True):
        assert rows_of(batch) == rows_of(alone)
    whale = rows_of(batched[0])
    assert whale["positions"][0][1:4] == ("OPEN", "LONG", D("4590.818"))
    assert [row[:3] for row in rows_of(batched[3])["receipts"]] == [
        ("ISOLATED", D("3000"), D("-6900")),
        ("CROSS", D("9925"), D("425")),
    ]


def test_a_second_sweep_after_a_batch_changes_nothing(
    make_trader, deep_book, insurance_fund, unchanged, balanced_ledger
):
    # given the crash's accounts swept in one batch
    users = crash_accounts(make_trader, "crash")
    crash()
    first = sweep_run()
    assert (first.isolated_liquidations, first.cross_liquidations) == (3, 2)
    counts = [model.objects.count() for model in (Journal, LiquidationEvent, Notification)]

    # when the sweep runs again at the same marks
    with unchanged():
        second = sweep_run()

    # then it liquidates nothing and writes nothing
    assert (second.isolated_liquidations, second.cross_liquidations, second.errors) == (0, 0, 0)
    assert [model.objects.count() for model in (Journal, LiquidationEvent, Notification)] == counts
    assert [LiquidationEvent.objects.filter(user=user).count() for user in users] == [1, 1, 1, 2]


def test_a_batch_runs_with_the_cycle_collector_paused_and_gives_it_back(
    make_trader, deep_book, insurance_fund, monkeypatch, balanced_ledger
):
    # given the crash's accounts, and a look at the collector as each liquidation is noticed
    crash_accounts(make_trader, "crash")
    crash()
    real_notify, collector = liquidations._notify, []

    def notify(event, message, writes):
        collector.append(gc.isenabled())
        real_notify(event, message, writes)

    monkeypatch.setattr(liquidations, "_notify", notify)

    # when they are swept in one batch
    report = sweep_run()

    # then the collector was paused through the batch, and runs again after it
    assert (report.isolated_liquidations, report.cross_liquidations) == (3, 2)
    assert collector == [False] * 5
    assert gc.isenabled()


def test_a_batch_that_fails_gives_the_cycle_collector_back(
    make_trader, deep_book, insurance_fund, monkeypatch, balanced_ledger
):
    users = crash_accounts(make_trader, "crash")
    crash()
    notices_refused_for(users[2], monkeypatch)  # the batch's write fails as a whole

    report = sweep_run()

    assert report.errors == 1  # the batch, then its accounts one by one: one failed
    assert gc.isenabled()


def notices_refused_for(user, monkeypatch):
    """The fault: the database refuses ``user``'s liquidation notices (longer than their column),
    so a batch holding them fails as a whole. Returns the real ``_notify``, to put back."""
    real_notify = liquidations._notify

    def refused_for_user(event, message, writes):
        real_notify(event, "x" * 700 if event.user_id == user.pk else message, writes)

    monkeypatch.setattr(liquidations, "_notify", refused_for_user)
    return real_notify


def test_an_account_whose_rows_the_database_refuses_is_rolled_back_alone(
    make_trader, deep_book, insurance_fund, monkeypatch, balanced_ledger
):
    # given the crash's accounts, and a fault: the database refuses the notice of one of them
    # (longer than its column), so the batch's write fails as a whole
    users = crash_accounts(make_trader, "crash")
    doomed = users[2]
    crash()
    real_notify = notices_refused_for(doomed, monkeypatch)
    before = rows_of(doomed)

    # when the sweep runs
    report = sweep_run()

    # then the batch is swept again one account at a time: the doomed account is exactly as
    # before (rolled back alone), the error counted, and the others liquidated all the same
    assert (report.isolated_liquidations, report.cross_liquidations, report.errors) == (3, 1, 1)
    assert rows_of(doomed) == before
    assert SweepRun.objects.get().errors == 1
    assert [LiquidationEvent.objects.filter(user=user).count() for user in users] == [1, 1, 0, 2]

    # and the next sweep, without the fault, liquidates it once
    monkeypatch.setattr(liquidations, "_notify", real_notify)
    assert sweep_run().cross_liquidations == 1
    assert LiquidationEvent.objects.filter(user=doomed).count() == 1


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "postgres"])
def account_notes(request, settings):
    """What the live pages are told (trading/services/live.py) on each channel layer, Redis
    (production) and PostgreSQL's NOTIFY (the embedded default): a function that returns the
    groups of the notes published (committed) since it was last called, sorted."""
    if request.param == "postgres":
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "marginsite.channel_layers.PostgresNotifyChannelLayer"}
        }
        with psycopg.connect(conninfo(), autocommit=True) as listener:
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            yield lambda: sorted(
                json.loads(note.payload)["group"] for note in listener.notifies(timeout=0.5)
            )
        return
    prefix = f"{settings.CHANNEL_LAYER_PREFIX}__group__"
    with redis.Redis.from_url(settings.CHANNEL_LAYER_URL) as client:
        subscriber = client.pubsub(ignore_subscribe_messages=True)
        subscriber.psubscribe(f"{prefix}account.*")

        def published() -> list[str]:
            groups = []
            while note := subscriber.get_message(timeout=0.5):
                groups.append(note["channel"].decode().removeprefix(prefix))
            return sorted(groups)

        published()  # the subscription's confirmation
        yield published
        subscriber.close()


@pytest.mark.django_db(transaction=True)
def test_a_batch_tells_the_pages_of_each_account_it_liquidated_once_it_is_written(
    make_trader, deep_book, monkeypatch, account_notes, balanced_ledger
):
    # given the crash's accounts, and a fault that makes the database refuse one account's
    # rows, so that the batch is swept again one account at a time
    insurance_fund_grant(amount="1000000")
    users = crash_accounts(make_trader, "crash")
    doomed = users[2]
    crash()
    notices_refused_for(doomed, monkeypatch)
    account_notes()  # the opening orders'

    # when the sweep runs
    report = sweep_run()

    # then each account it liquidated is told once (none by the batch that was rolled back),
    # and the account rolled back alone is not told
    assert (report.isolated_liquidations, report.cross_liquidations, report.errors) == (3, 1, 1)
    assert account_notes() == sorted(f"account.{user.pk}" for user in users if user != doomed)


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_read_the_fund_before_another_shard_spent_it_is_swept_again_under_its_lock(
    make_trader, deep_book, monkeypatch, caplog, balanced_ledger
):
    # given an insurance fund of 10,000 and, one in each of two shards, two isolated BTC longs
    # of 1 at 20x that the crash takes past bankruptcy: each needs 9,900 - 3,000 = 6,900 of it
    insurance_fund_grant(amount="10000")
    traders = [make_trader() for _ in range(3)]
    first = traders[0]
    second = next(user for user in traders if user.pk % 2 != first.pk % 2)
    for user in (first, second):
        open_position(user, "BUY", "1", leverage=20)
    mark_price_set(symbol="BTCUSDT", price="50100")

    # and the first shard's batch reads the fund (10,000, without its lock), then the second
    # shard sweeps meanwhile, in its own connection, and its fund payment commits
    real_read, racing = write_batches.insurance_fund_read, []

    def read_then_the_other_shard_sweeps():
        balance = real_read()
        if not racing:
            racing.append(threading.Thread(target=other_shard_sweep))
            racing[0].start()
            racing[0].join()
        return balance

    def other_shard_sweep():
        try:
            racing.append(sweep_run(shard=second.pk % 2, shards=2))
        finally:
            connection.close()

    monkeypatch.setattr(write_batches, "insurance_fund_read", read_then_the_other_shard_sweeps)

    # when the first shard's sweep goes on with what it read
    report = sweep_run(shard=first.pk % 2, shards=2)

    # then the fund's row refuses its batch (it would go below 0), and the batch is swept again
    # one account at a time, under the fund's lock: the fund pays the 3,100 it has left, the
    # rest of the loss stays with the house, and nobody's money is invented
    assert "sweep: a batch failed; its accounts are swept one by one" in caplog.messages
    assert racing[1].isolated_liquidations == 1
    assert (report.isolated_liquidations, report.errors) == (1, 0)
    changes = {
        event.user_id: event.insurance_fund_change for event in LiquidationEvent.objects.all()
    }
    assert changes == {second.pk: D("-6900"), first.pk: D("-3100")}
    assert system_account_balance(LedgerAccount.Kind.INSURANCE_FUND) == 0


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_finds_the_fund_short_locks_it_and_uses_what_was_paid_in_meanwhile(
    make_trader, deep_book, monkeypatch, balanced_ledger
):
    # given an empty insurance fund and an isolated BTC long of 1 at 20x that the crash takes
    # past bankruptcy: it needs 6,900 of the fund
    trader = make_trader()
    open_position(trader, "BUY", "1", leverage=20)
    mark_price_set(symbol="BTCUSDT", price="50100")

    # and the batch reads the fund (0, without its lock), then 10,000 is paid into it and
    # committed, in another connection
    real_read = write_batches.insurance_fund_read

    def read_then_the_fund_is_granted():
        balance = real_read()
        granting = threading.Thread(target=grant)
        granting.start()
        granting.join()
        return balance

    def grant():
        try:
            insurance_fund_grant(amount="10000")
        finally:
            connection.close()

    monkeypatch.setattr(write_batches, "insurance_fund_read", read_then_the_fund_is_granted)

    # when the sweep runs
    report = sweep_run()

    # then, the fund short of the loss as read, the batch locks it, reads it again and plans
    # again: the fund covers the loss, none of it is left with the house
    assert (report.isolated_liquidations, report.errors) == (1, 0)
    assert LiquidationEvent.objects.get(user=trader).insurance_fund_change == D("-6900")
    assert system_account_balance(LedgerAccount.Kind.INSURANCE_FUND) == D("3100")
