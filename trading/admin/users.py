"""The back office's Users page: each trader's paper account at a glance (wallet, equity, open
positions, cross margin ratio, computed by the engine for the whole page at once) and the
operator's actions on it: grant paper funds, reset the paper account, deactivate. Each action asks
for its input (an amount, a reason), calls one service, which checks it, writes the ledger and the
audit log, and refuses bad input with a message; nothing financial is edited in a form. Django's
user, password and group forms are audited too. (The models are the accounts app's, which holds
identity only; the back office that acts on them is here, with its other pages.)"""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import User
from trading.admin.actions import ReasonForm, action_run, field_checked
from trading.admin.base import InvalidFormsAnswer400, RefusesUnofferedActions
from trading.money import usdt
from trading.selectors.backoffice_users import user_figures
from trading.services.backoffice_users import admin_form_audit, user_deactivate
from trading.services.paper_accounts import paper_account_open
from trading.services.wallets import account_reset, deposit_amount_checked, wallet_grant
from trading.templatetags.figures import ratio
from trading.templatetags.figures import usdt as usdt_cents

ACCOUNT_FIGURES = ("wallet_balance", "equity", "open_positions", "cross_margin_ratio")
# What the user form's audit entries show (never the password, not even its hash).
AUDITED_FIELDS = ("username", "email", "first_name", "last_name", "is_active", "is_staff",
                  "is_superuser", "groups", "user_permissions")  # fmt: skip


def _audited(values: dict) -> dict:
    """The audited fields among ``values`` (a form's initial data, or a user's), as plain JSON:
    groups by name, permissions by codename, sorted."""
    plain = {}
    for name in AUDITED_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if hasattr(value, "all"):  # a user's related manager; the form's initial data is a list
            value = value.all()
        if name == "groups":
            value = sorted(group.name for group in value)
        elif name == "user_permissions":
            value = sorted(permission.codename for permission in value)
        plain[name] = value
    return plain


class GrantFundsForm(ReasonForm):
    amount = forms.CharField(label="Amount (USDT)", max_length=40)
    field_order = ["amount", "reason"]

    def clean_amount(self):
        return field_checked(deposit_amount_checked, self.cleaned_data["amount"])


@admin.register(User)
class MarginsiteUserAdmin(InvalidFormsAnswer400, RefusesUnofferedActions, UserAdmin):
    list_display = ("username", "email", "is_active", "is_staff", *ACCOUNT_FIGURES)
    search_fields = ("username", "email")
    readonly_fields = ACCOUNT_FIGURES
    fieldsets = (*UserAdmin.fieldsets, ("Paper account", {"fields": ACCOUNT_FIGURES}))
    actions = ["grant_funds", "reset_account", "deactivate"]

    def save_model(self, request, obj, form, change):
        """A user added here gets preferences and a funded wallet, like one who signs up."""
        super().save_model(request, obj, form, change)
        if not change:
            paper_account_open(user=obj)

    def save_related(self, request, form, formsets, change):
        """The form saved (the user's groups and permissions too): its audit entry, in the admin's
        transaction. A new user's is USER_CREATED; a change is USER_CHANGED, fields that moved."""
        super().save_related(request, form, formsets, change)
        user = form.instance
        before = _audited(form.initial) if change else None
        shown = before if change else AUDITED_FIELDS  # a change: the fields its form had
        after = _audited({name: getattr(user, name) for name in shown})
        admin_form_audit(operator=request.user, target=user, before=before, after=after)

    def user_change_password(self, request, id, form_url=""):
        """Django's password page, audited in its transaction: the entry says that the password
        changed, never what it is. A mistyped form answers 400."""
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 200:
                response.status_code = 400  # the form again, with its errors: nothing changed
            if request.method == "POST" and response.status_code == 302:
                admin_form_audit(
                    operator=request.user,
                    target=self.get_object(request, unquote(id)),
                    before={"password": "(the previous one)"},
                    after={"password": "(changed)"},
                )
        return response

    def has_delete_permission(self, request, obj=None):
        """Never: a user's ledger entries are the record of their money (and protect the row);
        an operator deactivates instead."""
        return False

    def has_grant_funds_permission(self, request):
        return request.user.has_perm("trading.grant_funds")

    def has_reset_account_permission(self, request):
        return request.user.has_perm("trading.reset_account")

    # --- the account figures: one engine computation per user, a fixed number of queries per page

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        users = list(changelist.result_list)  # evaluated once: the page renders these objects
        figures = user_figures(user_ids=[user.pk for user in users])
        for user in users:
            user.account_figures = figures[user.pk]
        return changelist

    def _figures(self, user):
        if not hasattr(user, "account_figures"):
            user.account_figures = user_figures(user_ids=[user.pk])[user.pk]
        return user.account_figures

    @admin.display(description="wallet (USDT)", ordering="wallet__balance")
    def wallet_balance(self, user):
        return usdt_cents(self._figures(user).wallet_balance)

    @admin.display(description="equity (USDT)")
    def equity(self, user):
        return usdt_cents(self._figures(user).equity)

    @admin.display(description="open positions")
    def open_positions(self, user):
        return self._figures(user).open_positions

    @admin.display(description="cross margin ratio")
    def cross_margin_ratio(self, user):
        return ratio(self._figures(user).cross_margin_ratio)

    # --- actions ---------------------------------------------------------------------------

    @admin.action(description="Grant paper funds", permissions=["grant_funds"])
    def grant_funds(self, request, queryset):
        def grant(user, data):
            entry = wallet_grant(
                operator=request.user, user=user, amount=data["amount"], reason=data["reason"]
            )
            return f"Granted {usdt(entry.amount)} USDT to {user.get_username()}."

        return action_run(
            self,
            request,
            queryset,
            title="Grant paper funds",
            action="grant_funds",
            run=grant,
            form_class=GrantFundsForm,
        )

    @admin.action(description="Reset the paper account", permissions=["reset_account"])
    def reset_account(self, request, queryset):
        def reset(user, data):
            wallet = account_reset(operator=request.user, user=user, reason=data["reason"])
            return f"Reset {user.get_username()}'s paper account to {usdt(wallet.balance)} USDT."

        return action_run(
            self,
            request,
            queryset,
            title="Reset the paper account",
            action="reset_account",
            run=reset,
        )

    @admin.action(description="Deactivate", permissions=["change"])
    def deactivate(self, request, queryset):
        def deactivate(user, data):
            user_deactivate(operator=request.user, user=user, reason=data["reason"])
            return f"Deactivated {user.get_username()}: they can no longer sign in or use a key."

        return action_run(
            self, request, queryset, title="Deactivate", action="deactivate", run=deactivate
        )


admin.site.unregister(Group)


@admin.register(Group)
class AuditedGroupAdmin(InvalidFormsAnswer400, GroupAdmin):
    """Django's group page, audited: a group's permissions are what its members may do here.
    (The "support" group's are set again by every migrate: exactly the view permissions.)"""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        group = form.instance
        before = None
        if change:
            before = {
                "name": form.initial.get("name"),
                "permissions": sorted(p.codename for p in form.initial.get("permissions", [])),
            }
        after = {
            "name": group.name,
            "permissions": sorted(p.codename for p in group.permissions.all()),
        }
        admin_form_audit(operator=request.user, target=group, before=before, after=after)
