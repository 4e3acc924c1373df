"""The worker heartbeat: the last time a worker ran the heartbeat task; /healthz reads it."""

from django.db import models


class WorkerHeartbeat(models.Model):
    name = models.CharField(max_length=50, unique=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        # The table kept its name when the model moved here from the sla app.
        db_table = "sla_workerheartbeat"

    def __str__(self):
        return f"{self.name} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"
