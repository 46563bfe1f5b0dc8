"""The back office's Prices page: per instrument the current mark, its source, whether it is held
and the running drill with its progress; the price feed's status above the list. Prices are never
edited in a form: the actions (permission ``trading.move_prices``) set a manual price, start a
drill and release the override, each through its service, which checks the input and writes the
audit log. Past drills are listed read-only on their own page."""

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from trading.admin.actions import ReasonForm, action_run
from trading.admin.base import ReadOnly, RefusesUnofferedActions
from trading.models import MarkPrice, PriceDrill
from trading.selectors.prices import drill_progress_at, feed_health, mark_prices_with_drills
from trading.services.drills import DRILL_SECONDS_MAX, price_drill_start
from trading.services.prices import mark_price_override, mark_price_override_release


class ManualPriceForm(ReasonForm):
    price = forms.CharField(
        max_length=40,
        help_text="USDT, at least one tick. It holds, whatever the feed, until released.",
    )
    field_order = ["price", "reason"]


class DrillForm(ReasonForm):
    move_percent = forms.CharField(
        label="Move (%)",
        max_length=20,
        help_text="Signed: -20 drops the mark 20 %, 15 lifts it 15 % (from -99 to +900).",
    )
    seconds = forms.CharField(
        max_length=10,
        help_text=f"To get there, 1 to {DRILL_SECONDS_MAX}; as many again to come back.",
    )
    field_order = ["move_percent", "seconds", "reason"]


ONE_INSTRUMENT = "Select exactly one instrument for this action."


@admin.register(MarkPrice)
class MarkPriceAdmin(ReadOnly, RefusesUnofferedActions, admin.ModelAdmin):
    list_display = ("symbol", "price_exact", "source", "held", "updated_at", "drill")
    list_filter = ("source", "held")
    fields = ("instrument", "price_exact", "source", "held", "funding_rate", "updated_at")
    readonly_fields = fields
    actions = ("set_manual_price", "start_drill", "release_override")
    change_list_template = "admin/trading/markprice/change_list.html"

    def get_queryset(self, request):
        return mark_prices_with_drills()

    def has_move_prices_permission(self, request):
        return request.user.has_perm("trading.move_prices")

    def changelist_view(self, request, extra_context=None):
        """The list, with the feed's status above it."""
        return super().changelist_view(request, {**(extra_context or {}), "feed": feed_health()})

    @admin.display(description="instrument", ordering="instrument__symbol")
    def symbol(self, mark):
        return mark.instrument.symbol

    @admin.display(description="mark (USDT)", ordering="price")
    def price_exact(self, mark):
        return format(mark.price.normalize(), "f")

    @admin.display(description="running drill")
    def drill(self, mark):
        running = mark.instrument.running_drills
        if not running:
            return "-"
        at = drill_progress_at(running[0], now=timezone.now())
        drill = at.drill
        return format_html(
            '<span class="drill-progress">{} % over {} s from {}: {} s in ({} %), {}; '
            "now {}</span>",
            format(drill.move_percent.normalize(), "+f"),
            drill.seconds,
            format(drill.start_price.normalize(), "f"),
            format(at.elapsed.quantize(1), "f"),
            format((at.progress * 100).quantize(1), "f"),
            "coming back" if at.returning else "on the way",
            format(at.price.normalize(), "f"),
        )

    @admin.action(description="Set a manual price", permissions=["move_prices"])
    def set_manual_price(self, request, queryset):
        def set_price(mark, data):
            mark = mark_price_override(
                operator=request.user,
                symbol=mark.instrument.symbol,
                price=data["price"],
                reason=data["reason"],
            )
            return (
                f"{mark.instrument.symbol}'s mark is {mark.price.normalize():f} (manual); it "
                "holds until released."
            )

        return action_run(
            self,
            request,
            queryset,
            title="Set a manual price",
            action="set_manual_price",
            run=set_price,
            form_class=ManualPriceForm,
            one=ONE_INSTRUMENT,
        )

    @admin.action(description="Start a drill", permissions=["move_prices"])
    def start_drill(self, request, queryset):
        def start(mark, data):
            drill = price_drill_start(
                operator=request.user,
                symbol=mark.instrument.symbol,
                move_percent=data["move_percent"],
                seconds=data["seconds"],
                reason=data["reason"],
            )
            return (
                f"Drill started on {mark.instrument.symbol}: {drill.move_percent.normalize():+f} "
                f"% over {drill.seconds} s from {drill.start_price.normalize():f}, and back."
            )

        return action_run(
            self,
            request,
            queryset,
            title="Start a drill",
            action="start_drill",
            run=start,
            form_class=DrillForm,
            one=ONE_INSTRUMENT,
        )

    @admin.action(description="Release the override", permissions=["move_prices"])
    def release_override(self, request, queryset):
        def release(mark, data):
            mark = mark_price_override_release(
                operator=request.user, symbol=mark.instrument.symbol, reason=data["reason"]
            )
            return (
                f"{mark.instrument.symbol} released at {mark.price.normalize():f}: the price "
                "feed moves it from its next tick."
            )

        return action_run(
            self,
            request,
            queryset,
            title="Release the override",
            action="release_override",
            run=release,
            one=ONE_INSTRUMENT,
        )


@admin.register(PriceDrill)
class PriceDrillAdmin(ReadOnly, admin.ModelAdmin):
    """Every drill, past and running, read-only: they are started from the Prices page."""

    list_display = ("instrument", "move_percent", "seconds", "start_price", "status",
                    "started_by", "started_at", "ended_at")  # fmt: skip
    list_filter = ("status", "instrument")
    list_select_related = ("instrument", "started_by")
    fields = list_display
    readonly_fields = list_display
