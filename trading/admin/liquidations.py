"""Liquidation events in the back office: read-only, listed with their loss and what the
insurance fund took or paid, and each page shows the receipt exactly as its user sees it (the
same selector, ``liquidation_receipt``, and the same template, trading/history/receipt.html)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html_join

from trading.admin.base import ReadOnly
from trading.models import LiquidationEvent
from trading.selectors.history import PositionDetail, liquidation_receipt
from trading.templatetags.figures import grouped, usdt


@admin.register(LiquidationEvent)
class LiquidationEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "margin_mode",
        "created_at",
        "symbols",
        "margin_balance_shown",
        "maintenance_margin_shown",
        "loss_shown",
        "insurance_fund_shown",
    ]
    list_filter = ["margin_mode"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    date_hierarchy = "created_at"
    fields = ["user", "margin_mode", "created_at", "positions_shown"]
    readonly_fields = fields

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["receipt"] = liquidation_receipt(user=obj.user, event_id=obj.pk)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="positions")
    def positions_shown(self, event):
        """Each liquidated position, linked to its page in the back office."""
        return format_html_join(
            ", ",
            '<a href="{}">{} {} {} (position {})</a>',
            (
                (
                    reverse("admin:trading_position_change", args=[position.pk]),
                    position.instrument.symbol,
                    position.get_margin_mode_display(),
                    position.side.lower(),
                    position.pk,
                )
                for position in event.positions.select_related("instrument").order_by("pk")
            ),
        )

    @admin.display(description="positions")
    def symbols(self, event):
        """From the receipt's own record of the positions (no query per row)."""
        details = (PositionDetail.from_row(row) for row in event.details)
        return ", ".join(f"{d.symbol} {d.side.lower()} {grouped(d.quantity)}" for d in details)

    @admin.display(description="margin balance (USDT)", ordering="margin_balance")
    def margin_balance_shown(self, event):
        return usdt(event.margin_balance)

    @admin.display(description="maintenance margin (USDT)", ordering="maintenance_margin")
    def maintenance_margin_shown(self, event):
        return usdt(event.maintenance_margin)

    @admin.display(description="loss (USDT)", ordering="loss")
    def loss_shown(self, event):
        return usdt(event.loss)

    @admin.display(description="insurance fund (USDT)", ordering="insurance_fund_change")
    def insurance_fund_shown(self, event):
        """+ the fund took, - the fund paid."""
        change = usdt(event.insurance_fund_change)
        return f"+{change}" if event.insurance_fund_change > 0 else change
