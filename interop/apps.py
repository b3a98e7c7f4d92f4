from django.apps import AppConfig


class InteropConfig(AppConfig):
    """FHIR R4 API and bulk export, the clinic summary, the patient's own export.

    Sits above notifications: it reads every app below it and nothing imports it."""

    name = "interop"
    verbose_name = "Interoperability and exports"
