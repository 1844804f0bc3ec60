"""Run every alert rule once, or every N seconds, outside the workers.

``pulse.check_alerts`` runs on a worker, so when every worker is down nobody runs the
"no worker answering" rule. Run this from cron or a small compose service to cover that case.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from pulse.alert_rules import check_alerts_run


class Command(BaseCommand):
    help = "Run the alert rules (beat, workers, platforms, scheduled searches, failed searches)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=float, default=0, help="Repeat every this many seconds (0: run once)."
        )

    def handle(self, *args, every: float, **options):
        if every < 0:
            raise CommandError(f"--every {every} is negative; give a number of seconds, or 0 to run once.")
        while True:
            events = check_alerts_run()
            for event in events:
                self.stdout.write(
                    f"{event.sent_at:%Y-%m-%d %H:%M:%S} {event.rule}:{event.key} "
                    f"{event.outcome}: {event.subject}"
                )
            if not every:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:  # Ctrl-C or compose stop between passes: a clean exit
                return
