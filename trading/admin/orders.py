"""Orders and fills in the back office: read-only lists (an order's fills on its page), and the
operator's cancel of an open order with a reason, which frees the margin it held exactly as the
user's own cancel does."""

from django.contrib import admin

from trading.admin.actions import action_run
from trading.admin.base import ReadOnly, RefusesUnofferedActions
from trading.models import Fill, Order
from trading.services.interventions import order_cancel_by_operator
from trading.templatetags.figures import to_step, to_tick, usdt

CANCEL = "Cancel the order"


class FillInline(admin.TabularInline):
    model = Fill
    fields = [
        "id",
        "position",
        "price",
        "quantity",
        "fee",
        "realized_pnl",
        "liquidity",
        "created_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnly, RefusesUnofferedActions, admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "symbol",
        "order_type",
        "side",
        "margin_mode",
        "size",
        "limit_price",
        "stop",
        "reduce_only",
        "status",
        "filled",
        "average_price",
        "held",
        "created_at",
    ]
    list_filter = ["status", "order_type", "margin_mode", "instrument", "reduce_only"]
    list_select_related = ["user", "instrument"]
    search_fields = ["=id", "user__username", "client_order_id"]
    date_hierarchy = "created_at"
    inlines = [FillInline]
    actions = ["cancel_order"]

    def has_cancel_order_permission(self, request):
        return request.user.has_perm("trading.cancel_any_order")

    @admin.display(description="symbol", ordering="instrument__symbol")
    def symbol(self, order):
        return order.instrument.symbol

    @admin.display(description="quantity", ordering="quantity")
    def size(self, order):
        return to_step(order.quantity, order.instrument.step_size)

    @admin.display(description="price", ordering="price")
    def limit_price(self, order):
        return to_tick(order.price, order.instrument.tick_size)

    @admin.display(description="stop price", ordering="stop_price")
    def stop(self, order):
        return to_tick(order.stop_price, order.instrument.tick_size)

    @admin.display(description="filled", ordering="filled_quantity")
    def filled(self, order):
        return to_step(order.filled_quantity, order.instrument.step_size)

    @admin.display(description="avg. fill price", ordering="average_fill_price")
    def average_price(self, order):
        return to_tick(order.average_fill_price, order.instrument.tick_size)

    @admin.display(description="margin held (USDT)", ordering="margin_held")
    def held(self, order):
        return usdt(order.margin_held)

    @admin.action(description=f"{CANCEL}…", permissions=["cancel_order"])
    def cancel_order(self, request, queryset):
        """One order at a time, each with its reason (as the forced close of a position)."""

        def cancel(order, data):
            order_cancel_by_operator(
                operator=request.user, order_id=order.pk, reason=data["reason"]
            )
            return (
                f"Canceled {order.user}'s order {order.pk}; the margin it held "
                f"({usdt(order.margin_held)} USDT) is free again."
            )

        return action_run(
            self,
            request,
            queryset,
            title=CANCEL,
            action="cancel_order",
            run=cancel,
            one="Cancel one order at a time: select exactly one.",
        )


@admin.register(Fill)
class FillAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "id",
        "order_id",
        "user",
        "symbol",
        "margin_mode",
        "side",
        "price_shown",
        "size",
        "fee_shown",
        "pnl_shown",
        "liquidity",
        "created_at",
    ]
    list_filter = [
        "liquidity",
        "order__order_type",
        "position__margin_mode",
        "order__instrument",
    ]
    list_select_related = ["order__user", "order__instrument", "position"]
    search_fields = ["=order__id", "order__user__username"]
    date_hierarchy = "created_at"

    @admin.display(description="user", ordering="order__user__username")
    def user(self, fill):
        return fill.order.user

    @admin.display(description="symbol", ordering="order__instrument__symbol")
    def symbol(self, fill):
        return fill.order.instrument.symbol

    @admin.display(description="margin mode", ordering="position__margin_mode")
    def margin_mode(self, fill):
        return fill.position.get_margin_mode_display()

    @admin.display(description="side", ordering="order__side")
    def side(self, fill):
        return fill.order.get_side_display()

    @admin.display(description="price", ordering="price")
    def price_shown(self, fill):
        return to_tick(fill.price, fill.order.instrument.tick_size)

    @admin.display(description="quantity", ordering="quantity")
    def size(self, fill):
        return to_step(fill.quantity, fill.order.instrument.step_size)

    @admin.display(description="fee (USDT)", ordering="fee")
    def fee_shown(self, fill):
        return usdt(fill.fee)

    @admin.display(description="realized PnL (USDT)", ordering="realized_pnl")
    def pnl_shown(self, fill):
        return usdt(fill.realized_pnl)
