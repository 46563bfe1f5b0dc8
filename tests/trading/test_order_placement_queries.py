"""What one market order costs in SQL, pinned so that it cannot creep back up (issue 17: at most
10 per market order), and an isolated margin change beside it. Each test places a first order
(which loads the instruments a process keeps in memory and finds the system ledger accounts),
then counts the next one.

The tests are transactional: the count is what a served site sends (its transaction's BEGIN and
COMMIT included, no test savepoints), and the ids of the system ledger accounts are kept from the
first order's commit, as they are in production. Seeded BTCUSDT at 60,000, taker fee 0.05 %; alice
has 10,000 USDT; her wallet is already due for a sweep (a sweep that clears it costs the next
order one more write)."""

from decimal import Decimal

import pytest
from django.db import connection

from accounts.services import api_key_create
from tests.builders import market_order, open_position, wallet_balance
from tests.clients import BinanceClient, SignedClient
from trading.errors import InvalidQuantity
from trading.models import Instrument, LedgerAccount, LedgerEntry, Order, Position
from trading.selectors import ledger_problems
from trading.services.bulk_writes import _numbered
from trading.services.fills import _reduce_only_orders_cancel_query
from trading.services.locks import _wallet_lock_query

pytestmark = pytest.mark.django_db(transaction=True)

OPEN = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01", "margin_mode": "CROSS"}


@pytest.fixture
def warm(trader):
    """alice after one round trip of 0.01 BTC: what a process keeps in memory is loaded."""
    market_order(trader, "BUY", "0.01")
    market_order(trader, "SELL", "0.01")
    return trader


def test_a_market_order_that_opens_a_position_costs_5_queries(warm, django_assert_num_queries):
    # begin; lock the wallet; read the account and lock its open positions (none here: flat), in
    # one statement; insert the order, its journal, the position, the ledger entry and the fill
    # and write the wallet, in one statement; commit
    with django_assert_num_queries(5):
        order = market_order(warm, "BUY", "0.01")

    assert (order.status, order.filled_quantity, order.average_fill_price) == (
        "FILLED",
        Decimal("0.01"),
        Decimal("60000"),
    )
    assert Position.objects.get(user=warm, status="OPEN").quantity == Decimal("0.01")
    # three fees of 0.30 (0.05 % of 600)
    assert wallet_balance(warm) == Decimal("9999.1")


def test_an_isolated_market_order_that_opens_a_position_costs_5_queries(
    warm, django_assert_num_queries
):
    # as a cross one: the position's margin account is inserted in the same statement, and the
    # position with its margin
    with django_assert_num_queries(5):
        order = market_order(warm, "BUY", "0.01", margin_mode="ISOLATED")

    assert order.status == "FILLED"
    position = Position.objects.get(user=warm, status="OPEN", margin_mode="ISOLATED")
    margin = LedgerAccount.objects.get(position=position, kind="ISOLATED_MARGIN")
    assert (position.quantity, position.isolated_margin) == (Decimal("0.01"), Decimal("30"))
    assert margin.user_id == warm.pk
    # 600 at 20x is 30 of margin, out of the wallet with the 0.30 fee, into the new account
    wallet = LedgerAccount.objects.get(kind="WALLET", user=warm).pk
    fees = LedgerAccount.objects.get(kind="FEES").pk
    entries = LedgerEntry.objects.filter(order=order).order_by("pk")
    assert [(e.kind, e.amount, e.source_id, e.destination_id, e.position_id) for e in entries] == [
        ("ISOLATED_MARGIN", Decimal("30"), wallet, margin.pk, position.pk),
        ("FEE", Decimal("0.30"), wallet, fees, position.pk),
    ]
    assert wallet_balance(warm) == Decimal("10000") - Decimal("0.6") - Decimal("30.30")
    assert ledger_problems() == []


def test_a_market_order_that_closes_it_too_costs_5_queries(warm, django_assert_num_queries):
    market_order(warm, "BUY", "0.01")

    # ... its position (locked with the account's read) written closed, with the ledger entries,
    # the fill and the wallet, instead of inserted; and the open reduce-only orders of its key
    # locked and canceled, all in the one statement
    with django_assert_num_queries(5):
        order = market_order(warm, "SELL", "0.01")

    assert order.status == "FILLED"
    assert not Position.objects.filter(user=warm, status="OPEN").exists()
    assert wallet_balance(warm) == Decimal("9998.8")


def test_a_signed_api_order_costs_6_queries_with_its_authentication(
    warm, django_assert_num_queries
):
    new = api_key_create(user=warm, name="bot", permission="TRADING")
    bot = SignedClient(new.api_key.key, new.secret)
    # a refusal records the key's use (a write at most once a minute)
    assert bot.post("/api/v1/orders", {**OPEN, "quantity": "0.0001"}).status_code == 400

    # the key, then the order's 5; its client id costs nothing (the order's row refuses a replay)
    with django_assert_num_queries(6):
        response = bot.post("/api/v1/orders", {**OPEN, "client_order_id": "bot-2"})

    assert response.status_code == 201
    assert response.json()["status"] == "FILLED"


def test_the_facades_market_order_costs_6_queries(warm, django_assert_num_queries):
    new = api_key_create(user=warm, name="ccxt", permission="TRADING")
    ccxt = BinanceClient(new.api_key.key, new.secret)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    assert ccxt.post("/fapi/v1/order", {**order, "quantity": "0.0001"}).status_code == 400

    # the key, then the order's 5: the symbol is checked against the instruments kept in memory,
    # the margin mode (none named) is read with the account; the client id ccxt makes up for
    # every order costs nothing
    with django_assert_num_queries(6):
        response = ccxt.post(
            "/fapi/v1/order", {**order, "newClientOrderId": "x-xcKtGhcu3f1e2a9b7c5d4e6f8a0b1c"}
        )

    assert response.status_code == 200
    assert response.json()["status"] == "FILLED"


def test_the_web_confirm_costs_8_queries(warm, client_of, django_assert_num_queries):
    web = client_of(warm)
    form = {"side": "BUY", "order_type": "MARKET", "quantity": "0.01", "quantity_unit": "BASE",
            "margin_mode": "CROSS"}  # fmt: skip

    # the session and the user; the order's token looked up by the page (a second click is told
    # that nothing new was placed); the order's 5
    with django_assert_num_queries(8):
        response = web.post("/trade/BTCUSDT/place/", {**form, "client_order_id": "second"})

    assert response.status_code == 302
    assert Order.objects.get(user=warm, client_order_id="second").status == "FILLED"


def test_an_instrument_moved_off_the_facades_venue_is_unknown_to_its_next_order(warm, unchanged):
    new = api_key_create(user=warm, name="ccxt", permission="TRADING")
    ccxt = BinanceClient(new.api_key.key, new.secret)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    # this process still has BTCUSDT on Binance's rules in memory when the operator moves it
    Instrument.objects.filter(symbol="BTCUSDT").update(venue="BYBIT")

    with unchanged():
        response = ccxt.post("/fapi/v1/order", order)

    assert response.status_code == 400
    assert response.json()["code"] == -1121


def test_an_instrument_changed_by_any_writer_is_seen_by_the_next_order(warm):
    # a queryset update (no service, no signal): the database moves the version itself
    Instrument.objects.filter(symbol="BTCUSDT").update(taker_fee_rate=Decimal("0.001"))

    market_order(warm, "BUY", "0.01")

    # a fee of 0.60 (0.1 % of 600) after the two of 0.30
    assert wallet_balance(warm) == Decimal("9998.8")


def test_an_order_checked_against_an_older_copy_is_checked_again_under_the_lock(warm, unchanged):
    # this process still has a step of 0.001 in memory when the operator makes it 0.1
    Instrument.objects.filter(symbol="BTCUSDT").update(
        step_size=Decimal("0.1"), min_quantity=Decimal("0.1")
    )

    with pytest.raises(InvalidQuantity, match=r"not a multiple of the step size 0\.1"), unchanged():
        market_order(warm, "BUY", "0.01")


def _generic_plan_indexes(sql: str, arguments: str) -> set[str]:
    """The indexes the generic plan of ``sql`` (its parameters ``%s``) reads, run with
    ``arguments`` (SQL): the plan PostgreSQL keeps for a prepared statement, made without its
    parameters' values, on the tables as they are when it is made."""
    with connection.cursor() as cursor:
        cursor.execute(f"PREPARE read AS {_numbered(sql)}")
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE read({arguments})")
            (plan,) = cursor.fetchone()[0]
        finally:
            cursor.execute("RESET plan_cache_mode")
            cursor.execute("DEALLOCATE read")
    return _indexes_read(plan["Plan"])


def _indexes_read(plan: dict) -> set[str]:
    indexes = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        indexes |= _indexes_read(child)
    return indexes


def test_a_closes_cancel_of_its_reduce_only_orders_reads_only_the_open_ones(warm):
    # Its plan, made on a young table, read the symbol's index, a row for every order ever
    # placed on the symbol: a close got slower with every order (0.3 to 0.7 ms of the server's
    # time over 8,000 orders)
    sql = _reduce_only_orders_cancel_query()

    btcusdt = Instrument.objects.get(symbol="BTCUSDT").pk
    indexes = _generic_plan_indexes(sql, f"now(), {warm.pk}, {btcusdt}, 'CROSS', NULL")

    assert indexes == {"order_reduce_only_open_idx", "trading_order_pkey"}


def test_the_wallets_lock_reads_its_ledger_account_among_the_wallet_accounts_only(warm):
    # with the account's kind a parameter, the plan read every ledger account of the trader's,
    # an isolated margin account for each isolated position they ever had
    sql, _ = _wallet_lock_query()

    indexes = _generic_plan_indexes(sql, str(warm.pk))

    assert indexes == {"trading_wallet_user_id_key", "ledger_wallet_account_unique"}


def test_a_signed_isolated_margin_change_costs_13_queries(warm, django_assert_num_queries):
    # alice's isolated long of 0.01 BTC at 60,000 (20x): a margin of 30, its fee 0.30
    position = open_position(warm, "BUY", "0.01")
    new = api_key_create(user=warm, name="bot", permission="TRADING")
    bot = SignedClient(new.api_key.key, new.secret)
    path = f"/api/v1/positions/{position.pk}/margin"
    assert bot.post(path, {"change": "add", "amount": "1"}).status_code == 200  # the key's use

    # the key; the position (a cross one is refused before the change); begin, the wallet's and
    # the positions' locks, the marks and the open orders' margin, the transfer's journal, then
    # its entry and the balances in one statement, commit; the answer's position, account and
    # leverage. The instrument is the one kept in memory.
    with django_assert_num_queries(13):
        added = bot.post(path, {"change": "add", "amount": "5"})
    with django_assert_num_queries(13):
        removed = bot.post(path, {"change": "remove", "amount": "2"})

    assert (added.status_code, added.json()["isolated_margin"]) == (200, "36.00000000")
    assert (removed.status_code, removed.json()["isolated_margin"]) == (200, "34.00000000")
    # 10,000 less the round trip's 0.60 of fees, the position's 30.30, then 1 + 5 - 2 moved
    assert wallet_balance(warm) == Decimal("9965.1")
    assert ledger_problems() == []
