"""Use cases that create or change users."""

import secrets
from dataclasses import dataclass

from django.db import transaction

from accounts.models import User

DEMO_TRADER_PASSWORD = "demo-trader-1"


def user_create(*, username: str, password: str, email: str = "") -> User:
    """A trader account."""
    with transaction.atomic(durable=True):
        return User.objects.create_user(username=username, password=password, email=email)


def superuser_create(*, username: str, password: str, email: str = "") -> User:
    """An operator with every permission (the admin back office)."""
    with transaction.atomic(durable=True):
        return User.objects.create_superuser(username=username, password=password, email=email)


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
