"""Forms of the account pages. They validate only; the view calls the service
(``user_create``, ``margin_mode_default_set``) with the cleaned data, so an account made from a
form gets its preferences and funded wallet like any other. Log-in, log-out and password change
use Django's own forms and views."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import User
from trading.models import MarginMode


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class PreferencesForm(forms.Form):
    default_margin_mode = forms.ChoiceField(
        choices=MarginMode.choices,
        help_text=(
            "Preselected on the trade confirmation screen; you can still choose per order. "
            "Isolated limits each position's risk to its own margin."
        ),
    )
