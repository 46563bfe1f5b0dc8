"""The funding times, and the beat schedule that is due exactly at each of them.

Funding times fall every FUNDING_INTERVAL counted from midnight UTC (00:00, 08:00 and 16:00 by
default); the grid starts again at each midnight, so an interval that does not divide a day ends
the day early. A fixed beat interval would settle up to one interval late, so FundingSchedule is
due as soon as a funding time has passed since its last run, and asks beat to wake at the next
one. Pure time arithmetic on the settings: marginsite/settings.py imports it, so no models here.
"""

from datetime import UTC, datetime, timedelta

from celery.schedules import BaseSchedule, schedstate
from django.conf import settings


def funding_time_of(now: datetime) -> datetime:
    """The latest funding time at or before ``now`` (intervals counted from midnight UTC)."""
    now = now.astimezone(UTC)
    interval = settings.FUNDING_INTERVAL
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((now - midnight) // interval) * interval


def funding_time_after(moment: datetime) -> datetime:
    """The first funding time after ``moment``: one interval on, or the next midnight when the
    day ends first."""
    return funding_time_of(funding_time_of(moment) + settings.FUNDING_INTERVAL)


class FundingSchedule(BaseSchedule):
    """Due at each funding time: when one has passed since the last run (a beat that was down
    sends one run on its return; the task settles every time it missed)."""

    def is_due(self, last_run_at: datetime) -> schedstate:
        now = self.maybe_make_aware(self.now())
        due = funding_time_of(now) > self.maybe_make_aware(last_run_at)
        return schedstate(is_due=due, next=(funding_time_after(now) - now).total_seconds())

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        now = self.maybe_make_aware(self.now())
        return funding_time_after(self.maybe_make_aware(last_run_at)) - now

    def __reduce__(self):
        return self.__class__, (self.nowfun,)

    def __eq__(self, other):
        if isinstance(other, FundingSchedule):
            return other.nowfun == self.nowfun
        return NotImplemented

    def __hash__(self):
        return hash((FundingSchedule, self.nowfun))

    def __repr__(self):
        return f"<funding: every {settings.FUNDING_INTERVAL} from midnight UTC>"
