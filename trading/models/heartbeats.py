"""When a scheduled task last ran on a worker: the proof that beat, the broker and a worker are
all alive, which an in-process check of the web server cannot give."""

from django.db import models


class Heartbeat(models.Model):
    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
