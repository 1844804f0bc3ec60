"""Create the operations periodic tasks (alert checks, history cleanup) when they are missing.

Run after ``migrate`` on every deploy (the image's entrypoint and ``make demo`` do). Existing rows
are never changed or deleted, so timing or enabled edits made in the admin survive deploys.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from pulse.maintenance import operations_periodic_tasks_ensure


class Command(BaseCommand):
    help = "Create the periodic tasks pulse.check_alerts and pulse.cleanup_history when missing."

    def handle(self, *args, **options):
        for name, created in operations_periodic_tasks_ensure():
            self.stdout.write(f"{'created' if created else 'kept'}: {name}")
