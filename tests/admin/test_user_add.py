"""A user added on the back office's Users page (trading/admin/users.py) gets what a user who signs
up gets: preferences (Cross) and a wallet funded through the ledger."""

from decimal import Decimal

import pytest

from accounts.models import User
from accounts.services import superuser_create

pytestmark = pytest.mark.django_db


def test_a_user_added_in_the_admin_gets_preferences_and_a_funded_wallet(client):
    operator = superuser_create(username="operator", password="a-long-passphrase-7")
    client.force_login(operator)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "gina",
            "password1": "a-long-passphrase-8",
            "password2": "a-long-passphrase-8",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302, response.content[:500]
    gina = User.objects.get(username="gina")
    assert gina.wallet.balance == Decimal("10000")
    assert gina.preferences.default_margin_mode == "CROSS"
    assert gina.ledger_entries.get().kind == "DEPOSIT"
