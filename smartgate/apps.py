from django.contrib.admin.apps import AdminConfig


class SmartgateAdminConfig(AdminConfig):
    """django.contrib.admin with smartgate's site as the default one (``admin.site``)."""

    default_site = "smartgate.admin.SmartgateAdminSite"
