"""The embedded channel layer (PostgreSQL's LISTEN/NOTIFY): a note sent in a transaction reaches a
listener in another connection when it commits, never when it rolls back; within the process,
a group's member channels receive it and others do not; a listener whose connection was cut
reconnects and tells its channels to resync."""

import asyncio
import json

import psycopg
import pytest
from django.db import transaction

from marginsite.channel_layers import NOTIFY_CHANNEL, PostgresNotifyChannelLayer, group_notify
from marginsite.channel_layers import _conninfo as conninfo

pytestmark = pytest.mark.django_db(transaction=True)


def notes_seen(listening: psycopg.Connection) -> list[dict]:
    return [json.loads(notice.payload) for notice in listening.notifies(timeout=0.5)]


@pytest.fixture
def listening():
    with psycopg.connect(conninfo(), autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        yield listener


def test_a_note_is_delivered_at_commit_and_never_after_a_rollback(listening):
    with transaction.atomic():
        group_notify("account.1", {"type": "live.account"})
        assert notes_seen(listening) == []  # not before the commit
    assert notes_seen(listening) == [{"group": "account.1", "message": {"type": "live.account"}}]

    def failing_change():
        with transaction.atomic():
            group_notify("account.1", {"type": "live.account"})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert notes_seen(listening) == []


def test_a_groups_channels_receive_its_notes_and_no_other():
    async def scenario():
        layer = PostgresNotifyChannelLayer()
        member, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("account.1", member)
        await layer.group_add("account.2", other)
        await layer.group_send("account.1", {"type": "live.account"})
        received = await asyncio.wait_for(layer.receive(member), 5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(other), 0.5)
        await layer.group_discard("account.1", member)
        await layer.group_send("account.1", {"type": "live.account"})
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(member), 0.5)
        layer._listener.cancel()
        return received

    assert asyncio.run(scenario()) == {"type": "live.account"}


def test_a_cut_connection_is_restored_and_every_channel_resyncs():
    async def scenario():
        layer = PostgresNotifyChannelLayer()
        channel = await layer.new_channel()
        await layer.group_add("account.1", channel)
        with psycopg.connect(conninfo(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = %s AND datname = current_database()",
                [f"LISTEN {NOTIFY_CHANNEL}"],
            )
        resync = await asyncio.wait_for(layer.receive(channel), 10)
        await layer.group_send("account.1", {"type": "live.account"})
        after = await asyncio.wait_for(layer.receive(channel), 5)
        layer._listener.cancel()
        return resync, after

    assert asyncio.run(scenario()) == ({"type": "live.resync"}, {"type": "live.account"})
