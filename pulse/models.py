"""Models of the pulse app (project-wide operations)."""

from pulse.alert_models import AlertChannel, AlertEvent

__all__ = ["AlertChannel", "AlertEvent"]
