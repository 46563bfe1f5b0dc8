from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """django.contrib.admin with marginsite's site as ``admin.site``."""

    default_site = "marginsite.backoffice.BackOfficeSite"
