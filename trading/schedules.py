"""The funding times, and the beat schedule that is due exactly at each of them.

Funding times fall every FUNDING_INTERVAL counted from midnight UTC (00:00, 08:00 and 16:00 by
default); the grid starts again at each midnight, so an interval that does not divide a day ends
the day early. A venue that settles more often (Hyperliquid, hourly) splits the interval in
``funding_periods`` (trading/domain/venues.py), at most FUNDING_PERIODS_FINEST, on the same grid.
A fixed beat interval would settle up to one interval late, so FundingSchedule is due as soon as
a funding time of the finest grid has passed since its last run, and asks beat to wake at the
next one. Pure time arithmetic on the settings: marginsite/settings.py imports it, so no models
here.
"""

from datetime import UTC, datetime, timedelta

from celery.schedules import BaseSchedule, schedstate
from django.conf import settings

# Hyperliquid's hourly funding: eight settlements in Binance's eight hours
FUNDING_PERIODS_FINEST = 8


def funding_time_of(now: datetime, interval: timedelta | None = None) -> datetime:
    """The latest funding time at or before ``now`` (intervals counted from midnight UTC), every
    ``interval`` (by default FUNDING_INTERVAL)."""
    now = now.astimezone(UTC)
    interval = interval or settings.FUNDING_INTERVAL
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((now - midnight) // interval) * interval


def funding_time_after(moment: datetime, interval: timedelta | None = None) -> datetime:
    """The first funding time after ``moment``: one interval on, or the next midnight when the
    day ends first."""
    interval = interval or settings.FUNDING_INTERVAL
    return funding_time_of(funding_time_of(moment, interval) + interval, interval)


def _finest_interval() -> timedelta:
    return settings.FUNDING_INTERVAL / FUNDING_PERIODS_FINEST


class FundingSchedule(BaseSchedule):
    """Due at each funding time: when one has passed since the last run (a beat that was down
    sends one run on its return; the task settles every time it missed)."""

    def is_due(self, last_run_at: datetime) -> schedstate:
        now = self.maybe_make_aware(self.now())
        interval = _finest_interval()
        due = funding_time_of(now, interval) > self.maybe_make_aware(last_run_at)
        wait = funding_time_after(now, interval) - now
        return schedstate(is_due=due, next=wait.total_seconds())

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        now = self.maybe_make_aware(self.now())
        return funding_time_after(self.maybe_make_aware(last_run_at), _finest_interval()) - now

    def __reduce__(self):
        return self.__class__, (self.nowfun,)

    def __eq__(self, other):
        if isinstance(other, FundingSchedule):
            return other.nowfun == self.nowfun
        return NotImplemented

    def __hash__(self):
        return hash((FundingSchedule, self.nowfun))

    def __repr__(self):
        return f"<funding: every {_finest_interval()} from midnight UTC>"
