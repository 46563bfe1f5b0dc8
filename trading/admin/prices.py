"""The back office's Prices page: per instrument the current mark, its source, whether it is held
and the running drill with its progress; the price feed's status above the list. Prices are never
edited in a form: the actions (permission ``trading.move_prices``) set a manual price, start a
drill and release the override, each through its service, which checks the input and writes the
audit log. Past drills are listed read-only on their own page."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from marginsite.errors import ApplicationError, InvalidInput
from trading.admin.actions import ReasonForm, action_form, action_refused
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


def _one_mark(modeladmin, request, queryset, *, title, action):
    """The one mark the action is for, or (None, the refusal page): a price or a drill is given
    per instrument."""
    if queryset.count() == 1:
        return queryset.get(), None
    refusal = InvalidInput("Select exactly one instrument for this action.")
    return None, action_refused(modeladmin, request, queryset, refusal, title=title, action=action)


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
        title, action = "Set a manual price", "set_manual_price"
        mark, refused = _one_mark(self, request, queryset, title=title, action=action)
        if refused:
            return refused
        form, page = action_form(
            self, request, queryset, form_class=ManualPriceForm, title=title, action=action
        )
        if page:
            return page
        try:
            mark = mark_price_override(
                operator=request.user,
                symbol=mark.instrument.symbol,
                price=form.cleaned_data["price"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as refusal:
            return action_refused(self, request, queryset, refusal, title=title, action=action)
        self.message_user(
            request,
            f"{mark.instrument.symbol}'s mark is {mark.price.normalize():f} (manual); it holds "
            "until released.",
            messages.SUCCESS,
        )
        return None

    @admin.action(description="Start a drill", permissions=["move_prices"])
    def start_drill(self, request, queryset):
        title, action = "Start a drill", "start_drill"
        mark, refused = _one_mark(self, request, queryset, title=title, action=action)
        if refused:
            return refused
        form, page = action_form(
            self, request, queryset, form_class=DrillForm, title=title, action=action
        )
        if page:
            return page
        try:
            drill = price_drill_start(
                operator=request.user,
                symbol=mark.instrument.symbol,
                move_percent=form.cleaned_data["move_percent"],
                seconds=form.cleaned_data["seconds"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as refusal:
            return action_refused(self, request, queryset, refusal, title=title, action=action)
        self.message_user(
            request,
            f"Drill started on {mark.instrument.symbol}: {drill.move_percent.normalize():+f} % "
            f"over {drill.seconds} s from {drill.start_price.normalize():f}, and back.",
            messages.SUCCESS,
        )
        return None

    @admin.action(description="Release the override", permissions=["move_prices"])
    def release_override(self, request, queryset):
        title, action = "Release the override", "release_override"
        mark, refused = _one_mark(self, request, queryset, title=title, action=action)
        if refused:
            return refused
        form, page = action_form(
            self, request, queryset, form_class=ReasonForm, title=title, action=action
        )
        if page:
            return page
        try:
            mark = mark_price_override_release(
                operator=request.user,
                symbol=mark.instrument.symbol,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as refusal:
            return action_refused(self, request, queryset, refusal, title=title, action=action)
        self.message_user(
            request,
            f"{mark.instrument.symbol} released at {mark.price.normalize():f}: the price feed "
            "moves it from its next tick.",
            messages.SUCCESS,
        )
        return None


@admin.register(PriceDrill)
class PriceDrillAdmin(ReadOnly, admin.ModelAdmin):
    """Every drill, past and running, read-only: they are started from the Prices page."""

    list_display = ("instrument", "move_percent", "seconds", "start_price", "status",
                    "started_by", "started_at", "ended_at")  # fmt: skip
    list_filter = ("status", "instrument")
    list_select_related = ("instrument", "started_by")
    fields = list_display
    readonly_fields = list_display
