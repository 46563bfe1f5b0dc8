import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_seed_users_creates_a_demo_trader_and_an_admin_with_a_random_password(capsys):
    call_command("seed_users")

    out = capsys.readouterr().out
    demo_line, admin_line = out.splitlines()
    assert demo_line == "Paper trader: demo / demo-trader-1"
    admin_password = re.fullmatch(r"Operator \(/admin/\): admin / (\S{16})", admin_line).group(1)
    demo = authenticate(username="demo", password="demo-trader-1")
    admin = authenticate(username="admin", password=admin_password)
    assert (demo.is_staff, demo.is_superuser) == (False, False)
    assert (admin.is_staff, admin.is_superuser) == (True, True)


def test_seed_users_takes_the_passwords_it_is_given(capsys):
    call_command("seed_users", demo_password="classroom-7", admin_password="teacher-secret-9")

    assert capsys.readouterr().out == (
        "Paper trader: demo / classroom-7\nOperator (/admin/): admin / teacher-secret-9\n"
    )
    assert authenticate(username="admin", password="teacher-secret-9") is not None


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
