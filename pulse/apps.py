from django.apps import AppConfig


class PulseConfig(AppConfig):
    name = "pulse"
    verbose_name = "Pulse"

    def ready(self):
        # Registers system checks, Celery signal handlers (log context, alerts after a search) and the
        # alert admin; the alert admin lives in its own module beside the app's other admin classes.
        from pulse import alert_admin, alert_rules, checks, logging  # noqa: F401
