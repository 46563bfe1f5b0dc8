from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User
from accounts.services import account_open


@admin.register(User)
class MarginsiteUserAdmin(UserAdmin):
    def save_model(self, request, obj, form, change):
        """A user added here gets preferences and a funded wallet, like one who signs up."""
        super().save_model(request, obj, form, change)
        if not change:
            account_open(user=obj)
