"""Use cases that create or change users."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import ApiKeyLimit, ApiKeyNotFound, InvalidUsername, UsernameTaken
from accounts.models import ApiKey, User
from accounts.secrets import secret_encrypt
from marginsite.errors import InvalidInput

# The public entry points compose both apps (design.md): user_create opens the new user's paper
# account, and margin_mode_default_set (a trading preference, re-exported) keeps its public name
# here. These are the accounts app's only imports of trading (pyproject.toml's contract).
from trading.services.paper_accounts import margin_mode_default_set as margin_mode_default_set
from trading.services.paper_accounts import paper_account_open

DEMO_TRADER_PASSWORD = "demo-trader-1"


def _username_checked(username) -> str:
    field = User._meta.get_field("username")
    if not isinstance(username, str) or not username or len(username) > field.max_length:
        raise InvalidUsername(
            f"A username is 1 to {field.max_length} characters.", field="username"
        )
    try:
        User.username_validator(username)
    except ValidationError as error:
        raise InvalidUsername(" ".join(error.messages), field="username") from None
    return username


def _user_insert(create, *, username, password, email) -> User:
    username = _username_checked(username)
    if not isinstance(password, str) or not password or not isinstance(email, str):
        raise InvalidInput("A password (and an email, if any) must be text.", field="password")
    try:
        with transaction.atomic(durable=True):
            user = create(username=username, password=password, email=email)
            paper_account_open(user=user)
            return user
    except IntegrityError:
        if User.objects.filter(username=username).exists():
            raise UsernameTaken(f"The username {username!r} is taken.", field="username") from None
        raise


def user_create(*, username: str, password: str, email: str = "") -> User:
    """A trader account with its preferences and a funded paper wallet."""
    return _user_insert(User.objects.create_user, username=username, password=password, email=email)


def superuser_create(*, username: str, password: str, email: str = "") -> User:
    """An operator with every permission (the admin back office), who can also paper-trade."""
    return _user_insert(
        User.objects.create_superuser, username=username, password=password, email=email
    )


@dataclass(frozen=True)
class SeededUser:
    """A demo account and the password it was created with (None: it existed and was kept)."""

    username: str
    role: str
    password: str | None


def demo_users_seed(
    *, demo_password: str = DEMO_TRADER_PASSWORD, admin_password: str | None = None
) -> list[SeededUser]:
    """The demo trader ``demo`` and the operator ``admin``, created if missing; existing users
    and their passwords are left alone. The operator's password is random unless given: a fixed
    one, published in the README, would open the back office of every installation."""
    accounts = [
        ("demo", "Paper trader", demo_password, user_create),
        (
            "admin",
            "Operator (/admin/)",
            admin_password or secrets.token_urlsafe(12),
            superuser_create,
        ),
    ]
    seeded = []
    for username, role, password, create in accounts:
        if User.objects.filter(username=username).exists():
            seeded.append(SeededUser(username, role, None))
        else:
            create(username=username, password=password)
            seeded.append(SeededUser(username, role, password))
    return seeded


MAX_ACTIVE_API_KEYS = 10


@dataclass(frozen=True)
class NewApiKey:
    """A key just created, with its secret: the only time the secret is shown."""

    api_key: ApiKey
    secret: str


def api_key_create(*, user, name, permission) -> NewApiKey:
    """A new key for ``user``: read-only or trading. At most MAX_ACTIVE_API_KEYS at once."""
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 50:
        raise InvalidInput("Name the key (1 to 50 characters).", field="name")
    if permission not in ApiKey.Permission.values:
        raise InvalidInput("A key is READ_ONLY or TRADING.", field="permission")
    secret = secrets.token_urlsafe(48)
    with transaction.atomic(durable=True):
        User.objects.select_for_update().get(pk=user.pk)
        if ApiKey.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_API_KEYS:
            raise ApiKeyLimit(
                f"You have {MAX_ACTIVE_API_KEYS} active keys already: revoke one first.",
                field="name",
            )
        api_key = ApiKey.objects.create(
            user=user,
            name=name.strip(),
            key=secrets.token_urlsafe(48)[:64],
            secret_encrypted=secret_encrypt(secret),
            permission=permission,
        )
    return NewApiKey(api_key, secret)


def api_key_revoke(*, user, key_id) -> ApiKey:
    """Revoke one of the user's keys; requests signed with it are refused from now on."""
    with transaction.atomic(durable=True):
        api_key = (
            ApiKey.objects.select_for_update()
            .filter(user=user, pk=key_id if str(key_id).isdigit() else None)
            .first()
        )
        if api_key is None:
            raise ApiKeyNotFound("API key not found.", field="key_id")
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
    return api_key


LAST_USED_PRECISION = timedelta(minutes=1)


def api_key_used(api_key: ApiKey) -> None:
    """Record that a request was signed with ``api_key`` (the /settings list shows when a key was
    last used): at most one write a minute per key, whichever API it signed for."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)


SUPPORT_GROUP = "support"
SUPPORT_APPS = ("accounts", "auth", "trading")


def support_group_sync() -> Group:
    """The "support" group of the back office: staff in it see every page and every figure, and
    change nothing (no funds granted, no position force-closed, no price moved). It holds exactly
    the view permissions, made again after every migrate so a new model's page reaches it."""
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.set(
        Permission.objects.filter(
            codename__startswith="view_", content_type__app_label__in=SUPPORT_APPS
        )
    )
    return group
