"""Keep a PeriodicTask from outliving its scheduled search, however the search is deleted.

The admin's bulk "delete selected" and ``QuerySet.delete()`` skip the service, but not post_delete.
(The other direction needs nothing: deleting the PeriodicTask cascades to the scheduled search.)
"""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver

from schedules.models import ScheduledSearch


@receiver(post_delete, sender=ScheduledSearch, dispatch_uid="schedules.delete_periodic_task")
def delete_periodic_task(sender, instance: ScheduledSearch, **kwargs) -> None:
    from schedules.services import periodic_task_delete_for

    periodic_task_delete_for(scheduled_search=instance)
