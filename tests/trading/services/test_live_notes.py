"""The notes to the open trade pages reach the channel layer's Redis (a real one) as
channels_redis' pub/sub layer would publish them, in one write for which nothing waits, and
again once Redis has dropped the connection they went by."""

import time

import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings

from trading.services import live
from trading.services.live import (
    PUBLISHING_CLIENT_NAME,
    account_group,
    live_account_changed,
    live_accounts_changed,
)

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def listening():
    """listening(*groups) -> a pub/sub of the groups' channels on the layer's Redis."""
    client = redis.Redis.from_url(settings.CHANNEL_LAYER_URL, socket_timeout=5)
    subscriptions = []

    def listen(*groups):
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(*[f"{settings.CHANNEL_LAYER_PREFIX}__group__{g}" for g in groups])
        subscriptions.append(pubsub)
        return pubsub

    yield listen
    for pubsub in subscriptions:
        pubsub.close()


def received(pubsub) -> list[tuple[str, bytes]]:
    """What reaches ``pubsub`` until nothing more comes for half a second."""
    messages = []
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        if (message := pubsub.get_message(timeout=0.1)) is not None:
            messages.append((message["channel"].decode(), message["data"]))
            deadline = time.monotonic() + 0.5
    return messages


def publishing_connection_killed() -> list[str]:
    """This thread's publishing connection closed by Redis, as a restart of Redis closes it;
    the names Redis knew it by."""
    client = redis.Redis.from_url(settings.CHANNEL_LAYER_URL)
    host, port = live._PUBLISHING.kept[2]._sock.getsockname()
    ours = [c for c in client.client_list() if c["addr"] == f"{host}:{port}"]
    for found in ours:
        client.client_kill_filter(_id=found["id"])
    return [found["name"] for found in ours]


def test_a_batchs_notes_go_in_one_write_and_no_reply_comes_back(
    listening, redis_sends, django_capture_on_commit_callbacks
):
    pubsub = listening(account_group(7), account_group(8))
    with django_capture_on_commit_callbacks(execute=True):
        live_account_changed(1)  # the connection made, and kept
    sends = redis_sends()

    with django_capture_on_commit_callbacks(execute=True):
        live_accounts_changed([7, 8])

    note = get_channel_layer().serialize({"type": "live.account"})
    prefix = settings.CHANNEL_LAYER_PREFIX
    assert received(pubsub) == [
        (f"{prefix}__group__account.7", note),
        (f"{prefix}__group__account.8", note),
    ]
    assert len(sends) == 1
    assert not live._PUBLISHING.kept[2].can_read(timeout=0.2)  # Redis answers nothing


def test_a_note_after_redis_dropped_the_connection_goes_by_a_new_one(
    listening, django_capture_on_commit_callbacks
):
    pubsub = listening(account_group(7))
    with django_capture_on_commit_callbacks(execute=True):
        live_account_changed(7)
    assert len(received(pubsub)) == 1
    first = live._PUBLISHING.kept[2]

    assert publishing_connection_killed() == [PUBLISHING_CLIENT_NAME]

    with django_capture_on_commit_callbacks(execute=True):
        live_account_changed(7)
    assert len(received(pubsub)) == 1
    assert live._PUBLISHING.kept[2] is not first
