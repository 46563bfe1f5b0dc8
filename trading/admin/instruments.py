"""Instruments in the back office: their terms, their leverage brackets inline, halt and resume.

The page only collects input. Every check is the services' (trading/services/instruments.py),
run by the forms so that a refusal shows next to the value at fault, with a 400 and nothing
changed; saving calls ``instrument_create`` or ``instrument_update``, which write the instrument,
its brackets (maintenance amounts computed, never typed) and the audit entry in one transaction.
The status changes only through the halt and resume actions (their own permission).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from marginsite.errors import ApplicationError
from trading.admin.actions import action_refused, action_run
from trading.admin.base import InvalidFormsAnswer400, RefusesUnofferedActions
from trading.errors import InvalidBrackets
from trading.models import Instrument, LeverageBracket, MarginMode
from trading.services.instruments import (
    BOOK_LEVEL_MIN_QUANTITIES,
    EDITABLE_TERMS,
    book_level_quantity_checked,
    bracket_row_checked,
    bracket_table_checked,
    default_leverage_checked,
    instrument_create,
    instrument_halt,
    instrument_identity_checked,
    instrument_resume,
    instrument_term_checked,
    instrument_update,
)

BRACKET_FIELDS = ("notional_floor", "notional_cap", "max_leverage", "maintenance_margin_rate")


class InstrumentForm(forms.ModelForm):
    default_margin_mode = forms.ChoiceField(
        choices=[("", "The trader's own default"), *MarginMode.choices],
        required=False,
        help_text="The mode a trader's new orders on this symbol get when the trader set no mode "
        "for the symbol.",
    )
    book_level_quantity = forms.DecimalField(
        required=False,
        help_text="Quantity resting at each price level, a multiple of the step size; empty on "
        f"a new instrument: {BOOK_LEVEL_MIN_QUANTITIES} minimum quantities.",
    )

    class Meta:
        model = Instrument
        fields = ("symbol", "base_asset", "quote_asset", *EDITABLE_TERMS)

    def clean(self):
        cleaned = super().clean()
        for name in EDITABLE_TERMS:
            if cleaned.get(name) is not None:
                try:
                    cleaned[name] = instrument_term_checked(name, cleaned[name])
                except ApplicationError as refusal:
                    self.add_error(name, refusal.message)
        level_quantity, step = cleaned.get("book_level_quantity"), cleaned.get("step_size")
        if level_quantity is not None and step and "book_level_quantity" not in self.errors:
            try:
                book_level_quantity_checked(level_quantity, step)
            except ApplicationError as refusal:
                self.add_error("book_level_quantity", refusal.message)
        names = ("symbol", "base_asset", "quote_asset")
        if all(cleaned.get(name) for name in names):
            try:
                checked = instrument_identity_checked(*(cleaned[name] for name in names))
            except ApplicationError as refusal:
                self.add_error(refusal.field, refusal.message)
            else:
                cleaned.update(zip(names, checked, strict=True))
        return cleaned


class BracketForm(forms.ModelForm):
    """One tier; ``tier`` is its place in the table as shown (for the messages)."""

    class Meta:
        model = LeverageBracket
        fields = BRACKET_FIELDS

    def __init__(self, *args, tier: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.tier = tier

    def clean(self):
        cleaned = super().clean()
        if all(cleaned.get(name) is not None for name in BRACKET_FIELDS):
            try:
                bracket_row_checked([cleaned[name] for name in BRACKET_FIELDS], tier=self.tier)
            except InvalidBrackets as refusal:
                self.add_error(refusal.field, refusal.message)
        return cleaned


class BracketFormSet(BaseInlineFormSet):
    """The whole table, checked once every tier is valid on its own: contiguous, rising rates,
    leverage not rising, and the instrument's default leverage within tier 1's. ``rows`` holds
    the tiers kept, in order, for the service."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows: list[list] = []

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "tier": (index or 0) + 1}

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not (self.can_delete and self._should_delete_form(form))
        ]
        self.rows = [[form.cleaned_data[name] for name in BRACKET_FIELDS] for form in kept]
        try:
            table = bracket_table_checked(self.rows)
        except InvalidBrackets as refusal:
            if not kept:
                raise ValidationError(refusal.message) from None
            form = kept[refusal.tier - 1]
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            return
        if isinstance(self.instance.default_leverage, int):
            try:
                default_leverage_checked(self.instance.default_leverage, table)
            except ApplicationError as refusal:
                raise ValidationError(refusal.message) from None


class BracketInline(admin.TabularInline):
    """The brackets follow the instrument's permissions: whoever may change the instrument may
    change its table (through the instrument's service, never row by row)."""

    model = LeverageBracket
    form = BracketForm
    formset = BracketFormSet
    fields = ("tier", *BRACKET_FIELDS, "maintenance_amount")
    readonly_fields = ("tier", "maintenance_amount")
    ordering = ("tier",)
    extra = 1

    def _may_edit(self, request, obj) -> bool:
        return request.user.has_perm(
            "trading.change_instrument" if obj is not None else "trading.add_instrument"
        )

    def has_add_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("trading.view_instrument")


@admin.register(Instrument)
class InstrumentAdmin(InvalidFormsAnswer400, RefusesUnofferedActions, admin.ModelAdmin):
    form = InstrumentForm
    inlines = [BracketInline]
    list_display = (
        "symbol",
        "status",
        "tick_size",
        "step_size",
        "min_quantity",
        "min_notional",
        "taker_fee_rate",
        "maker_fee_rate",
        "liquidation_fee_rate",
        "default_leverage",
        "max_leverage",
        "margin_mode_shown",
        "venue",
    )
    list_filter = ("status", "venue", "default_margin_mode")
    search_fields = ("symbol", "base_asset")
    actions = ("halt", "resume")
    fieldsets = (
        (None, {"fields": ("symbol", "base_asset", "quote_asset", "status")}),
        (
            "Rules",
            {
                "fields": ("venue",),
                "description": "Whose liquidation the instrument follows: Binance (partial "
                "steps bracket by bracket, the liquidation fee below), Bybit (one risk-limit "
                "tier at a time, the fee to close in the liquidation price, no liquidation fee) "
                "or Hyperliquid (20 % of a position above 100,000 then a 30 s cooldown, no "
                "liquidation fee; each bracket's maintenance rate half the initial margin rate "
                "at its max leverage). docs/margin.md, Venue profiles.",
            },
        ),
        ("Order sizes", {"fields": ("tick_size", "step_size", "min_quantity", "min_notional")}),
        (
            "Fees",
            {"fields": ("taker_fee_rate", "maker_fee_rate", "liquidation_fee_rate")},
        ),
        (
            "Order book",
            {
                "fields": (
                    "book_half_spread_ticks",
                    "book_level_ticks",
                    "book_level_quantity",
                    "book_max_slippage_rate",
                ),
                "description": "The book orders fill against, built around the mark: the best "
                "ask the half spread above it, the best bid as far below, then a level every "
                "level spacing. A market order walks it up to the maximum slippage from the "
                "mark; what lies beyond is not filled.",
            },
        ),
        (
            "Leverage and margin mode",
            {
                "fields": ("default_leverage", "max_leverage", "default_margin_mode"),
                "description": "The max leverage is the first bracket's. Each bracket's "
                "maintenance amount is computed when the table is saved: 0 for the first, then "
                "the previous amount + floor x (rate - previous rate).",
            },
        ),
    )

    @admin.display(description="default margin mode", ordering="default_margin_mode")
    def margin_mode_shown(self, obj):
        return obj.get_default_margin_mode_display() or "trader's own"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("status", "max_leverage")
        return ("symbol", "base_asset", "quote_asset", "status", "max_leverage")

    def get_changeform_initial_data(self, request):
        return {"quote_asset": "USDT", **super().get_changeform_initial_data(request)}

    def has_delete_permission(self, request, obj=None):
        """Orders, positions and the ledger name instruments: one is halted, never deleted."""
        return False

    def has_halt_permission(self, request):
        return request.user.has_perm("trading.halt_instrument")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Without the admin's transaction around the save: the services run their own durable
        one. A refusal the forms could not foresee (a race) is answered with its 4xx."""
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as refusal:
            queryset = Instrument.objects.filter(pk=object_id or None)
            return action_refused(
                self, request, queryset, refusal, title="Instrument not saved", action=""
            )

    def save_model(self, request, obj, form, change):
        """Nothing here: the instrument and its brackets are saved together in save_related."""

    def save_related(self, request, form, formsets, change):
        (brackets,) = formsets
        terms = {name: form.cleaned_data[name] for name in EDITABLE_TERMS}
        if change:
            instrument_update(
                operator=request.user, symbol=form.instance.symbol, brackets=brackets.rows, **terms
            )
            return
        created = instrument_create(
            operator=request.user,
            symbol=form.cleaned_data["symbol"],
            base_asset=form.cleaned_data["base_asset"],
            quote_asset=form.cleaned_data["quote_asset"],
            brackets=bracket_table_checked(brackets.rows),
            **terms,
        )
        form.instance.pk = created.pk

    def construct_change_message(self, request, form, formsets, add=False):
        """The brackets are not saved by their formset (the service rewrites them): the message
        names the instrument's fields only; the audit log holds the whole change."""
        return super().construct_change_message(request, form, [], add)

    def _status_action(self, request, queryset, *, service, title: str, action: str):
        def change(instrument, data):
            service(operator=request.user, symbol=instrument.symbol, reason=data["reason"])
            return f"{title}: {instrument.symbol}."

        return action_run(self, request, queryset, title=title, action=action, run=change)

    @admin.action(description="Halt trading (only closing orders accepted)", permissions=["halt"])
    def halt(self, request, queryset):
        return self._status_action(
            request, queryset, service=instrument_halt, title="Halt trading", action="halt"
        )

    @admin.action(description="Resume trading", permissions=["halt"])
    def resume(self, request, queryset):
        return self._status_action(
            request, queryset, service=instrument_resume, title="Resume trading", action="resume"
        )
