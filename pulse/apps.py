from django.apps import AppConfig


class PulseConfig(AppConfig):
    name = "pulse"
    verbose_name = "Pulse"

    def ready(self):
        from pulse import checks  # noqa: F401  (registers the system checks)
