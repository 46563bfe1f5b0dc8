"""The order book model: exact examples, and properties over generated books and orders.

Decimals are built from integers (never floats); the test's own arithmetic runs in a 60-digit
context so it adds no rounding of its own.
"""

from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.engine import Book, BookModel, Take, book_best_price, book_levels, book_take

PROPERTY = settings(max_examples=300, deadline=None, database=None)
D = Decimal
BTC = BookModel(
    tick_size=D("0.1"),
    half_spread_ticks=1,
    level_ticks=1,
    level_quantity=D("2"),
    max_slippage_rate=D("0.05"),
)


def scaled(min_value, max_value, places):
    return st.integers(min_value, max_value).map(lambda n: Decimal(n).scaleb(-places))


models = st.builds(
    BookModel,
    tick_size=st.sampled_from([D("0.1"), D("0.01"), D("0.5"), D("1")]),
    half_spread_ticks=st.integers(0, 5),
    level_ticks=st.integers(1, 5),
    level_quantity=scaled(1, 5000, 3),
    max_slippage_rate=scaled(1, 500, 4),
)
marks = scaled(1000, 10_000_000, 2)
quantities = scaled(1, 200_000, 3)
sides = st.sampled_from(["BUY", "SELL"])


def test_the_book_of_a_major_has_its_best_prices_one_tick_either_side_of_the_mark():
    book = book_levels(BTC, mark=D("60000"), depth=3)

    assert book == Book(
        mark=D("60000"),
        bids=((D("59999.9"), D("2")), (D("59999.8"), D("2")), (D("59999.7"), D("2"))),
        asks=((D("60000.1"), D("2")), (D("60000.2"), D("2")), (D("60000.3"), D("2"))),
    )


def test_a_mark_between_ticks_puts_the_best_prices_outside_it():
    assert book_best_price(BTC, mark=D("60000.04"), side="BUY") == D("60000.2")
    assert book_best_price(BTC, mark=D("60000.04"), side="SELL") == D("59999.9")


def test_a_market_buy_walks_the_asks_and_pays_their_average():
    # 5 BTC: 2 at 60000.1, 2 at 60000.2, 1 at 60000.3 = 300000.9 USDT
    take = book_take(BTC, mark=D("60000"), side="BUY", quantity=D("5"))

    assert take == Take(
        quantity=D("5"),
        notional=D("300000.9"),
        average_price=D("60000.18"),
        worst_price=D("60000.3"),
    )


def test_a_limit_sell_takes_only_the_bids_at_or_above_its_price():
    take = book_take(BTC, mark=D("60000"), side="SELL", quantity=D("10"), limit_price=D("59999.8"))

    assert take.quantity == D("4")
    assert take.notional == D("2") * D("59999.9") + D("2") * D("59999.8")
    assert take.worst_price == D("59999.8")


def test_a_limit_that_does_not_cross_takes_nothing():
    take = book_take(BTC, mark=D("60000"), side="BUY", quantity=D("1"), limit_price=D("60000"))

    assert take == Take(quantity=D("0"), notional=D("0"), average_price=None, worst_price=None)


def test_the_maximum_slippage_bounds_what_a_market_order_gets():
    # 1 % of 100 is 1: asks 100.1 .. 101.0, ten levels of 2
    model = BookModel(D("0.1"), 1, 1, D("2"), D("0.01"))

    take = book_take(model, mark=D("100"), side="BUY", quantity=D("1000"))

    assert take.quantity == D("20")
    assert take.worst_price == D("101.0")
    assert len(book_levels(model, mark=D("100"), depth=1000).asks) == 10


def test_bids_stop_above_zero():
    model = BookModel(D("1"), 1, 1, D("1"), D("0.9"))

    assert book_best_price(model, mark=D("1"), side="SELL") is None
    assert book_take(model, mark=D("1"), side="SELL", quantity=D("1")).quantity == 0
    assert book_levels(model, mark=D("3"), depth=10).bids == ((D("2"), D("1")), (D("1"), D("1")))


@PROPERTY
@given(model=models, mark=marks, side=sides, quantity=quantities)
def test_a_take_averages_between_the_best_price_and_the_maximum_slippage(
    model, mark, side, quantity
):
    take = book_take(model, mark=mark, side=side, quantity=quantity)
    best = book_best_price(model, mark=mark, side=side)
    if best is None:
        assert take.quantity == 0
        return
    with localcontext() as context:
        context.prec = 60
        if side == "BUY":
            bound = max(best, mark * (1 + model.max_slippage_rate))
            assert best <= take.average_price <= take.worst_price <= bound
        else:
            bound = min(best, mark * (1 - model.max_slippage_rate))
            assert best >= take.average_price >= take.worst_price >= bound
        assert abs(take.average_price * take.quantity - take.notional) <= D("1e-15") * take.notional


@PROPERTY
@given(model=models, mark=marks, side=sides, quantity=quantities, more=quantities)
def test_a_larger_order_never_averages_a_better_price(model, mark, side, quantity, more):
    small = book_take(model, mark=mark, side=side, quantity=quantity)
    large = book_take(model, mark=mark, side=side, quantity=quantity + more)
    if not small.quantity:
        return
    with localcontext() as context:
        context.prec = 60
        small_average = small.notional / small.quantity
        large_average = large.notional / large.quantity
    if side == "BUY":
        assert large_average >= small_average
    else:
        assert large_average <= small_average


# books of a few thousand levels at most, so that the test can list every one
narrow_models = st.builds(
    BookModel,
    tick_size=st.sampled_from([D("0.1"), D("0.01"), D("0.5"), D("1")]),
    half_spread_ticks=st.integers(0, 5),
    level_ticks=st.integers(1, 5),
    level_quantity=scaled(1, 5000, 3),
    max_slippage_rate=scaled(1, 50, 4),
)


@PROPERTY
@given(
    model=narrow_models,
    mark=scaled(1000, 1_000_000, 2),
    side=sides,
    quantity=quantities,
    limit_ticks=st.integers(-50, 500) | st.none(),
)
def test_a_take_gets_what_was_asked_or_all_the_book_holds_within_its_limits(
    model, mark, side, quantity, limit_ticks
):
    limit = None
    if limit_ticks is not None:
        direction = 1 if side == "BUY" else -1
        limit = mark + direction * limit_ticks * model.tick_size
        if limit <= 0:
            limit = model.tick_size
    take = book_take(model, mark=mark, side=side, quantity=quantity, limit_price=limit)
    levels = book_levels(model, mark=mark, depth=10_000)
    reachable = [
        (price, size)
        for price, size in (levels.asks if side == "BUY" else levels.bids)
        if limit is None or (price <= limit if side == "BUY" else price >= limit)
    ]
    held = sum((size for _, size in reachable), D(0))
    assert take.quantity == min(quantity, held)
    # the same quantity, level by level
    remaining, notional = take.quantity, D(0)
    for price, size in reachable:
        part = min(size, remaining)
        notional += part * price
        remaining -= part
    assert remaining == 0
    assert take.notional == notional
