"""Write every scheduled search as JSON in the import/export format (see docs/SCHEDULES.md)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from schedules.backup import schedules_dump


class Command(BaseCommand):
    help = "Export scheduled searches as JSON to FILE, or to standard output when no file is given."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="Where to write (default: standard output).")

    def handle(self, *args, file=None, **options):
        text = schedules_dump()
        if not file or file == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(file)
        if not path.parent.exists():
            raise CommandError(f"The folder {path.parent} does not exist; create it or choose another file.")
        path.write_text(text, encoding="utf-8")
        self.stderr.write(f"Wrote {len(json.loads(text))} scheduled search(es) to {path}.")
