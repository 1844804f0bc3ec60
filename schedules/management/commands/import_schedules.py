"""Create or update scheduled searches from a JSON file in the export format (see docs/SCHEDULES.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from schedules.backup import ImportRejected, schedules_import


class Command(BaseCommand):
    help = (
        "Import scheduled searches from FILE ('-' for standard input): matched by name, updated in place, "
        "never duplicated. Every entry is checked first; if any is bad nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="Check and report, write nothing.")
        parser.add_argument(
            "--prune", action="store_true",
            help="Also delete scheduled searches that are not in the file (never done otherwise).",
        )

    def handle(self, *args, file, dry_run=False, prune=False, **options):
        if file == "-":
            text = sys.stdin.read()
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"{file}: no such file. Give the path of a JSON file written by export_schedules.")
            text = path.read_text(encoding="utf-8")
        try:
            report = schedules_import(text=text, dry_run=dry_run, prune=prune)
        except ImportRejected as rejected:
            raise CommandError(
                f"Nothing was imported; fix these and run again:\n" + "\n".join(f"  {e}" for e in rejected.errors)
            ) from None
        prefix = "Would " if dry_run else ""
        for line in report.lines():
            self.stdout.write(f"{prefix}{line}" if dry_run else line)
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.deleted)} deleted."
        )
