"""Listen keys of Binance's user data streams (trading/binance/streams/), as Binance keeps them:
one per API key, valid 60 minutes after it was opened or last kept alive. Opening one while
the API key has a valid one returns that key (kept alive); an expired one is replaced by a new
key, so a stream opened with the old one is refused."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from trading.models import ListenKey

LISTEN_KEY_LIFETIME = timedelta(minutes=60)


def listen_key_open(*, api_key) -> ListenKey:
    """The API key's listen key, valid for another 60 minutes (a new one if it had none, or
    its last one expired)."""
    with transaction.atomic(durable=True):
        now = timezone.now()
        found = ListenKey.objects.select_for_update().filter(api_key=api_key).first()
        if found is None:
            return ListenKey.objects.create(
                api_key=api_key, key=_new_key(), expires_at=now + LISTEN_KEY_LIFETIME
            )
        if found.expires_at <= now:
            found.key = _new_key()
        found.expires_at = now + LISTEN_KEY_LIFETIME
        found.save(update_fields=["key", "expires_at"])
        return found


def listen_key_keep_alive(*, api_key) -> ListenKey | None:
    """Another 60 minutes for the API key's valid listen key; None when it has none (never
    opened, closed, or expired: Binance's "This listenKey does not exist.")."""
    with transaction.atomic(durable=True):
        now = timezone.now()
        found = ListenKey.objects.select_for_update().filter(api_key=api_key).first()
        if found is None or found.expires_at <= now:
            return None
        found.expires_at = now + LISTEN_KEY_LIFETIME
        found.save(update_fields=["expires_at"])
        return found


def listen_key_close(*, api_key) -> None:
    """Close the API key's listen key: its streams are refused from then on."""
    with transaction.atomic(durable=True):
        ListenKey.objects.filter(api_key=api_key).delete()


def _new_key() -> str:
    return secrets.token_urlsafe(48)  # 64 characters, as long as Binance's
