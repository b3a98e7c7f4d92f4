"""System checks of the project shell (shown by `manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def push_configured(app_configs, **kwargs):
    """Production without VAPID keys runs, but dose reminders cannot use push (they go by SMS
    and e-mail only): say so where deployers look."""
    if settings.PRODUCTION and not settings.VAPID_PUBLIC_KEY:
        return [
            Warning(
                "Web Push is off: VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT are "
                "not set, so patients cannot get reminders on their phones (SMS and e-mail "
                "only).",
                hint="Run `python manage.py vapid_keys` and set the three variables.",
                id="tracker.W001",
            )
        ]
    return []
