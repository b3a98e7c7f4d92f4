"""The drug catalogue kept in each process (core/process_cache.py): a handful of rows read
by every dose log and by expected-dose generation, changed a few times a year in the admin.

`drug(pk)` and `attach_drug(prescription)` answer from the copy; saving or deleting a drug
drops it in this process at once (other processes within PROCESS_CACHE_SECONDS). The Drug
objects are shared between requests: read them, never change them (load a fresh row to
edit one).
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from core.process_cache import ProcessCache

from .models import Drug, Prescription

_CATALOGUE: ProcessCache[dict[int, Drug]] = ProcessCache("drug catalogue")


def drugs_by_id() -> dict[int, Drug]:
    return _CATALOGUE.get("all", lambda: {d.pk: d for d in Drug.objects.all()})


def drug(pk: int) -> Drug:
    found = drugs_by_id().get(pk)
    if found is None:  # added in another process since this copy was made
        _CATALOGUE.forget("all")
        found = drugs_by_id()[pk]
    return found


def attach_drug(prescription: Prescription) -> Prescription:
    """Set `prescription.drug` from the catalogue (no query) unless it is loaded already."""
    if not Prescription._meta.get_field("drug").is_cached(prescription):
        prescription.drug = drug(prescription.drug_id)
    return prescription


def _drug_changed(sender, **kwargs) -> None:
    _CATALOGUE.clear()


post_save.connect(_drug_changed, sender=Drug, dispatch_uid="medications.catalogue.saved")
post_delete.connect(_drug_changed, sender=Drug, dispatch_uid="medications.catalogue.deleted")
