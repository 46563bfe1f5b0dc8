"""Creating accounts: every user gets preferences (Cross by default) and a wallet funded with the
paper starting balance through one ledger entry; and the default margin mode on /settings."""

from decimal import Decimal

import pytest

from accounts.errors import InvalidUsername, UsernameTaken
from accounts.models import User
from accounts.services import margin_mode_default_set, superuser_create, user_create
from marginsite.errors import InvalidInput
from tests.builders import ledger_rows
from trading.models import LedgerEntry, Preferences, Wallet
from trading.selectors import system_account_balance

pytestmark = pytest.mark.django_db

PASSWORD = "pw-0123456789"


# user_create


def test_user_create_gives_cross_preferences_and_a_wallet_of_ten_thousand(balanced_ledger):
    # given nobody
    # when a trader signs up
    user = user_create(username="alice", password=PASSWORD, email="alice@example.com")

    # then the user exists with their password and e-mail
    user = User.objects.get(pk=user.pk)
    assert (user.username, user.email) == ("alice", "alice@example.com")
    assert user.check_password(PASSWORD)
    assert (user.is_staff, user.is_superuser) == (False, False)
    # with preferences defaulting to Cross
    assert Preferences.objects.get(user=user).default_margin_mode == "CROSS"
    # and a wallet of 10,000 USDT funded by one DEPOSIT entry DEPOSITS -> WALLET
    assert Wallet.objects.get(user=user).balance == Decimal("10000")
    assert ledger_rows(user=user) == [("DEPOSIT", Decimal("10000"), "DEPOSITS", "WALLET")]
    entry = LedgerEntry.objects.get(user=user)
    assert entry.destination.user == user
    assert entry.memo == "starting balance"
    assert system_account_balance("DEPOSITS") == Decimal("-10000")


def test_every_user_gets_a_wallet_of_their_own(balanced_ledger):
    # given two traders signing up
    alice = user_create(username="alice", password=PASSWORD)
    bob = user_create(username="bob", password=PASSWORD)

    # then each has 10,000 in their own wallet, and 20,000 was issued in all
    assert Wallet.objects.get(user=alice).balance == Decimal("10000")
    assert Wallet.objects.get(user=bob).balance == Decimal("10000")
    assert ledger_rows(user=alice) == [("DEPOSIT", Decimal("10000"), "DEPOSITS", "WALLET")]
    assert ledger_rows(user=bob) == [("DEPOSIT", Decimal("10000"), "DEPOSITS", "WALLET")]
    alice_entry, bob_entry = LedgerEntry.objects.order_by("pk")
    assert alice_entry.destination != bob_entry.destination
    assert alice_entry.source == bob_entry.source
    assert system_account_balance("DEPOSITS") == Decimal("-20000")


def test_paper_starting_balance_setting_changes_the_starting_amount(settings, balanced_ledger):
    # given an installation configured with a starting balance of 2,500.5 USDT
    settings.PAPER_STARTING_BALANCE = Decimal("2500.5")

    # when a trader signs up
    user = user_create(username="alice", password=PASSWORD)

    # then their wallet holds 2,500.5, from one DEPOSIT entry of that amount
    assert Wallet.objects.get(user=user).balance == Decimal("2500.5")
    assert ledger_rows(user=user) == [("DEPOSIT", Decimal("2500.5"), "DEPOSITS", "WALLET")]


def test_user_create_with_a_taken_username_creates_nothing(unchanged):
    # given alice exists
    user_create(username="alice", password=PASSWORD)

    # when someone signs up as alice again, then it is refused and nothing was created
    with (
        pytest.raises(UsernameTaken, match=r"^The username 'alice' is taken\.$") as refusal,
        unchanged(),
    ):
        user_create(username="alice", password="another-pw-987")
    assert refusal.value.code == "USERNAME_TAKEN"
    assert refusal.value.status == 409
    assert User.objects.count() == 1


@pytest.mark.parametrize("username", ["", None, "x" * 151, "has space", "semi;colon", ["alice"]])
def test_user_create_refuses_a_username_that_is_not_one(username, unchanged):
    with pytest.raises(InvalidUsername), unchanged():
        user_create(username=username, password=PASSWORD)


# superuser_create


def test_superuser_create_gives_an_operator_who_can_also_paper_trade(balanced_ledger):
    # when the operator account is created
    admin = superuser_create(username="admin", password=PASSWORD)

    # then it has every permission, Cross preferences and a funded wallet
    admin = User.objects.get(pk=admin.pk)
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    assert Preferences.objects.get(user=admin).default_margin_mode == "CROSS"
    assert Wallet.objects.get(user=admin).balance == Decimal("10000")
    assert ledger_rows(user=admin) == [("DEPOSIT", Decimal("10000"), "DEPOSITS", "WALLET")]


# margin_mode_default_set


def test_default_margin_mode_can_be_set_to_isolated_and_back():
    # given a trader with the Cross default
    user = user_create(username="alice", password=PASSWORD)

    # when the default is set to Isolated
    preferences = margin_mode_default_set(user=user, margin_mode="ISOLATED")

    # then it is stored
    assert preferences.default_margin_mode == "ISOLATED"
    assert Preferences.objects.get(user=user).default_margin_mode == "ISOLATED"

    # and when it is set back to Cross, it is Cross again, in the same row
    preferences = margin_mode_default_set(user=user, margin_mode="CROSS")
    assert preferences.default_margin_mode == "CROSS"
    assert list(Preferences.objects.filter(user=user).values_list("default_margin_mode")) == [
        ("CROSS",)
    ]


def test_default_margin_mode_of_another_user_is_not_touched():
    # given two traders
    alice = user_create(username="alice", password=PASSWORD)
    bob = user_create(username="bob", password=PASSWORD)

    # when alice chooses Isolated
    margin_mode_default_set(user=alice, margin_mode="ISOLATED")

    # then bob keeps Cross
    assert Preferences.objects.get(user=bob).default_margin_mode == "CROSS"


def test_default_margin_mode_set_creates_missing_preferences():
    # given a user created without the account service (no preferences row)
    user = User.objects.create_user(username="legacy", password=PASSWORD)

    # when the default is set, then the preferences exist with it
    margin_mode_default_set(user=user, margin_mode="ISOLATED")
    assert Preferences.objects.get(user=user).default_margin_mode == "ISOLATED"


@pytest.mark.parametrize(
    ("margin_mode", "shown"),
    [
        pytest.param("cross", "'cross'", id="lower-case"),
        pytest.param("", "''", id="empty"),
        pytest.param(None, "None", id="none"),
        pytest.param("HEDGE", "'HEDGE'", id="hedge"),
    ],
)
def test_bad_default_margin_mode_is_refused_and_changes_nothing(unchanged, margin_mode, shown):
    # given a trader with the Cross default
    user = user_create(username="alice", password=PASSWORD)

    # when a bad mode is chosen, then it is refused and nothing changed
    with (
        pytest.raises(
            InvalidInput, match=rf"^The margin_mode must be CROSS or ISOLATED, not {shown}\.$"
        ) as refusal,
        unchanged(),
    ):
        margin_mode_default_set(user=user, margin_mode=margin_mode)
    assert (refusal.value.code, refusal.value.field) == ("INVALID_INPUT", "margin_mode")
    assert Preferences.objects.get(user=user).default_margin_mode == "CROSS"
