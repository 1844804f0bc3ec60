from django.apps import AppConfig


class ScrapingConfig(AppConfig):
    name = "scraping"
    verbose_name = "Searches and mentions"

    def ready(self):
        # Registers the platform system checks and the browser pool's worker-process signals.
        from scraping import browser, checks  # noqa: F401
