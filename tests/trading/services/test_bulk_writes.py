"""The ORM's writes without its per-call planning (trading/services/bulk_writes.py): what they
write is what ``bulk_create`` and ``save(update_fields=...)`` write."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, DataError, transaction
from django.utils import timezone

from accounts.models import User
from trading.models import (
    Instrument,
    Journal,
    LedgerAccount,
    LedgerEntry,
    Order,
    Position,
    Wallet,
)
from trading.services.bulk_writes import (
    WritesStatement,
    row_new,
    row_update,
    rows_insert,
    rows_update,
)


def test_an_insert_sets_the_primary_keys_and_writes_every_field(db):
    at = timezone.now() - timedelta(days=1)
    rows = [Journal(kind=Journal.Kind.FILL, created_at=at), Journal(kind=Journal.Kind.FUNDING)]

    rows_insert(Journal, rows)

    assert all(row.pk and not row._state.adding for row in rows)
    stored = Journal.objects.in_bulk([row.pk for row in rows])
    assert [(stored[row.pk].kind, stored[row.pk].created_at) for row in rows] == [
        (row.kind, row.created_at) for row in rows
    ]
    assert stored[rows[0].pk].created_at == at


def test_an_insert_copies_the_rows_in_with_ascending_ids_choices_as_values_and_links(
    trader, django_assert_num_queries
):
    wallet = LedgerAccount.objects.get(kind="WALLET", user=trader)
    fees, _ = LedgerAccount.objects.get_or_create(kind="FEES", user=None, position=None)
    journals = [Journal(kind=Journal.Kind.LIQUIDATION) for _ in range(3)]
    entries = [_entry(journal, wallet, fees) for journal in reversed(journals)]

    with django_assert_num_queries(4):  # each: its ids drawn, then its COPY
        rows_insert(Journal, journals)
        rows_insert(LedgerEntry, entries)

    # ids drawn from the table's sequence, ascending in the rows' order, as an insert numbers them
    assert [row.pk for row in journals] == sorted(row.pk for row in journals)
    stored = LedgerEntry.objects.filter(pk__in=[row.pk for row in entries]).order_by("pk")
    assert [(e.kind, e.amount, e.source_id, e.destination_id, e.journal_id) for e in stored] == [
        ("FEE", Decimal("0.5"), wallet.pk, fees.pk, journal.pk) for journal in reversed(journals)
    ]
    assert (
        Journal.objects.filter(pk__in=[row.pk for row in journals], kind="LIQUIDATION").count() == 3
    )


def test_an_insert_the_database_refuses_is_its_error_and_writes_nothing(trader):
    rows = [Journal(kind=Journal.Kind.FILL), Journal(kind="X" * 21)]  # the column holds 20
    journals = Journal.objects.count()

    with pytest.raises(DataError, match="too long"), transaction.atomic():
        rows_insert(Journal, rows)

    assert Journal.objects.count() == journals


def _fields(row) -> dict:
    return {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields}


def test_an_insert_of_a_value_its_column_cannot_hold_is_refused_not_cut(trader):
    order = row_new(
        Order,
        user=trader,
        instrument=Instrument.objects.get(symbol="BTCUSDT"),
        side="SELL",
        order_type="MARKET",
        margin_mode="CROSS",
        quantity=Decimal(1),
        leverage=70_000,  # a smallint holds 32,767
    )
    orders = Order.objects.count()

    with pytest.raises(DataError, match="out of range for type smallint"), transaction.atomic():
        rows_insert(Order, [order])

    assert Order.objects.count() == orders


def test_a_new_row_is_what_the_model_s_init_makes(trader):
    wallet = LedgerAccount.objects.get(kind="WALLET", user=trader)
    fees, _ = LedgerAccount.objects.get_or_create(kind="FEES", user=None, position=None)
    journal = Journal(kind=Journal.Kind.FILL)  # not saved: its entry points at it by instance
    values = {
        "journal": journal,
        "kind": LedgerEntry.Kind.FEE,
        "amount": Decimal("0.5"),
        "source": wallet,
        "destination_id": fees.pk,
        "user": trader,
        "created_at": timezone.now() - timedelta(hours=1),
    }

    row, model_made = row_new(LedgerEntry, **values), LedgerEntry(**values)

    assert _fields(row) == _fields(model_made)  # the defaults too (no position, no order, memo)
    assert (row.journal, row.source, row.user) == (journal, wallet, trader)  # cached, no query
    assert row._state.adding
    assert row._state.db is None
    row.journal = Journal.objects.create(kind=Journal.Kind.FILL)
    row.save()
    assert _fields(LedgerEntry.objects.get(pk=row.pk)) == _fields(row)


def test_a_new_row_of_a_one_to_one_caches_both_ends_and_a_wrong_name_is_refused(trader):
    position = Position(user=trader, instrument_id=1, margin_mode="ISOLATED")

    account = row_new(LedgerAccount, kind="ISOLATED_MARGIN", position=position, user=trader)

    assert account.position is position
    assert position.ledger_account is account
    with pytest.raises(TypeError, match="has no field 'amout'"):
        row_new(LedgerEntry, amout=Decimal(1))


def test_a_row_update_writes_the_named_fields_and_stamps_its_time(trader):
    wallet = Wallet.objects.get(user=trader)
    before = wallet.updated_at
    wallet.balance, wallet.sweep_due = Decimal("1234.56789012"), not wallet.sweep_due

    row_update(wallet, ["balance", "updated_at"])

    stored = Wallet.objects.get(pk=wallet.pk)
    assert stored.balance == Decimal("1234.56789012")
    assert stored.sweep_due is not wallet.sweep_due  # not named: not written
    assert stored.updated_at == wallet.updated_at > before


def test_a_row_update_of_a_row_that_is_not_there_is_an_error_and_writes_nothing(trader):
    wallet = Wallet.objects.get(user=trader)
    balances = list(Wallet.objects.values_list("pk", "balance", "updated_at"))
    wallet.pk, wallet.balance = wallet.pk + 1000, Decimal(1)

    with pytest.raises(DatabaseError, match="no row to update"), transaction.atomic():
        row_update(wallet, ["balance", "updated_at"])

    assert list(Wallet.objects.values_list("pk", "balance", "updated_at")) == balances


def test_a_rows_update_writes_each_row_s_named_fields(make_trader):
    wallets = [Wallet.objects.get(user=make_trader()) for _ in range(3)]
    for number, wallet in enumerate(wallets):
        wallet.balance, wallet.sweep_due = Decimal(number) / 3, False

    rows_update(Wallet, wallets, ["balance"])

    stored = Wallet.objects.in_bulk([wallet.pk for wallet in wallets])
    # rounded to the column's scale by the database, as a save's value is
    assert [stored[wallet.pk].balance for wallet in wallets] == [
        Decimal(0),
        Decimal("0.33333333"),
        Decimal("0.66666667"),
    ]
    assert all(stored[wallet.pk].sweep_due for wallet in wallets)


def test_a_writes_statement_inserts_and_updates_in_one_round_trip(
    trader, django_assert_num_queries
):
    wallet = Wallet.objects.get(user=trader)
    journals = [Journal(kind=Journal.Kind.FILL) for _ in range(3)]
    funding = [Journal(kind=Journal.Kind.FUNDING)]
    wallet.balance = Decimal("42.5")
    statement = WritesStatement()
    statement.insert(Journal, journals)
    statement.insert(Journal, funding)
    statement.update(wallet, ["balance", "updated_at"])

    with django_assert_num_queries(1):
        statement.run()

    # each row's id is its own, in the order given
    assert [journal.pk for journal in journals] == sorted(journal.pk for journal in journals)
    stored = Journal.objects.in_bulk([row.pk for row in journals + funding])
    assert [stored[row.pk].kind for row in journals + funding] == ["FILL"] * 3 + ["FUNDING"]
    assert funding[0].pk > journals[-1].pk
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("42.5")


def test_a_writes_statement_with_a_row_that_is_not_there_writes_nothing(trader):
    wallet = Wallet.objects.get(user=trader)
    journals = Journal.objects.count()
    balances = list(Wallet.objects.values_list("pk", "balance", "updated_at"))
    wallet.pk, wallet.balance = wallet.pk + 1000, Decimal(1)
    statement = WritesStatement()
    statement.insert(Journal, [Journal(kind=Journal.Kind.FILL)])
    statement.update(wallet, ["balance", "updated_at"])

    with pytest.raises(DatabaseError, match="no row to update"), transaction.atomic():
        statement.run()

    assert Journal.objects.count() == journals
    assert list(Wallet.objects.values_list("pk", "balance", "updated_at")) == balances


def _entry(journal, source, destination) -> LedgerEntry:
    return LedgerEntry(
        journal=journal,
        kind=LedgerEntry.Kind.FEE,
        amount=Decimal("0.5"),
        source=source,
        destination=destination,
    )


def test_a_row_of_a_writes_statement_points_at_a_row_inserted_before_it_in_the_statement(
    trader, django_assert_num_queries
):
    wallet = LedgerAccount.objects.get(kind="WALLET", user=trader)
    fees, _ = LedgerAccount.objects.get_or_create(kind="FEES", user=None, position=None)
    journals = [Journal(kind=Journal.Kind.FILL), Journal(kind=Journal.Kind.FUNDING)]
    # new accounts too, and entries with them: some point at the second row of an insert
    others = [User.objects.create(username=name) for name in ("bob", "carol")]
    accounts = [LedgerAccount(kind="WALLET", user=user) for user in others]
    entries = [
        _entry(journals[1], wallet, fees),
        _entry(journals[0], fees, accounts[1]),
        _entry(journals[1], accounts[0], wallet),
    ]
    statement = WritesStatement()
    statement.insert(Journal, journals)
    statement.insert(LedgerAccount, accounts)
    statement.insert(LedgerEntry, entries)

    with django_assert_num_queries(1):
        statement.run()

    stored = LedgerEntry.objects.in_bulk([entry.pk for entry in entries])
    assert [
        (stored[e.pk].journal_id, stored[e.pk].source_id, stored[e.pk].destination_id)
        for e in entries
    ] == [
        (journals[1].pk, wallet.pk, fees.pk),
        (journals[0].pk, fees.pk, accounts[1].pk),
        (journals[1].pk, accounts[0].pk, wallet.pk),
    ]
    # the instances know the ids the statement gave them
    assert [(e.journal_id, e.source_id, e.destination_id) for e in entries] == [
        (s.journal_id, s.source_id, s.destination_id) for s in (stored[e.pk] for e in entries)
    ]
    assert [LedgerAccount.objects.get(pk=account.pk).user_id for account in accounts] == [
        user.pk for user in others
    ]


def test_a_row_pointing_at_a_row_not_inserted_is_refused_before_anything_is_sent(
    trader, django_assert_num_queries
):
    wallet = LedgerAccount.objects.get(kind="WALLET", user=trader)
    statement = WritesStatement()
    statement.insert(LedgerEntry, [_entry(Journal(kind=Journal.Kind.FILL), wallet, wallet)])

    with django_assert_num_queries(0), pytest.raises(ValueError, match="not inserted before"):
        statement.run()


def test_a_writes_statement_runs_a_statement_of_the_callers_with_its_rows(
    trader, django_assert_num_queries
):
    wallet = Wallet.objects.get(user=trader)
    journal = Journal(kind=Journal.Kind.FILL)
    wallet.balance = Decimal("7")
    statement = WritesStatement()
    statement.insert(Journal, [journal])
    statement.update(wallet, ["balance"])
    statement.add("UPDATE accounts_user SET first_name = %s WHERE id = %s", ["Alice", trader.pk])

    with django_assert_num_queries(1):
        statement.run()

    assert Journal.objects.get(pk=journal.pk).kind == "FILL"
    assert Wallet.objects.get(pk=wallet.pk).balance == Decimal("7")
    assert User.objects.get(pk=trader.pk).first_name == "Alice"
