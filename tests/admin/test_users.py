"""The back office's Users page: each account's figures (computed by the engine, a fixed number
of queries per page), search, and the operator's actions (grant paper funds, reset the paper
account, deactivate), each written to the ledger and the audit log; every refusal changes
nothing; support may look but not act; non-staff get no admin page."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.services import SUPPORT_GROUP, api_key_create
from tests.builders import last_ledger_pk, ledger_rows, wallet_balance
from tests.clients import BinanceClient, SignedClient
from trading.errors import NoWallet
from trading.models import AuditEntry, LedgerAccount, LedgerEntry
from trading.selectors import account_summary
from trading.services import mark_price_set, order_place, wallet_deposit
from trading.services.backoffice_users import user_deactivate
from trading.services.wallets import account_reset, wallet_grant
from trading.templatetags.figures import ratio, usdt

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"


def act(client, action: str, users, **data):
    """The action's second step: the operator submitted its form ("apply")."""
    selected = [user.pk for user in users]
    return client.post(
        USERS, {"action": action, "_selected_action": selected, "apply": "Apply", **data}
    )


def row_of(content: str, username: str) -> str:
    """The changelist row of ``username`` (from its link to the end of its <tr>)."""
    start = content.index(f">{username}</a>")
    return content[start : content.index("</tr>", start)]


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_each_accounts_figures_as_the_engine_computes_them(
    operator_client, trader, make_trader
):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")
    order_place(user=trader, symbol="ETHUSDT", side="SELL", quantity="1", margin_mode="ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="57000")
    make_trader("bob")

    response = operator_client.get(USERS)

    assert response.status_code == 200
    summary = account_summary(user=trader)
    alice = row_of(response.content.decode(), "alice")
    assert f'<td class="field-wallet_balance">{usdt(summary.wallet_balance)}</td>' in alice
    assert f'<td class="field-equity">{usdt(summary.equity)}</td>' in alice
    assert '<td class="field-open_positions">2</td>' in alice
    assert summary.cross_margin_ratio > 0
    assert f'<td class="field-cross_margin_ratio">{ratio(summary.cross_margin_ratio)}</td>' in alice
    bob = row_of(response.content.decode(), "bob")
    assert '<td class="field-wallet_balance">10,000.00</td>' in bob
    assert '<td class="field-equity">10,000.00</td>' in bob
    assert '<td class="field-open_positions">0</td>' in bob
    assert '<td class="field-cross_margin_ratio">0.00 %</td>' in bob


def test_the_list_costs_the_same_queries_for_two_users_or_ten(operator_client, make_trader):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(USERS).status_code == 200
        return len(captured)

    first = make_trader()
    order_place(user=first, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")
    few = queries()
    for _ in range(9):
        user = make_trader()
        order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")
        order_place(user=user, symbol="SOLUSDT", side="SELL", quantity="1", margin_mode="ISOLATED")
        order_place(
            user=user, symbol="ETHUSDT", side="BUY", quantity="1", order_type="LIMIT", price="2000"
        )

    assert queries() == few


def test_the_list_is_searched_by_username_and_email(operator_client, make_trader):
    make_trader("carol")
    dave = make_trader("dave")
    dave.email = "dave@school.example"
    dave.save(update_fields=["email"])

    by_name = operator_client.get(USERS, {"q": "carol"}).content.decode()
    by_email = operator_client.get(USERS, {"q": "school.example"}).content.decode()

    assert ">carol</a>" in by_name
    assert ">dave</a>" not in by_name
    assert ">dave</a>" in by_email
    assert ">carol</a>" not in by_email


def test_the_change_page_shows_the_account_figures_read_only(operator_client, trader):
    response = operator_client.get(f"{USERS}{trader.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Paper account" in content
    assert '<div class="readonly">10,000.00</div>' in content
    assert 'name="wallet_balance"' not in content
    assert 'name="equity"' not in content


def test_no_one_deletes_a_user_whose_ledger_is_the_record_of_their_money(
    operator_client, trader, unchanged
):
    with unchanged():
        response = operator_client.post(f"{USERS}{trader.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=trader.pk).exists()


# --- grant paper funds -------------------------------------------------------------------------


def test_the_grant_asks_for_an_amount_and_a_reason_first(operator_client, trader, unchanged):
    with unchanged():
        response = operator_client.post(
            USERS, {"action": "grant_funds", "_selected_action": [trader.pk], "index": "0"}
        )

    assert response.status_code == 200
    assert 'name="amount"' in response.content.decode()
    assert 'name="reason"' in response.content.decode()


def test_the_operator_grants_paper_funds_with_a_ledger_deposit_and_an_audit_entry(
    operator_client, operator, trader, balanced_ledger
):
    response = act(operator_client, "grant_funds", [trader], amount="250.5", reason="contest prize")

    assert response.status_code == 302
    assert wallet_balance(trader) == Decimal("10250.5")
    entry = LedgerEntry.objects.select_related("source", "destination").latest("pk")
    assert (entry.kind, entry.amount, entry.user, entry.memo) == (
        "DEPOSIT",
        Decimal("250.5"),
        trader,
        "paper funds granted: contest prize",
    )
    assert entry.source.kind == LedgerAccount.Kind.DEPOSITS
    assert (entry.destination.kind, entry.destination.user) == ("WALLET", trader)
    audit = AuditEntry.objects.get()
    assert (audit.actor, audit.action, audit.target_type, audit.target_id) == (
        operator,
        "FUNDS_GRANTED",
        "accounts.User",
        str(trader.pk),
    )
    assert audit.before == {"balance": "10000.00000000"}
    assert audit.after == {"balance": "10250.50000000", "granted": "250.5"}
    assert audit.reason == "contest prize"
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Granted 250.5 USDT to alice."]


def test_a_grant_to_several_users_gives_each_the_amount(
    operator_client, trader, make_trader, balanced_ledger
):
    bob = make_trader("bob")

    response = act(operator_client, "grant_funds", [trader, bob], amount="100", reason="term start")

    assert response.status_code == 302
    assert (wallet_balance(trader), wallet_balance(bob)) == (Decimal("10100"), Decimal("10100"))
    assert AuditEntry.objects.filter(action="FUNDS_GRANTED").count() == 2


@pytest.mark.parametrize(
    "amount",
    ["0", "-1", "abc", "NaN", "Infinity", "1e30", "", "0.000000001", "\uff11\uff10"],
)
def test_a_grant_of_a_bad_amount_is_refused_and_changes_nothing(
    operator_client, trader, unchanged, amount
):
    with unchanged():
        response = act(operator_client, "grant_funds", [trader], amount=amount, reason="prize")

    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301, "line\nbreak"])
def test_a_grant_without_a_proper_reason_is_refused_and_changes_nothing(
    operator_client, trader, unchanged, reason
):
    with unchanged():
        response = act(operator_client, "grant_funds", [trader], amount="100", reason=reason)

    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_a_long_reason_is_cut_in_the_memo_and_kept_whole_in_the_audit_log(operator, trader):
    reason = "r" * 300

    entry = wallet_grant(operator=operator, user=trader, amount="1", reason=reason)

    assert entry.memo == ("paper funds granted: " + reason)[:200]
    assert AuditEntry.objects.get().reason == reason


def test_the_grant_service_refuses_a_float(operator, trader, unchanged):
    from trading.errors import InvalidAmount

    with unchanged(), pytest.raises(InvalidAmount):
        wallet_grant(operator=operator, user=trader, amount=0.1, reason="prize")
    assert not AuditEntry.objects.exists()


# --- reset the paper account -------------------------------------------------------------------


def test_the_operator_resets_a_paper_account_with_reset_entries_and_an_audit_entry(
    operator_client, operator, trader, balanced_ledger
):
    wallet_deposit(user=trader, amount="500.25")
    last = last_ledger_pk()

    response = act(operator_client, "reset_account", [trader], reason="new term")

    assert response.status_code == 302
    assert wallet_balance(trader) == Decimal("10000")
    rows = ledger_rows("memo", after=last)
    memo = "paper account reset by the operator"
    assert rows == [
        ("RESET", Decimal("10500.25"), "WALLET", "DEPOSITS", memo),
        ("RESET", Decimal("10000"), "DEPOSITS", "WALLET", memo),
    ]
    audit = AuditEntry.objects.get()
    assert (audit.actor, audit.action, audit.target_id, audit.reason) == (
        operator,
        "ACCOUNT_RESET",
        str(trader.pk),
        "new term",
    )
    assert audit.before == {"balance": "10500.25000000"}
    assert audit.after == {"balance": "10000.00000000"}


def test_a_reset_is_refused_while_a_position_is_open(operator_client, trader, unchanged):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    with unchanged():
        response = act(operator_client, "reset_account", [trader], reason="new term")

    assert response.status_code == 409
    assert (
        "Cannot reset alice&#x27;s paper account while a position is open: force-close it"
        in response.content.decode()
    )
    assert not AuditEntry.objects.exists()


def test_a_reset_is_refused_while_an_order_is_open(operator_client, trader, unchanged):
    order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT", price="50000"
    )

    with unchanged():
        response = act(operator_client, "reset_account", [trader], reason="new term")

    assert response.status_code == 409
    assert (
        "Cannot reset alice&#x27;s paper account while an order is open: cancel it"
        in response.content.decode()
    )
    assert not AuditEntry.objects.exists()


def test_a_reset_without_a_reason_is_refused(operator_client, trader, unchanged):
    with unchanged():
        response = act(operator_client, "reset_account", [trader], reason="")

    assert response.status_code == 400
    assert not AuditEntry.objects.exists()


def test_a_reset_of_several_users_stops_at_the_first_refusal_and_says_what_was_done(
    operator_client, trader, make_trader
):
    bob = make_trader("bob")  # created after alice: handled after her
    wallet_deposit(user=trader, amount="1")
    order_place(user=bob, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    response = act(operator_client, "reset_account", [trader, bob], reason="new term")

    assert response.status_code == 409
    content = response.content.decode()
    assert "Reset alice&#x27;s paper account to 10,000 USDT." in content
    assert "Cannot reset bob&#x27;s paper account" in content
    assert wallet_balance(trader) == Decimal("10000")
    assert [entry.target_id for entry in AuditEntry.objects.all()] == [str(trader.pk)]


def test_the_reset_service_refuses_without_a_reason(operator, trader, unchanged):
    from marginsite.errors import InvalidInput

    with unchanged(), pytest.raises(InvalidInput):
        account_reset(operator=operator, user=trader, reason=None)


# --- deactivate --------------------------------------------------------------------------------


def test_the_operator_deactivates_a_user_with_an_audit_entry(operator_client, operator, trader):
    response = act(operator_client, "deactivate", [trader], reason="left the school")

    assert response.status_code == 302
    trader.refresh_from_db()
    assert trader.is_active is False
    audit = AuditEntry.objects.get()
    assert (audit.actor, audit.action, audit.target_type, audit.target_id, audit.reason) == (
        operator,
        "USER_DEACTIVATED",
        "accounts.User",
        str(trader.pk),
        "left the school",
    )
    assert (audit.before, audit.after) == ({"is_active": True}, {"is_active": False})


def test_a_deactivated_user_loses_the_site_the_api_and_the_binance_facade(
    operator, trader, trader_client
):
    native_key = api_key_create(user=trader, name="bot", permission="TRADING")
    native = SignedClient(native_key.api_key.key, native_key.secret)
    binance_key = api_key_create(user=trader, name="ccxt", permission="TRADING")
    binance = BinanceClient(binance_key.api_key.key, binance_key.secret)
    assert trader_client.get("/settings/").status_code == 200
    assert native.get("/api/v1/account").status_code == 200
    assert binance.get("/fapi/v2/balance").status_code == 200

    user_deactivate(operator=operator, user=trader, reason="left the school")

    site = trader_client.get("/settings/")
    assert site.status_code == 302
    assert site["Location"].startswith("/login/")
    assert trader_client.get("/api/v1/account").status_code in (401, 403)
    assert native.get("/api/v1/account").status_code == 401
    assert binance.get("/fapi/v2/balance").status_code == 401
    assert not Client().login(username="alice", password="pw-0123456789")


def test_an_operator_cannot_deactivate_themselves(operator_client, operator, unchanged):
    with unchanged():
        response = act(operator_client, "deactivate", [operator], reason="oops")

    assert response.status_code == 403
    assert "You cannot deactivate yourself." in response.content.decode()
    operator.refresh_from_db()
    assert operator.is_active is True
    assert not AuditEntry.objects.exists()


def test_a_staff_member_who_is_not_a_superuser_cannot_deactivate_one(
    make_trader, operator, unchanged
):
    clerk = make_trader("clerk")
    clerk.is_staff = True
    clerk.save(update_fields=["is_staff"])
    clerk.user_permissions.add(Permission.objects.get(codename="change_user"))
    client = Client()
    client.force_login(clerk)

    with unchanged():
        response = act(client, "deactivate", [operator], reason="coup")

    assert response.status_code == 403
    assert "Only a superuser may deactivate the superuser operator." in response.content.decode()
    operator.refresh_from_db()
    assert operator.is_active is True
    assert not AuditEntry.objects.exists()


def test_deactivating_an_inactive_user_is_refused(operator_client, operator, trader):
    user_deactivate(operator=operator, user=trader, reason="left the school")

    response = act(operator_client, "deactivate", [trader], reason="again")

    assert response.status_code == 409
    assert "The user alice is already inactive." in response.content.decode()
    assert AuditEntry.objects.count() == 1


def test_a_deactivation_without_a_reason_is_refused(operator_client, trader, unchanged):
    with unchanged():
        response = act(operator_client, "deactivate", [trader], reason=" ")

    assert response.status_code == 400
    trader.refresh_from_db()
    assert trader.is_active is True


# --- who may ---------------------------------------------------------------------------------


def test_support_sees_the_users_but_is_offered_no_action(support_client, trader):
    response = support_client.get(USERS)

    assert response.status_code == 200
    content = response.content.decode()
    assert ">alice</a>" in content
    for action in ("grant_funds", "reset_account", "deactivate", "delete_selected"):
        assert f'value="{action}"' not in content


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("grant_funds", {"amount": "100", "reason": "prize"}),
        ("reset_account", {"reason": "new term"}),
        ("deactivate", {"reason": "left"}),
    ],
)
def test_support_forging_an_action_is_refused_and_changes_nothing(
    support_client, trader, unchanged, action, data
):
    wallet_deposit(user=trader, amount="1")

    with unchanged():
        response = act(support_client, action, [trader], **data)

    assert response.status_code == 403
    trader.refresh_from_db()
    assert trader.is_active is True
    assert not AuditEntry.objects.exists()


def test_a_non_staff_user_gets_no_admin_page(trader_client, trader, unchanged):
    with unchanged():
        page = trader_client.get(USERS)
        forged = act(trader_client, "grant_funds", [trader], amount="100", reason="me")

    for response in (page, forged):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert not AuditEntry.objects.exists()


# --- the user form's own audit entries --------------------------------------------------------


def change_form_data(client, user, **changes) -> dict:
    """What the change form posts when saved as shown, with ``changes``."""
    form = client.get(f"{USERS}{user.pk}/change/").context["adminform"].form
    joined = user.date_joined
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "groups": [group.pk for group in form.initial["groups"]],
        "user_permissions": [permission.pk for permission in form.initial["user_permissions"]],
        **({"is_active": "on"} if user.is_active else {}),
        **({"is_staff": "on"} if user.is_staff else {}),
        **({"is_superuser": "on"} if user.is_superuser else {}),
        "_save": "Save",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_a_user_added_in_the_admin_is_recorded_in_the_audit_log(operator_client, operator):
    response = operator_client.post(
        f"{USERS}add/",
        {
            "username": "gina",
            "password1": "a-long-passphrase-8",
            "password2": "a-long-passphrase-8",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    gina = User.objects.get(username="gina")
    audit = AuditEntry.objects.get()
    assert (audit.actor, audit.action, audit.target_id, audit.before) == (
        operator,
        "USER_CREATED",
        str(gina.pk),
        None,
    )
    assert audit.after == {
        "username": "gina",
        "email": "",
        "first_name": "",
        "last_name": "",
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "groups": [],
        "user_permissions": [],
    }


def test_a_user_changed_in_the_form_is_recorded_with_just_what_changed(
    operator_client, operator, trader
):
    support_group = Group.objects.get(name=SUPPORT_GROUP)
    data = change_form_data(
        operator_client, trader, is_staff="on", groups=[support_group.pk], email="a@school.example"
    )

    response = operator_client.post(f"{USERS}{trader.pk}/change/", data)

    assert response.status_code == 302, response.content[:2000]
    audit = AuditEntry.objects.get()
    assert (audit.actor, audit.action, audit.target_id) == (
        operator,
        "USER_CHANGED",
        str(trader.pk),
    )
    assert audit.before == {"email": "", "is_staff": False, "groups": []}
    assert audit.after == {"email": "a@school.example", "is_staff": True, "groups": ["support"]}


def test_a_user_form_saved_unchanged_writes_no_audit_entry(operator_client, trader):
    response = operator_client.post(
        f"{USERS}{trader.pk}/change/", change_form_data(operator_client, trader)
    )

    assert response.status_code == 302
    assert not AuditEntry.objects.exists()


def test_a_password_set_by_the_operator_is_audited_without_the_password(operator_client, trader):
    response = operator_client.post(
        f"{USERS}{trader.pk}/password/",
        {"password1": "another-long-phrase-9", "password2": "another-long-phrase-9"},
    )

    assert response.status_code == 302
    trader.refresh_from_db()
    assert trader.check_password("another-long-phrase-9")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.USER_CHANGED)
    assert (entry.actor_username, entry.target_id) == ("operator", str(trader.pk))
    assert (entry.before, entry.after) == (
        {"password": "(the previous one)"},
        {"password": "(changed)"},
    )
    assert "another-long-phrase-9" not in str(entry.after)
    assert trader.password not in str(entry.after)


def test_a_mistyped_password_changes_nothing_and_records_nothing(operator_client, trader):
    response = operator_client.post(
        f"{USERS}{trader.pk}/password/",
        {"password1": "another-long-phrase-9", "password2": "a-different-phrase-9"},
    )

    assert response.status_code == 400  # the form again, with its error
    trader.refresh_from_db()
    assert trader.check_password("pw-0123456789")
    assert not AuditEntry.objects.exists()


def test_support_may_not_set_a_password(support_client, trader):
    response = support_client.post(
        f"{USERS}{trader.pk}/password/",
        {"password1": "another-long-phrase-9", "password2": "another-long-phrase-9"},
    )

    assert response.status_code == 403
    trader.refresh_from_db()
    assert trader.check_password("pw-0123456789")


def test_a_user_form_with_errors_answers_400_and_changes_nothing(operator_client, trader):
    response = operator_client.post(f"{USERS}{trader.pk}/change/", {"username": ""})

    assert response.status_code == 400
    trader.refresh_from_db()
    assert trader.username == "alice"
    assert not AuditEntry.objects.exists()


def test_a_user_without_a_paper_account_is_refused_a_grant_with_a_message(operator, unchanged):
    console_made = User.objects.create_superuser(username="root", password="x-long-pass-1")

    with unchanged(), pytest.raises(NoWallet, match="has no paper account"):
        wallet_grant(operator=operator, user=console_made, amount="100", reason="welcome")
    with unchanged(), pytest.raises(NoWallet):
        account_reset(operator=operator, user=console_made, reason="fresh start")
    assert not AuditEntry.objects.exists()


def test_a_grant_page_sent_twice_grants_once(operator_client, trader):
    page = operator_client.post(
        USERS, {"action": "grant_funds", "_selected_action": [trader.pk], "index": "0"}
    ).content.decode()
    token = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    form = {"action": "grant_funds", "_selected_action": [trader.pk], "apply": "Grant",
            "amount": "100", "reason": "prize", "submission": token}  # fmt: skip

    first = operator_client.post(USERS, form)
    second = operator_client.post(USERS, form)

    assert (first.status_code, second.status_code) == (302, 409)
    assert "already submitted" in second.content.decode()
    assert wallet_balance(trader) == Decimal("10100")
    assert AuditEntry.objects.filter(action="FUNDS_GRANTED").count() == 1


def test_a_group_created_and_changed_in_the_admin_is_audited(operator_client, operator):
    view = Permission.objects.get(codename="view_position")
    grant = Permission.objects.get(codename="grant_funds")

    created = operator_client.post(
        "/admin/auth/group/add/", {"name": "teachers", "permissions": [view.pk]}
    )
    group = Group.objects.get(name="teachers")
    changed = operator_client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": "teachers", "permissions": [view.pk, grant.pk]},
    )

    assert (created.status_code, changed.status_code) == (302, 302)
    first, second = AuditEntry.objects.order_by("pk")
    assert (first.action, first.actor, first.target_label) == (
        "GROUP_CREATED",
        operator,
        "teachers",
    )
    assert first.after == {"name": "teachers", "permissions": ["view_position"]}
    assert second.action == "GROUP_CHANGED"
    assert (second.before, second.after) == (
        {"permissions": ["view_position"]},
        {"permissions": ["grant_funds", "view_position"]},
    )


def test_support_may_not_change_a_group(support_client):
    group = Group.objects.get(name=SUPPORT_GROUP)
    grant = Permission.objects.get(codename="grant_funds")

    response = support_client.post(
        f"/admin/auth/group/{group.pk}/change/", {"name": SUPPORT_GROUP, "permissions": [grant.pk]}
    )

    assert response.status_code == 403
    assert not group.permissions.filter(codename="grant_funds").exists()
    assert not AuditEntry.objects.exists()
