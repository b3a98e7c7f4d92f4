"""Run every periodic job once, now, in this process (see settings.PERIODIC_JOBS)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from tracker.joblock import periodic_job_lock


class Command(BaseCommand):
    help = (
        "Runs every periodic job once, now, in this process, and prints what each did. Exits "
        "non-zero naming the jobs that failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="*", help="Run only these jobs (by name).")

    def handle(self, *args, only=None, **options):
        failed: list[str] = []
        for name, (task_path, _seconds) in settings.PERIODIC_JOBS.items():
            if only and name not in only:
                continue
            task = import_string(task_path)
            try:
                # On SQLite, waits while beat's worker (or another sweep) runs a job.
                with periodic_job_lock():
                    result = task()  # calling a Celery task runs it here, synchronously
            except Exception as exc:  # noqa: BLE001 - report and carry on with the other jobs
                failed.append(name)
                self.stderr.write(f"{name}: FAILED ({exc.__class__.__name__}: {exc})")
                continue
            self.stdout.write(f"{name}: {self._describe(result)}")
        if failed:
            raise CommandError(
                f"{len(failed)} job(s) failed: {', '.join(failed)}; the next sweep will try again.",
                returncode=1,
            )

    @staticmethod
    def _describe(result) -> str:
        if isinstance(result, dict):
            return ", ".join(f"{key} {value}" for key, value in result.items()) or "nothing to do"
        return str(result) if result is not None else "done"
