from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from search import checks  # noqa: F401  (registers the system checks)

        # Each app declares its searchable types in <app>/search_index.py.
        autodiscover_modules("search_index")
