"""Forms of the /settings page's trading settings. They validate only; the view calls the service
(``margin_mode_default_set``, ``symbol_margin_mode_set``, ``leverage_set``, ``wallet_reset``) with
the cleaned data, so the rules that need the database (a leverage within the symbol's maximum and
bracket, a mode change with nothing open) live in the services alone."""

from django import forms

from trading.models import MarginMode


class PreferencesForm(forms.Form):
    default_margin_mode = forms.ChoiceField(
        choices=MarginMode.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose Cross or Isolated."},
        help_text=(
            "Preselected on the trade confirmation screen; you can still choose per order. "
            "Isolated limits each position's risk to its own margin."
        ),
    )


class SymbolMarginModeForm(forms.Form):
    """``margin_mode`` FOLLOW_DEFAULT: the symbol has no mode of its own and follows the default
    (``symbol_margin_mode_clear``), so that every row has a choice checked."""

    FOLLOW_DEFAULT = "DEFAULT"

    symbol = forms.CharField(max_length=20)
    margin_mode = forms.ChoiceField(
        choices=[(FOLLOW_DEFAULT, "Default"), *MarginMode.choices],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose Default, Cross or Isolated."},
    )


class LeverageForm(forms.Form):
    """The leverage stays text: ``leverage_set`` accepts a string of digits and words every
    refusal (not a whole number, below 1, above the symbol's maximum) the same way for the API."""

    symbol = forms.CharField(max_length=20)
    margin_mode = forms.ChoiceField(choices=MarginMode.choices)
    leverage = forms.CharField(
        max_length=10, error_messages={"required": "Enter a leverage, a whole number."}
    )


class AccountResetForm(forms.Form):
    confirm = forms.BooleanField(error_messages={"required": "Tick the box to confirm the reset."})
