from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "workspace"
    verbose_name = "Workspace (agencies, people, audit)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workspace import policy  # noqa: F401  (registers the agency rules)
