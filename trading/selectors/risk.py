"""Which accounts the sweep must look at, found by set-based SQL that never loads every position.

An account is due when one of its open positions' marks has reached that position's watch price
(trading/engine/watch.py: until then the account cannot be liquidatable), when a position has no
watch price yet, or when the account changed since its watch prices were computed
(``Wallet.sweep_due``). Each part is an index range: the cost of a tick is the positions near
their watch prices, not all of them. The query only nominates: each account is then locked and
re-checked exactly by the engine.
"""

from django.db import connection

from trading.domain.triggers import triggers_sql
from trading.models import MarkPrice

# The marks go into the statement as constants (``_marks_reached``), not joined: the planner then
# reads, from the watch prices' statistics, that few positions lie past each mark, and takes the
# index range; joined, a mark is unknown when the statement is planned, and a third of the
# positions is assumed past it (a full scan of the positions, each tick).
ACCOUNTS_DUE = """
    SELECT p.user_id FROM trading_position p
    WHERE p.status = 'OPEN' AND p.side = 'LONG' AND ({longs_reached})
        AND p.user_id %% %(shards)s = %(shard)s
    UNION
    SELECT p.user_id FROM trading_position p
    WHERE p.status = 'OPEN' AND p.side = 'SHORT' AND ({shorts_reached})
        AND p.user_id %% %(shards)s = %(shard)s
    UNION
    SELECT p.user_id FROM trading_position p
    WHERE p.status = 'OPEN' AND p.watch_price IS NULL AND p.user_id %% %(shards)s = %(shard)s
    UNION
    SELECT w.user_id FROM trading_wallet w
    WHERE w.sweep_due AND w.user_id %% %(shards)s = %(shard)s
"""

ORDERS_TRIGGERED = f"""
    SELECT o.id, o.user_id FROM trading_order o
    JOIN trading_markprice mark ON mark.instrument_id = o.instrument_id
    WHERE o.status = 'NEW' AND o.user_id %% %(shards)s = %(shard)s
        AND {triggers_sql(order="o", mark="mark")}
"""


def _rows(sql: str, shard: int, shards: int, params: dict | None = None) -> list[tuple]:
    """Accounts are split by user id, so that shards are disjoint and each account has one."""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"shard": shard, "shards": shards, **(params or {})})
        return cursor.fetchall()


def _marks_reached(marks: dict[int, object], reached: str) -> tuple[str, dict]:
    """The condition "the mark of the position's instrument has reached its watch price"
    (``reached``: the watch price's side of the mark, ">=" or "<="), one constant mark per
    instrument, and its parameters."""
    if not marks:
        return "FALSE", {}
    terms, params = [], {}
    for number, (instrument_id, price) in enumerate(sorted(marks.items())):
        terms.append(
            f"(p.instrument_id = %(instrument_{number})s "
            f"AND p.watch_price {reached} %(mark_{number})s)"
        )
        params |= {f"instrument_{number}": instrument_id, f"mark_{number}": price}
    return " OR ".join(terms), params


def accounts_due(*, shard: int = 0, shards: int = 1) -> list[int]:
    """User ids of the accounts the sweep must re-check (see the module)."""
    marks = dict(MarkPrice.objects.values_list("instrument_id", "price"))
    longs, params = _marks_reached(marks, ">=")
    shorts, _ = _marks_reached(marks, "<=")
    sql = ACCOUNTS_DUE.format(longs_reached=longs, shorts_reached=shorts)
    return [user_id for (user_id,) in _rows(sql, shard, shards, params)]


def orders_triggered(*, shard: int = 0, shards: int = 1) -> list[tuple[int, int]]:
    """(order id, user id) of open orders whose price or stop the mark crossed."""
    return _rows(ORDERS_TRIGGERED, shard, shards)
