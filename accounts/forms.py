"""The sign-up form. It validates only; the view calls ``user_create`` with the cleaned data, so
an account made from the form gets its preferences and funded wallet like any other. Log-in,
log-out and password change use Django's own forms and views."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import User


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
