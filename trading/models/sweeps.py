"""Each run of the sweep: its health for the operator. Two live sweeps of one shard are kept apart
by the shard's advisory lock (trading/services/sweeps.py), which dies with its worker; the row
only records the run, and the unique partial index (at most one RUNNING row per shard) backs
that up. A RUNNING row whose lock nobody holds is a dead run's: the next sweep of its shard marks
it ABANDONED. The shards of one tick run side by side on several workers."""

from django.db import models
from django.db.models import Q


class SweepRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"
        ABANDONED = "ABANDONED", "Abandoned (its worker died)"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    shard = models.PositiveSmallIntegerField(default=0)
    shards = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    positions_checked = models.PositiveIntegerField(
        default=0, help_text="Open positions re-checked by the engine: those of the accounts due."
    )
    orders_triggered = models.PositiveIntegerField(default=0)
    liquidations = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shard", "shards"],
                condition=Q(status="RUNNING"),
                name="sweep_one_running_per_shard",
            )
        ]

    def __str__(self):
        return f"sweep {self.pk} {self.status}"
