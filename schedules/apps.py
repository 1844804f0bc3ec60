from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "schedules"
    verbose_name = "Scheduled searches"

    def ready(self) -> None:
        from schedules import signals  # noqa: F401  (connects the receivers)
