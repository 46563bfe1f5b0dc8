"""Positions in the back office: every position with the live figures its user sees (mark, uPnL,
margin ratio, liquidation price on the tick, on the safe side), filters by mode, symbol, status
and "at risk", and the forced close at market with a reason. Nothing here is editable: a
position changes only through orders, liquidations and the services behind the actions."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

from trading.admin.actions import action_run
from trading.admin.base import ReadOnly, RefusesUnofferedActions
from trading.models import Position
from trading.selectors.backoffice_positions import (
    AT_RISK_RATIO,
    at_risk_position_ids,
    position_rows_live,
)
from trading.services.interventions import position_force_close
from trading.templatetags.figures import ratio, to_step, to_tick, usdt

FORCE_CLOSE = "Force-close at market"


class AtRiskFilter(admin.SimpleListFilter):
    """Open positions whose margin ratio is at or past 80 % (an isolated position's own ratio,
    a cross position's account ratio), valued now by the engine."""

    title = "risk"
    parameter_name = "risk"

    def lookups(self, request, model_admin):
        return [("at_risk", f"At risk (margin ratio ≥ {AT_RISK_RATIO:.0%})")]

    def queryset(self, request, queryset):
        if self.value() == "at_risk":
            return queryset.filter(pk__in=at_risk_position_ids())
        return queryset


class PositionChangeList(ChangeList):
    """Values the page's open positions in one go (a fixed number of queries for the page),
    leaving each its row of live figures as ``live`` (None: closed, no live figures)."""

    def get_results(self, request):
        super().get_results(request)
        _live_attached(self.result_list)


def _live_attached(positions) -> None:
    rows = position_rows_live(positions)
    for position in positions:
        position.live = rows.get(position.pk)


@admin.register(Position)
class PositionAdmin(ReadOnly, RefusesUnofferedActions, admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "symbol",
        "margin_mode",
        "side",
        "size",
        "entry",
        "mark",
        "unrealized_pnl",
        "margin",
        "margin_ratio",
        "liquidation_price",
        "status",
        "opened_at",
    ]
    list_filter = ["margin_mode", "instrument", AtRiskFilter, "status"]
    list_select_related = ["user", "instrument"]
    search_fields = ["user__username", "instrument__symbol"]
    date_hierarchy = "opened_at"
    actions = ["force_close"]
    fieldsets = [
        (None, {"fields": ["user", "instrument", "margin_mode", "side", "status"]}),
        (
            "Size and margin",
            {"fields": ["quantity", "entry_price", "leverage", "isolated_margin", "realized_pnl"]},
        ),
        (
            "Live figures (at the current mark)",
            {"fields": ["mark", "unrealized_pnl", "margin", "margin_ratio", "liquidation_price"]},
        ),
        ("Times", {"fields": ["opened_at", "updated_at", "closed_at", "watch_price"]}),
    ]
    readonly_fields = ["mark", "unrealized_pnl", "margin", "margin_ratio", "liquidation_price"]

    def has_force_close_permission(self, request):
        return request.user.has_perm("trading.force_close_position")

    def get_changelist(self, request, **kwargs):
        return PositionChangeList

    def get_object(self, request, object_id, from_field=None):
        position = super().get_object(request, object_id, from_field)
        if position is not None:
            _live_attached([position])
        return position

    @admin.display(description="symbol", ordering="instrument__symbol")
    def symbol(self, position):
        return position.instrument.symbol

    @admin.display(description="size", ordering="quantity")
    def size(self, position):
        return to_step(position.quantity, position.instrument.step_size)

    @admin.display(description="entry", ordering="entry_price")
    def entry(self, position):
        return to_tick(position.entry_price, position.instrument.tick_size)

    @admin.display(description="mark")
    def mark(self, position):
        return to_tick(position.live and position.live.mark_price, position.instrument.tick_size)

    @admin.display(description="uPnL (USDT)")
    def unrealized_pnl(self, position):
        return usdt(position.live and position.live.figures.unrealized_pnl)

    @admin.display(description="margin (USDT)")
    def margin(self, position):
        return usdt(position.live and position.live.figures.margin)

    @admin.display(description="margin ratio")
    def margin_ratio(self, position):
        if position.live is None:
            return "—"
        return ratio(position.live.figures.margin_ratio)

    @admin.display(description="liq. price")
    def liquidation_price(self, position):
        return to_tick(
            position.live and position.live.liquidation_price_display,
            position.instrument.tick_size,
        )

    @admin.action(description=f"{FORCE_CLOSE}…", permissions=["force_close"])
    def force_close(self, request, queryset):
        """One position at a time: a forced close realizes the user's loss or profit, so each
        is decided, and explained, on its own."""

        def close(position, data):
            order = position_force_close(
                operator=request.user, position_id=position.pk, reason=data["reason"]
            )
            return (
                f"Closed {position.user}'s {position.instrument.symbol} "
                f"{position.get_margin_mode_display()} {position.side.lower()} at market, at "
                f"{to_tick(order.average_fill_price, position.instrument.tick_size)} (order "
                f"{order.pk})."
            )

        return action_run(
            self,
            request,
            queryset,
            title=FORCE_CLOSE,
            action="force_close",
            run=close,
            one="Force-close one position at a time: select exactly one.",
        )
