"""Create an API key from the command line (the admin does the same under "API keys")."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from pulse.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key acting as USER and print it once. Store it now: only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username whose permissions the key gets.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'reporting service'.")

    def handle(self, *args, user, name, **options):
        try:
            owner = get_user_model().objects.get_by_natural_key(user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {user!r}. Create it first (manage.py createsuperuser).") from None
        try:
            _api_key, plain_key = api_key_create(user=owner, name=name)
        except ValidationError as error:
            raise CommandError("; ".join(f"{f}: {' '.join(m)}" for f, m in error.message_dict.items())) from None
        self.stdout.write(plain_key)
