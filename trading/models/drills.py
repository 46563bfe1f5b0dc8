"""Price drills: the operator moves an instrument's mark by a percentage over some seconds and
back, to rehearse a crash (or a squeeze) with real sweeps and liquidations. At most one drill runs
per instrument (a unique partial index). While it runs, each price tick writes the drill's price
(source ``drill``, held, so no feed writes over it); when it ends the mark is back at its start
and released to the feed."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from trading.models.fields import price_field
from trading.models.instruments import Instrument


class PriceDrill(models.Model):
    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"
        CANCELED = "CANCELED", "Canceled"

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="drills")
    start_price = price_field(help_text="the mark when the drill started; it ends there")
    move_percent = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        help_text="how far the mark moves, in %: -20 drops it 20 %, 15 lifts it 15 %",
    )
    seconds = models.PositiveIntegerField(help_text="to get there; as many again to come back")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument"],
                condition=Q(status="RUNNING"),
                name="drill_one_running_per_instrument",
            ),
            models.CheckConstraint(condition=Q(seconds__gte=1), name="drill_seconds_positive"),
            models.CheckConstraint(
                condition=Q(move_percent__gt=-100) & ~Q(move_percent=0),
                name="drill_move_in_range",
            ),
        ]

    def __str__(self):
        return f"{self.instrument} {self.move_percent:+}% over {self.seconds}s ({self.status})"
