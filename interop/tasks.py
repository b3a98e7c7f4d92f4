"""Celery tasks of interop (registered under these names; their code is in bulk.py, next to
the service it runs)."""

from .bulk import run_bulk_export, sweep_bulk_exports

__all__ = ["run_bulk_export", "sweep_bulk_exports"]
