from django.apps import AppConfig


class ScrapingConfig(AppConfig):
    name = "scraping"
    verbose_name = "Searches and mentions"

    def ready(self):
        from scraping import checks  # noqa: F401  (registers the pipeline's system checks)
