from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "People and care teams"

    def ready(self):
        from . import tokens

        tokens.connect()  # a password change ends the user's API tokens
