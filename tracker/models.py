from django.db import models


class Heartbeat(models.Model):
    """When beat last published the heartbeat job ("beat") and when a worker last ran it
    ("worker"): what /readyz/ and the nurse dashboard's banner read (tracker/health.py)."""

    BEAT = "beat"
    WORKER = "worker"

    name = models.CharField(max_length=16, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
