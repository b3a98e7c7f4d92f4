"""Create a demo care team, nurse, admin and patients; print their logins. Idempotent."""

from django.core.management.base import BaseCommand
from django.db import transaction

from tracker.demo import seed_demo


class Command(BaseCommand):
    help = "Creates demo users and data (safe to run again: it changes nothing the second time)."

    def handle(self, *args, **options):
        with transaction.atomic():
            result = seed_demo()
        self.stdout.write(f"Demo logins (password for all: {result.password}):")
        for role, username, what in result.logins:
            self.stdout.write(f"  {role:<8} {username:<14} {what}")
