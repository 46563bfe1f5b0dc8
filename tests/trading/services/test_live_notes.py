"""The notes to the open trade pages reach the channel layer's Redis (a real one) as
channels_redis' pub/sub layer would publish them, in one write for which nothing waits; again
once Redis has dropped the connection they went by; and, on a Redis of the test's own, a Redis
that refuses them, stops answering or is down is logged, and the change that sent them stands."""

import logging
import time
from decimal import Decimal

import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings

from accounts.services import api_key_create
from marginsite.redis_publishing import ANSWER_SECONDS, publishing_connection
from tests.clients import SignedClient
from trading.models import Position
from trading.services.live import account_group, live_account_changed, live_accounts_changed

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

NOTE = get_channel_layer().serialize({"type": "live.account"})


@pytest.fixture
def listening():
    """listening(*groups, url=the layer's) -> a pub/sub of the groups' channels on Redis."""
    subscriptions = []

    def listen(*groups, url=None):
        client = redis.Redis.from_url(url or settings.CHANNEL_LAYER_URL, socket_timeout=5)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        channels = [f"{settings.CHANNEL_LAYER_PREFIX}__group__{g}" for g in groups]
        pubsub.subscribe(*channels)
        subscriptions.append((client, pubsub))  # a client let go closes its connections
        deadline = time.monotonic() + 5
        while any(count == 0 for _, count in client.pubsub_numsub(*channels)):
            assert time.monotonic() < deadline, "not subscribed"
            pubsub.get_message(timeout=0.05)  # reads the confirmations
        return pubsub

    yield listen
    for _, pubsub in subscriptions:
        pubsub.close()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """committed(change, *args) -> what ``change`` returns, in a transaction that commits (its
    notes go)."""

    def commit(change, *args):
        with django_capture_on_commit_callbacks(execute=True):
            return change(*args)

    return commit


def received(pubsub) -> list[tuple[str, bytes]]:
    """What reaches ``pubsub`` until nothing more comes for half a second."""
    messages = []
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        if (message := pubsub.get_message(timeout=0.1)) is not None:
            messages.append((message["channel"].decode(), message["data"]))
            deadline = time.monotonic() + 0.5
    return messages


def test_a_batchs_notes_go_in_one_write_and_their_answers_are_not_waited_for(
    listening, committed, redis_sends
):
    pubsub = listening(account_group(7), account_group(8))
    committed(live_account_changed, 1)  # the connection made, and kept
    sends = redis_sends()

    committed(live_accounts_changed, [7, 8])

    prefix = settings.CHANNEL_LAYER_PREFIX
    assert received(pubsub) == [
        (f"{prefix}__group__account.7", NOTE),
        (f"{prefix}__group__account.8", NOTE),
    ]
    assert len(sends) == 1
    assert publishing_connection().can_read(timeout=0.5)  # their answers wait, unread


def test_a_note_after_redis_dropped_the_connection_goes_by_a_new_one(listening, committed):
    pubsub = listening(account_group(7))
    committed(live_account_changed, 7)
    assert len(received(pubsub)) == 1
    first = publishing_connection()
    client = redis.Redis.from_url(settings.CHANNEL_LAYER_URL)
    host, port = first._sock.getsockname()
    (ours,) = [found for found in client.client_list() if found["addr"] == f"{host}:{port}"]

    client.client_kill_filter(_id=ours["id"])  # as a restart of Redis does

    committed(live_account_changed, 7)
    assert len(received(pubsub)) == 1
    assert publishing_connection() is not first


def test_a_note_redis_refuses_is_logged_and_the_next_still_goes(
    redis_private, listening, committed, settings, caplog
):
    admin = redis.Redis.from_url(redis_private.url)
    admin.acl_setuser(
        "notes", enabled=True, passwords=["+secret"], channels=["*"], commands=["+@all"]
    )
    settings.CHANNEL_LAYER_URL = redis_private.url.replace("//", "//notes:secret@")
    pubsub = listening(account_group(7), url=redis_private.url)
    committed(live_account_changed, 7)
    assert len(received(pubsub)) == 1

    admin.acl_setuser("notes", enabled=True, commands=["-publish"])  # an operator's ACL, say
    committed(live_account_changed, 7)
    assert publishing_connection().can_read(timeout=1)  # refused (the answer is left unread)
    admin.acl_setuser("notes", enabled=True, commands=["+publish"])
    with caplog.at_level(logging.WARNING, logger="marginsite.redis_publishing"):
        committed(live_account_changed, 7)  # reads the refusal of the one before

    assert len(received(pubsub)) == 1
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        (
            "marginsite.redis_publishing",
            "live events: Redis refused a note: this user has no permissions to run the "
            "'publish' command",
        )
    ]


def test_notes_redis_does_not_answer_are_logged_and_the_connection_dropped(
    redis_private, listening, committed, settings, caplog
):
    settings.CHANNEL_LAYER_URL = redis_private.url
    pubsub = listening(account_group(7), url=redis_private.url)
    committed(live_account_changed, 7)
    assert len(received(pubsub)) == 1
    first = publishing_connection()
    admin = redis.Redis.from_url(redis_private.url)

    admin.client_pause(int(2.5 * ANSWER_SECONDS * 1000))  # Redis takes writes, answers none
    committed(live_account_changed, 7)  # written, not answered
    time.sleep(ANSWER_SECONDS + 0.2)
    with caplog.at_level(logging.WARNING, logger="trading.services.live"):
        committed(live_account_changed, 7)

    assert caplog.messages == ["live events: 1 notes not published"]
    assert publishing_connection() is None
    time.sleep(1.5 * ANSWER_SECONDS)  # the pause is over
    committed(live_account_changed, 7)
    # the last alone: the one written in the pause was dropped with its connection
    assert [data for _, data in received(pubsub)] == [NOTE]
    assert publishing_connection() is not first


def test_with_redis_down_an_order_stands_and_its_lost_note_is_logged(
    redis_private, listening, committed, trader, settings, caplog
):
    settings.CHANNEL_LAYER_URL = redis_private.url
    new = api_key_create(user=trader, name="bot", permission="TRADING")
    signed = SignedClient(new.api_key.key, new.secret)
    redis_private.stop()

    with caplog.at_level(logging.WARNING, logger="trading.services.live"):
        placed = committed(signed.post, "/api/v1/orders", {
            "symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01",
        })  # fmt: skip

    assert (placed.status_code, placed.json()["status"]) == (201, "FILLED")
    assert Position.objects.get(user=trader).quantity == Decimal("0.01")
    assert caplog.messages == ["live events: 1 notes not published"]

    redis_private.start()
    pubsub = listening(account_group(trader.pk), url=redis_private.url)
    committed(live_account_changed, trader.pk)
    assert [data for _, data in received(pubsub)] == [NOTE]
