"""Print a new VAPID key pair for Web Push, as the environment variables take it."""

from django.core.management.base import BaseCommand

from core.vapid import generate_pair


class Command(BaseCommand):
    help = (
        "Print a new VAPID key pair (P-256, base64url) for VAPID_PUBLIC_KEY and "
        "VAPID_PRIVATE_KEY. Keep the private key secret. Changing the pair ends every existing "
        "push subscription: patients turn notifications on again from their Account page."
    )

    def handle(self, *args, **options):
        public, private = generate_pair()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}")
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}")
        self.stdout.write("VAPID_SUBJECT=mailto:<an address the push services can write to>")
