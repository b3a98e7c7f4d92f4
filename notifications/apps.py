from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Alerts and deliveries"

    def ready(self):
        # Connect the receivers of medications' signals (symptom reports, dose logs).
        from . import receivers  # noqa: F401
