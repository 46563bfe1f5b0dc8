from decimal import Decimal

import pytest

from accounts.forms import SignUpForm
from accounts.models import User
from accounts.services import user_create

pytestmark = pytest.mark.django_db


def test_a_valid_sign_up_form_creates_a_funded_trader_through_user_create():
    form = SignUpForm(
        data={
            "username": "carol",
            "email": "carol@example.org",
            "password1": "a-long-passphrase-7",
            "password2": "a-long-passphrase-7",
        }
    )

    assert form.is_valid(), form.errors
    user = user_create(
        username=form.cleaned_data["username"],
        password=form.cleaned_data["password1"],
        email=form.cleaned_data["email"],
    )

    assert user.check_password("a-long-passphrase-7")
    assert user.wallet.balance == Decimal("10000")
    assert user.preferences.default_margin_mode == "CROSS"


@pytest.mark.parametrize(
    ("password1", "password2", "field"),
    [
        ("a-long-passphrase-7", "another-passphrase-7", "password2"),
        ("short", "short", "password2"),
        ("12345678901", "12345678901", "password2"),
    ],
)
def test_sign_up_refuses_mismatched_short_or_numeric_passwords(password1, password2, field):
    form = SignUpForm(data={"username": "dave", "password1": password1, "password2": password2})

    assert not form.is_valid()
    assert field in form.errors
    assert not User.objects.filter(username="dave").exists()


def test_sign_up_refuses_a_taken_username():
    user_create(username="erin", password="a-long-passphrase-7")

    form = SignUpForm(
        data={"username": "erin", "password1": "x-long-pass-99", "password2": "x-long-pass-99"}
    )

    assert not form.is_valid()
    assert "username" in form.errors
    assert User.objects.filter(username="erin").count() == 1
