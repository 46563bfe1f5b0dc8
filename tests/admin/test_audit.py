"""The back office's Audit log page: who did what to what, before and after, when and why;
filtered by action and actor, searched by target and actor; read-only for everyone."""

import pytest
from django.contrib.admin.sites import site
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.services import margin_mode_default_set
from trading.models import AuditEntry
from trading.services.audit_log import audit_record
from trading.services.backoffice_users import user_deactivate
from trading.services.wallets import wallet_grant

pytestmark = pytest.mark.django_db

AUDIT = "/admin/trading/auditentry/"


def cells(content: str, entry: AuditEntry) -> str:
    """The row of ``entry`` in the list (from its link to the end of its <tr>)."""
    start = content.index(f'href="{AUDIT}{entry.pk}/change/')
    return content[start : content.index("</tr>", start)]


def test_the_list_shows_who_what_target_before_after_and_reason(operator_client, operator, trader):
    wallet_grant(operator=operator, user=trader, amount="250.5", reason="contest prize")
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    grant, mode = AuditEntry.objects.order_by("pk")

    content = operator_client.get(AUDIT).content.decode()

    row = cells(content, grant)
    assert '<td class="field-who">operator</td>' in row
    assert '<td class="field-action">Paper funds granted</td>' in row
    assert f'<td class="field-target">alice (accounts.User {trader.pk})</td>' in row
    assert (
        '<td class="field-before_values">{&quot;balance&quot;: &quot;10000.00000000&quot;}' in row
    )
    assert (
        '<td class="field-after_values">{&quot;balance&quot;: &quot;10250.50000000&quot;, '
        "&quot;granted&quot;: &quot;250.5&quot;}</td>" in row
    )
    assert '<td class="field-reason">contest prize</td>' in row
    row = cells(content, mode)
    assert '<td class="field-who">alice</td>' in row
    assert '<td class="field-action">Default margin mode changed</td>' in row
    assert "{&quot;default_margin_mode&quot;: &quot;CROSS&quot;}" in row
    assert "{&quot;default_margin_mode&quot;: &quot;ISOLATED&quot;}" in row


def test_an_entry_without_an_actor_is_the_systems(operator_client, trader):
    with transaction.atomic():
        entry = audit_record(actor=None, action=AuditEntry.Action.LEVERAGE_SET, target=trader)

    content = operator_client.get(AUDIT).content.decode()

    assert '<td class="field-who">system</td>' in cells(content, entry)


def test_the_list_filters_by_action_and_actor(operator_client, operator, trader, make_trader):
    bob = make_trader("bob")
    wallet_grant(operator=operator, user=trader, amount="1", reason="prize")
    user_deactivate(operator=operator, user=bob, reason="left")
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")

    by_action = operator_client.get(AUDIT, {"action__exact": "USER_DEACTIVATED"}).context["cl"]
    by_actor = operator_client.get(AUDIT, {"actor__id__exact": trader.pk}).context["cl"]

    assert [(e.action, e.target_label) for e in by_action.result_list] == [
        ("USER_DEACTIVATED", "bob")
    ]
    assert [(e.action, e.actor_username) for e in by_actor.result_list] == [
        ("DEFAULT_MARGIN_MODE_SET", "alice")
    ]


def test_the_list_is_searched_by_target_label_and_actor_username(
    operator_client, operator, trader, make_trader
):
    bob = make_trader("bob")
    wallet_grant(operator=operator, user=trader, amount="1", reason="prize")
    wallet_grant(operator=operator, user=bob, amount="2", reason="prize")
    margin_mode_default_set(user=bob, margin_mode="ISOLATED")

    about_alice = operator_client.get(AUDIT, {"q": "alice"}).context["cl"]
    by_operator = operator_client.get(AUDIT, {"q": "operator"}).context["cl"]

    assert [e.target_label for e in about_alice.result_list] == ["alice"]
    assert sorted(e.target_label for e in by_operator.result_list) == ["alice", "bob"]


def test_the_list_costs_the_same_queries_for_few_or_many_entries(
    operator_client, operator, make_trader
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(AUDIT).status_code == 200
        return len(captured)

    wallet_grant(operator=operator, user=make_trader(), amount="1", reason="prize")
    few = queries()
    for _ in range(8):
        user = make_trader()
        wallet_grant(operator=operator, user=user, amount="1", reason="prize")
        margin_mode_default_set(user=user, margin_mode="ISOLATED")

    assert queries() == few


def test_no_one_adds_changes_or_deletes_an_entry(operator_client, operator, trader):
    wallet_grant(operator=operator, user=trader, amount="1", reason="prize")
    entry = AuditEntry.objects.get()
    before = list(AuditEntry.objects.values())

    add = operator_client.post(f"{AUDIT}add/", {"action": "FUNDS_GRANTED", "reason": "forged"})
    change = operator_client.post(f"{AUDIT}{entry.pk}/change/", {"reason": "rewritten"})
    delete = operator_client.post(f"{AUDIT}{entry.pk}/delete/", {"post": "yes"})
    listing = operator_client.get(AUDIT).content.decode()
    view = operator_client.get(f"{AUDIT}{entry.pk}/change/").content.decode()

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert list(AuditEntry.objects.values()) == before
    assert 'value="delete_selected"' not in listing
    assert "/add/" not in listing.split("<table")[0]
    assert 'name="_save"' not in view
    assert '<div class="readonly">prize</div>' in view
    request = RequestFactory().get(AUDIT)
    request.user = operator
    audit_admin = site._registry[AuditEntry]
    assert not audit_admin.has_add_permission(request)
    assert not audit_admin.has_change_permission(request, entry)
    assert not audit_admin.has_delete_permission(request, entry)


def test_support_reads_the_audit_log(support_client, operator, trader):
    wallet_grant(operator=operator, user=trader, amount="1", reason="prize")

    response = support_client.get(AUDIT)

    assert response.status_code == 200
    assert '<td class="field-reason">prize</td>' in response.content.decode()


def test_a_non_staff_user_gets_no_audit_page(trader_client):
    response = trader_client.get(AUDIT)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
