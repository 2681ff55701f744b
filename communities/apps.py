from django.apps import AppConfig


class CommunitiesConfig(AppConfig):
    name = "communities"
    verbose_name = "Communities"
    default_auto_field = "django.db.models.BigAutoField"
