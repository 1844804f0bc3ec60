"""Print the readiness checks (the same as /readyz) as a table; exit 1 when Pulse is not ready."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from pulse.health import readiness


def check_detail(check: dict) -> str:
    if not check["ok"]:
        return check.get("error", "failed")
    if check.get("workers"):
        return ", ".join(check["workers"])
    if "age_seconds" in check:
        return f"heartbeat {check['age_seconds']}s ago"
    return check.get("vendor", "")


class Command(BaseCommand):
    help = "Check the database, Redis, workers and beat, as /readyz does. Exit status 1 when not ready."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the /readyz JSON instead of a table.")

    def handle(self, *args, json: bool = False, **options):
        report = readiness()
        if json:
            self.stdout.write(_dumps(report))
        else:
            rows = [
                (name, "ok" if check["ok"] else "FAIL", f"{check['duration_ms']:.0f} ms", check_detail(check))
                for name, check in report["checks"].items()
            ]
            widths = [
                max(len(row[column]) for row in [("CHECK", "STATUS", "TIME", "DETAIL"), *rows])
                for column in range(3)
            ]
            for row in [("CHECK", "STATUS", "TIME", "DETAIL"), *rows]:
                self.stdout.write(
                    "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row))
                )
            self.stdout.write(f"\nPulse is {'ready' if report['status'] == 'ok' else 'NOT ready'}.")
        if report["status"] != "ok":
            raise SystemExit(1)


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2)
