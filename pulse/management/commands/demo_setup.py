"""Prepare a local demo: an admin user with known credentials (created once, then reused)."""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create (once) the local demo admin user and print its credentials. Refuses to run with DEBUG off."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--credentials-file",
            default=str(settings.VAR_DIR / "demo-credentials.json"),
            help="Where the generated password is kept so the next demo prints the same one.",
        )

    def handle(self, *args, username, credentials_file, **options):
        if not settings.DEBUG:
            raise CommandError(
                "demo_setup creates an admin with a printed password; it only runs with DJANGO_DEBUG=1."
            )
        from pathlib import Path

        path = Path(credentials_file)
        stored = json.loads(path.read_text()) if path.exists() else {}
        password = stored.get(username) or secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True, "email": f"{username}@localhost"}
        )
        if created or not user.check_password(password):
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**stored, username: password}))
        path.chmod(0o600)
        self.stdout.write(f"Admin user: {username}  password: {password}")
        for hook in getattr(settings, "PULSE_DEMO_SETUP_HOOKS", ()):
            from django.utils.module_loading import import_string

            import_string(hook)(stdout=self.stdout)
