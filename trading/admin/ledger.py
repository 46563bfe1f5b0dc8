"""The back office's Ledger page: every entry, read-only (entries are never changed or deleted),
filtered by kind, user and date, exported as CSV exactly as filtered, with ``check_ledger``'s
verdict above the list: "the books balance", or each broken invariant."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.urls import path

from trading.admin.base import ReadOnly, RefusesUnofferedActions
from trading.csv_download import csv_download
from trading.models import LedgerAccount, LedgerEntry
from trading.selectors import ledger_problems
from trading.selectors.history import SYSTEM_ACCOUNT_NAMES

CSV_COLUMNS = [
    "id",
    "time_utc",
    "kind",
    "user",
    "amount_usdt",
    "from",
    "to",
    "position",
    "order",
    "memo",
]
CSV_CHUNK = 500


def account_name(account: LedgerAccount) -> str:
    """A ledger account in words: "wallet of alice", "isolated margin of position 7 (BTCUSDT)",
    or the system account's name."""
    if account.kind == LedgerAccount.Kind.WALLET:
        return f"wallet of {account.user.get_username()}"
    if account.kind == LedgerAccount.Kind.ISOLATED_MARGIN:
        return (
            f"isolated margin of position {account.position_id} "
            f"({account.position.instrument.symbol})"
        )
    return SYSTEM_ACCOUNT_NAMES[account.kind]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnly, RefusesUnofferedActions, admin.ModelAdmin):
    list_display = ("id", "created_at", "kind", "user", "amount_exact", "source_name",
                    "destination_name", "position_id", "order_id", "memo")  # fmt: skip
    list_filter = ("kind", ("user", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "created_at"
    search_fields = ("user__username",)
    ordering = ("-pk",)
    list_select_related = (
        "user",
        "source__user",
        "source__position__instrument",
        "destination__user",
        "destination__position__instrument",
    )
    fields = ("created_at", "kind", "user", "amount_exact", "source_name", "destination_name",
              "position_id", "order_id", "memo")  # fmt: skip
    readonly_fields = fields
    change_list_template = "admin/trading/ledgerentry/change_list.html"

    @admin.display(description="amount (USDT)", ordering="amount")
    def amount_exact(self, entry):
        return format(entry.amount, "f")

    @admin.display(description="from")
    def source_name(self, entry):
        return account_name(entry.source)

    @admin.display(description="to")
    def destination_name(self, entry):
        return account_name(entry.destination)

    def get_urls(self):
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.csv_export),
            name="trading_ledgerentry_export",
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        """The list, with check_ledger's result on it."""
        return super().changelist_view(
            request, {**(extra_context or {}), "ledger_problems": ledger_problems()}
        )

    def csv_export(self, request):
        """The rows the list shows with the same filters, search and order (every page of them),
        as CSV: streamed in chunks, amounts as the stored decimals, never floats."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            entries = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter in the query string.")
        rows = (
            [
                entry.pk,
                entry.created_at.isoformat(),
                entry.kind,
                entry.user.get_username() if entry.user_id else "",
                format(entry.amount, "f"),
                account_name(entry.source),
                account_name(entry.destination),
                entry.position_id or "",
                entry.order_id or "",
                entry.memo,
            ]
            for entry in entries.iterator(chunk_size=CSV_CHUNK)
        )
        return csv_download(CSV_COLUMNS, rows, filename="ledger.csv")
