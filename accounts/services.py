"""Use cases that create or change users."""

from django.db import transaction

from accounts.models import User


def user_create(*, username: str, password: str, email: str = "") -> User:
    """A trader account."""
    with transaction.atomic(durable=True):
        return User.objects.create_user(username=username, password=password, email=email)


def superuser_create(*, username: str, password: str, email: str = "") -> User:
    """An operator with every permission (the admin back office)."""
    with transaction.atomic(durable=True):
        return User.objects.create_superuser(username=username, password=password, email=email)
