"""Who gets into the back office, and what they may do there: superusers everything; the
"support" group sees every page and changes nothing; a trader who is not staff gets no admin page
at all. Checked over every page the admin site registers, so a new page cannot forget it."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.services import SUPPORT_GROUP, support_group_sync

pytestmark = pytest.mark.django_db

MONEY_PERMISSIONS = [
    "trading.grant_funds",
    "trading.reset_account",
    "trading.force_close_position",
    "trading.cancel_any_order",
    "trading.halt_instrument",
    "trading.move_prices",
    "trading.change_instrument",
    "accounts.change_user",
]


def changelist_urls() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ] + [reverse("admin:index"), reverse("admin:risk_dashboard")]


def test_the_support_group_holds_exactly_the_view_permissions(db):
    group = Group.objects.get(name=SUPPORT_GROUP)  # made by migrate

    codenames = set(group.permissions.values_list("codename", flat=True))

    assert codenames
    assert all(codename.startswith("view_") for codename in codenames)
    assert {"view_ledgerentry", "view_position", "view_auditentry", "view_user"} <= codenames
    views = Permission.objects.filter(
        codename__startswith="view_", content_type__app_label__in=["accounts", "auth", "trading"]
    )
    assert codenames == set(views.values_list("codename", flat=True))


def test_syncing_the_support_group_again_changes_nothing(db):
    before = set(Group.objects.get(name=SUPPORT_GROUP).permissions.all())

    support_group_sync()

    assert set(Group.objects.get(name=SUPPORT_GROUP).permissions.all()) == before


def test_support_has_none_of_the_permissions_that_move_money_or_prices(support, operator):
    assert not any(support.has_perm(permission) for permission in MONEY_PERMISSIONS)
    assert all(operator.has_perm(permission) for permission in MONEY_PERMISSIONS)


@pytest.mark.parametrize("who", ["operator_client", "support_client"])
def test_staff_see_every_page_of_the_back_office(who, request, trader):
    client = request.getfixturevalue(who)

    for url in changelist_urls():
        response = client.get(url)
        assert response.status_code == 200, url


def test_support_is_offered_no_action_on_any_page(support_client, trader):
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = support_client.get(url)
        assert 'name="action"' not in response.content.decode(), url


def test_a_trader_who_is_not_staff_gets_no_admin_page(trader_client, client):
    for url in changelist_urls():
        for anyone in (trader_client, client):
            response = anyone.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url
    page = trader_client.get(reverse("admin:login")).content.decode()
    assert "not authorized to access this page" in page
