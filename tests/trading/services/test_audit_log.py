"""The audit log: a user's changes of default margin mode, a symbol's margin mode and leverage
are recorded (who, what, before, after, when) by the services themselves, whatever page or API
asked; a refused or idle change records nothing; and no entry can be changed or deleted."""

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.services import margin_mode_default_set
from trading.errors import LeverageTooHigh
from trading.models import AuditEntry
from trading.services import leverage_set, order_place, symbol_margin_mode_set
from trading.services.audit_log import audit_record

pytestmark = pytest.mark.django_db


def entry_of(user) -> AuditEntry:
    return AuditEntry.objects.get(actor=user)


def test_a_leverage_change_is_recorded_with_before_and_after(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=10)

    entry = entry_of(trader)
    assert entry.action == AuditEntry.Action.LEVERAGE_SET
    assert entry.actor_username == "alice"
    assert (entry.target_type, entry.target_id) == ("accounts.User", str(trader.pk))
    assert entry.target_label == "alice · BTCUSDT"
    assert entry.before == {"symbol": "BTCUSDT", "margin_mode": "ISOLATED", "leverage": 20}
    assert entry.after == {"symbol": "BTCUSDT", "margin_mode": "ISOLATED", "leverage": 10}
    assert entry.created_at is not None


def test_setting_the_same_leverage_again_records_nothing_new(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)  # the default

    assert AuditEntry.objects.count() == 1


def test_a_refused_leverage_change_records_nothing(trader, unchanged):
    with unchanged(), pytest.raises(LeverageTooHigh):
        leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=126)

    assert not AuditEntry.objects.exists()


def test_a_leverage_refused_by_the_open_position_records_nothing(trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")

    with pytest.raises(LeverageTooHigh):  # 60,000 USDT is above 125x's cap of 50,000
        leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)

    assert not AuditEntry.objects.exists()


def test_a_symbol_margin_mode_change_is_recorded(trader):
    symbol_margin_mode_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED")

    entry = entry_of(trader)
    assert entry.action == AuditEntry.Action.SYMBOL_MARGIN_MODE_SET
    assert entry.target_label == "alice · ETHUSDT"
    assert entry.before == {"symbol": "ETHUSDT", "margin_mode": "CROSS"}
    assert entry.after == {"symbol": "ETHUSDT", "margin_mode": "ISOLATED"}


def test_a_default_margin_mode_change_is_recorded_and_a_repeat_is_not(trader):
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")

    entry = entry_of(trader)
    assert entry.action == AuditEntry.Action.DEFAULT_MARGIN_MODE_SET
    assert entry.target_label == "alice"
    assert (entry.before, entry.after) == (
        {"default_margin_mode": "CROSS"},
        {"default_margin_mode": "ISOLATED"},
    )


def test_changes_made_through_the_settings_page_are_recorded(trader, client):
    client.force_login(trader)

    response = client.post("/settings/default-mode/", {"default_margin_mode": "ISOLATED"})

    assert response.status_code == 302
    assert entry_of(trader).after == {"default_margin_mode": "ISOLATED"}


def test_an_entry_cannot_be_changed_or_deleted_through_the_model(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=5)
    entry = entry_of(trader)

    entry.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    assert AuditEntry.objects.get().reason == ""


def test_the_database_refuses_an_update_of_an_entry(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=5)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.update(reason="rewritten")

    assert AuditEntry.objects.get().reason == ""


def test_postgres_refuses_a_delete_of_an_entry(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=5)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.all()._raw_delete(connection.alias)

    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_entry_is_written_only_inside_the_change_it_records(trader):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=trader, action=AuditEntry.Action.LEVERAGE_SET, target=trader)
