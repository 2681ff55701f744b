from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging (threads, incidents, live events)"
    default_auto_field = "django.db.models.BigAutoField"
