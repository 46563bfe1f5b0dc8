import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_seed_users_creates_a_demo_trader_and_an_admin_and_prints_how_to_log_in(capsys):
    call_command("seed_users")

    assert capsys.readouterr().out == (
        "Paper trader: demo / demo-trader-1\nOperator (/admin/): admin / admin-operator-1\n"
    )
    demo = authenticate(username="demo", password="demo-trader-1")
    admin = authenticate(username="admin", password="admin-operator-1")
    assert (demo.is_staff, demo.is_superuser) == (False, False)
    assert (admin.is_staff, admin.is_superuser) == (True, True)


def test_seed_users_leaves_existing_users_and_their_passwords_alone(capsys):
    call_command("seed_users", demo_password="first-password-1")
    demo = User.objects.get(username="demo")
    demo.set_password("changed-by-user-1")
    demo.save(update_fields=["password"])
    capsys.readouterr()

    call_command("seed_users")

    assert capsys.readouterr().out == (
        "Paper trader: demo (exists; password unchanged)\n"
        "Operator (/admin/): admin (exists; password unchanged)\n"
    )
    assert authenticate(username="demo", password="changed-by-user-1") is not None
    assert User.objects.count() == 2


def test_user_model_is_the_custom_accounts_user(django_user_model):
    assert django_user_model is User
    assert User._meta.db_table == "accounts_user"
