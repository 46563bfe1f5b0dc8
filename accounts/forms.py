"""The sign-up form. It validates only; the view calls ``user_create`` with the cleaned data, so
an account made from the form gets its preferences and funded wallet like any other. Log-in
(the trader's and the back office's) is Django's, with a limit on wrong passwords
(accounts/login_limits.py); log-out and password change use Django's own forms and views."""

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from accounts.login_limits import login_failure_record, login_failures_forget, login_wait_seconds
from accounts.models import User


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class LoginLimited:
    """A log-in form that refuses, with the time to wait, a username or an address that took
    too many wrong passwords, before it checks the password."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        if wait := login_wait_seconds(username, address):
            minutes = math.ceil(wait / 60)
            raise ValidationError(
                "Too many wrong passwords: log-in is locked for this account or address. "
                f"Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
                code="login_locked",
            )
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                login_failure_record(username, address)
            raise
        login_failures_forget(username)
        return cleaned


class LoginForm(LoginLimited, AuthenticationForm):
    pass


class AdminLoginForm(LoginLimited, AdminAuthenticationForm):
    pass
