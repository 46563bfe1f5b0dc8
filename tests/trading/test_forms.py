"""The /settings forms (trading/forms.py): they validate only; the services hold the rules."""

import pytest

from accounts.services import margin_mode_default_set, user_create
from trading.forms import PreferencesForm

pytestmark = pytest.mark.django_db


def test_preferences_form_accepts_the_two_modes_and_nothing_else():
    user = user_create(username="frank", password="a-long-passphrase-7")

    valid = PreferencesForm(data={"default_margin_mode": "ISOLATED"})
    invalid = PreferencesForm(data={"default_margin_mode": "HEDGE"})

    assert valid.is_valid()
    margin_mode_default_set(user=user, margin_mode=valid.cleaned_data["default_margin_mode"])
    user.preferences.refresh_from_db()
    assert user.preferences.default_margin_mode == "ISOLATED"
    assert not invalid.is_valid()
    assert "default_margin_mode" in invalid.errors
