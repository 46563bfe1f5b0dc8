"""Auto-deleveraging's queue: the open positions of one side of an instrument, ranked by their
venue's rule (trading/domain/venues.py), and each position's place in it (the "lights").

Only a position in profit at the mark is in the queue: auto-deleveraging closes it at a bankrupt
position's bankruptcy price, a worse price than the mark, and a position in loss there would be
made to realize a loss it did not choose. The quantile is Binance's adlQuantile: 0 outside the
queue, else 1 to 4 by the share of the queue ranked at or below it (4: first to go).

Ranking a side values every account that holds it, so the quantiles shown on pages are a snapshot
kept for QUANTILE_SECONDS (Binance's adlQuantile "updates every 30s"); auto-deleveraging itself
always ranks afresh (``adl_ranking``).
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.core.cache import cache
from django.db.models import Q

from trading.domain.venues import AdlStanding, venue_rules
from trading.models import Instrument, Position
from trading.selectors.holdings import holdings_load_many

logger = logging.getLogger(__name__)

QUANTILES = 4
QUANTILE_SECONDS = 30

Side = tuple[int, str]  # (instrument id, LONG or SHORT)


@dataclass(frozen=True)
class AdlRank:
    position_id: int
    user_id: int
    score: Decimal


def adl_ranking(*, instrument: Instrument, side: str) -> list[AdlRank]:
    """The queue of ``side`` (LONG/SHORT) positions of ``instrument``, first to go first."""
    return _rankings({(instrument.pk, side)}).get((instrument.pk, side), [])


def _rankings(sides: set[Side]) -> dict[Side, list[AdlRank]]:
    """The queue of each of ``sides``, in a fixed number of queries."""
    if not sides:
        return {}
    wanted = Q()
    for instrument_id, side in sides:
        wanted |= Q(instrument_id=instrument_id, side=side)
    positions = list(
        Position.objects.filter(wanted, status=Position.Status.OPEN).select_related("instrument")
    )
    if not positions:  # nobody on those sides (a crash of a one-sided market): no account to value
        return {}
    accounts = holdings_load_many(user_ids={position.user_id for position in positions})
    queues: dict[Side, list[AdlRank]] = {}
    for position in positions:
        account = accounts[position.user_id]
        key = (position.instrument_id, position.margin_mode)
        figures = account.position_figures(key)
        if figures is None or figures.unrealized_pnl <= 0:
            continue
        state = account.holdings[key].position
        standing = AdlStanding(
            state.side,
            figures.unrealized_pnl,
            figures.notional,
            state.entry_price,
            state.mark_price,
            figures.margin_balance,
        )
        score = venue_rules(position.instrument.venue).adl_score(standing)
        queues.setdefault((position.instrument_id, position.side), []).append(
            AdlRank(position.pk, position.user_id, score)
        )
    return {
        side: sorted(ranks, key=lambda rank: (-rank.score, rank.position_id))
        for side, ranks in queues.items()
    }


def _quantiles(ranking: list[AdlRank]) -> dict[int, int]:
    count = len(ranking)
    return {
        rank.position_id: int(
            (Decimal(QUANTILES * (count - index)) / count).to_integral_value(ROUND_CEILING)
        )
        for index, rank in enumerate(ranking)
    }


def _key(side: Side) -> str:
    return f"adl-quantiles:{side[0]}:{side[1]}"


def position_adl_quantiles(positions: Iterable[Position]) -> dict[int, int]:
    """Position id -> its quantile (0 outside the queue) for ``positions`` (open ones), from the
    snapshot of their sides (computed for the sides it lacks)."""
    positions = list(positions)
    if not positions:  # nothing to ask the cache: an MGET of no keys was a round trip for nothing
        return {}
    sides = {(position.instrument_id, position.side) for position in positions}
    try:
        snapshot = cache.get_many([_key(side) for side in sides])
    except Exception:  # a cache that is down: rank afresh, the page still shows the truth
        logger.warning("ADL quantiles: the cache does not answer; ranking afresh")
        snapshot = {}
    missing = {side for side in sides if _key(side) not in snapshot}
    rankings = _rankings(missing)
    fresh = {_key(side): _quantiles(rankings.get(side, [])) for side in missing}
    if fresh:
        try:
            cache.set_many(fresh, timeout=QUANTILE_SECONDS)
        except Exception:
            logger.warning("ADL quantiles: the cache does not answer; not kept")
    quantiles: dict[int, int] = {}
    for values in (snapshot | fresh).values():
        quantiles.update(values)
    return {position.pk: quantiles.get(position.pk, 0) for position in positions}
