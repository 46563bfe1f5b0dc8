"""``holdings_read``: the account as the screens and the bots read it, in one statement, with the
instruments this process keeps in memory. Its figures must be exactly those of ``holdings_load``
on the rows read one table at a time through the ORM (``loaded``), and an operator's change of
an instrument must show in the next read.

Seeded BTCUSDT at 60,000, ETHUSDT at 3,000 and SOLUSDT at 150; alice has 10,000 USDT."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.services import api_key_create
from tests.builders import limit_order, open_position
from tests.clients import BinanceClient, SignedClient
from trading.domain.holdings import Holdings
from trading.models import Instrument, LeverageBracket, Position
from trading.selectors import account_summary, holdings_load
from trading.selectors.holdings import holdings_read
from trading.selectors.instruments import instruments_version
from trading.services import mark_price_set, order_place

pytestmark = pytest.mark.django_db


def loaded(user) -> Holdings:
    """The account's holdings from its rows read one table at a time, instruments included."""
    positions = (
        Position.objects.filter(user=user, status=Position.Status.OPEN)
        .select_related("instrument")
        .prefetch_related("instrument__brackets")
    )
    return holdings_load(user=user, positions=list(positions))


@pytest.fixture
def busy(trader, balanced_ledger):
    """alice with a cross BTC long, an isolated ETH short, a cross SOL short and a resting limit
    order holding margin, after the marks moved."""
    open_position(trader, "BUY", "0.5", symbol="BTCUSDT", margin_mode="CROSS")
    open_position(trader, "SELL", "2", symbol="ETHUSDT")
    open_position(trader, "SELL", "10", symbol="SOLUSDT", margin_mode="CROSS")
    limit_order(trader, "BUY", "1", "2800", symbol="ETHUSDT")
    mark_price_set(symbol="BTCUSDT", price="58500")
    mark_price_set(symbol="ETHUSDT", price="3100")
    return trader


def test_the_read_is_one_statement_with_the_figures_of_the_rows_read_one_by_one(
    busy, django_assert_num_queries
):
    # when the account is read for a screen
    with django_assert_num_queries(1):
        holdings, positions = holdings_read(user=busy)

    # then it holds exactly what the services' own reads give, and the open positions, newest
    # first, each with its instrument and brackets
    assert holdings == loaded(busy)
    assert holdings.figures() == loaded(busy).figures()
    assert holdings.open_order_margin == Decimal("140.56")  # 2800 / 20 + 2800 x 0.0002
    assert [p.pk for p in positions] == list(
        Position.objects.filter(user=busy, status=Position.Status.OPEN).values_list("pk", flat=True)
    )
    assert [p.instrument.symbol for p in positions] == ["SOLUSDT", "ETHUSDT", "BTCUSDT"]


def test_an_operators_change_of_a_bracket_shows_in_the_next_read(busy):
    # given the account read once (the instruments are in this process's memory)
    before = holdings_read(user=busy)[0].figures()

    # when the operator doubles BTCUSDT's first maintenance margin rate (0.004 -> 0.008)
    btc = Instrument.objects.get(symbol="BTCUSDT")
    first = LeverageBracket.objects.filter(instrument=btc).order_by("tier").first()
    LeverageBracket.objects.filter(pk=first.pk).update(
        maintenance_margin_rate=first.maintenance_margin_rate * 2
    )

    # then the next read values the BTC long with the new rate: its maintenance margin,
    # 0.5 x 58,500 x 0.004 = 117 before, is 234 now
    after = holdings_read(user=busy)[0].figures()
    assert after == loaded(busy).figures()
    assert after.cross_maintenance_margin - before.cross_maintenance_margin == Decimal("117")


def test_a_trader_without_positions_reads_the_wallet_alone(trader, django_assert_num_queries):
    with django_assert_num_queries(1):
        summary = account_summary(user=trader)
    assert summary.wallet_balance == summary.equity == Decimal("10000")
    assert holdings_read(user=trader)[1] == []


def test_the_apis_account_costs_the_key_and_one_statement(busy, django_assert_num_queries):
    new = api_key_create(user=busy, name="bot", permission="READ_ONLY")
    bot = SignedClient(new.api_key.key, new.secret)
    assert bot.get("/api/v1/account").status_code == 200  # the key's use is recorded once

    # the key, then the account
    with django_assert_num_queries(2):
        response = bot.get("/api/v1/account")

    assert response.status_code == 200
    assert Decimal(response.json()["open_order_margin"]) == Decimal("140.56")


def test_the_facades_account_reads_the_account_once_whatever_its_positions(
    busy, django_assert_max_num_queries
):
    new = api_key_create(user=busy, name="ccxt", permission="READ_ONLY")
    ccxt = BinanceClient(new.api_key.key, new.secret)
    assert ccxt.get("/fapi/v2/account").status_code == 200
    with django_assert_max_num_queries(20) as three:  # positions on three symbols
        response = ccxt.get("/fapi/v2/account")
    assert response.status_code == 200
    reads = [q["sql"] for q in three.captured_queries if q["sql"].startswith("SELECT w.balance")]
    assert len(reads) == 1

    # when two of the three positions are closed
    order_place(user=busy, symbol="ETHUSDT", side="BUY", quantity="2", margin_mode="ISOLATED")
    order_place(user=busy, symbol="SOLUSDT", side="BUY", quantity="10", margin_mode="CROSS")

    # then the account costs the same: nothing is read once per position (each symbol's margin
    # type, which decides the positions a one-way client sees, comes from two queries)
    with django_assert_max_num_queries(20) as one:
        assert ccxt.get("/fapi/v2/account").status_code == 200
    assert len(one) == len(three)


@pytest.mark.django_db(transaction=True)
def test_a_read_in_an_older_snapshot_never_hands_the_process_older_instruments(trader):
    # given a BTC long of 0.5 and a page's read in a snapshot taken now (a live page's
    # REPEATABLE READ, on a thread of its own, as a web worker runs it)
    open_position(trader, "BUY", "0.5", symbol="BTCUSDT", margin_mode="CROSS")
    snapshot_taken, changed, read = threading.Event(), threading.Event(), {}

    def page():
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cursor.execute("SELECT 1")
            snapshot_taken.set()
            changed.wait(10)
            read["figures"] = holdings_read(user=trader)[0].figures()
        connection.close()

    reader = threading.Thread(target=page)
    reader.start()
    snapshot_taken.wait(10)

    # when the operator doubles BTCUSDT's first maintenance margin rate, and this process's
    # copy is loaded at the new version (by a read outside any transaction, as an order would)
    btc = Instrument.objects.get(symbol="BTCUSDT")
    first = LeverageBracket.objects.filter(instrument=btc).order_by("tier").first()
    LeverageBracket.objects.filter(pk=first.pk).update(
        maintenance_margin_rate=first.maintenance_margin_rate * 2
    )
    now = holdings_read(user=trader)[0].figures()
    version = instruments_version()
    changed.set()
    reader.join(10)

    # then the page's read values the long at its snapshot's rate (0.5 x 60,000 x 0.004 = 120,
    # the new one's 240), and the process keeps the newer copy
    assert read["figures"].cross_maintenance_margin == Decimal("120")
    assert now.cross_maintenance_margin == Decimal("240")
    assert instruments_version() == version
    assert holdings_read(user=trader)[0].figures() == now
