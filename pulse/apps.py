from django.apps import AppConfig


class PulseConfig(AppConfig):
    name = "pulse"
    verbose_name = "Pulse"

    def ready(self):
        from pulse import alert_rules, checks, logging  # noqa: F401  (register system checks and Celery signal handlers)
