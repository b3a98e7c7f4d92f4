from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "People and care teams"

    def ready(self):
        from . import signin_limit, tokens  # noqa: F401 - signin_limit counts failed sign-ins

        tokens.connect()  # a password change ends the user's API tokens
