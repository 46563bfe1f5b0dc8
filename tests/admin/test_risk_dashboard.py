"""The risk dashboard: accounts by cross margin ratio, the isolated positions closest to
liquidation, the latest liquidations, the insurance fund and the sweep's health, with the
engine's exact figures."""

from datetime import timedelta
from decimal import Decimal, localcontext

import pytest
from django.utils import timezone

from trading.engine.decimals import ENGINE_CONTEXT
from trading.models import Journal, LedgerAccount, LedgerEntry, LiquidationEvent, SweepRun
from trading.selectors.risk_dashboard import risk_dashboard_load
from trading.services import leverage_set, mark_price_set, order_place, sweep_run

pytestmark = pytest.mark.django_db
URL = "/admin/risk/"


@pytest.fixture
def book(make_trader):
    """alice: a cross long of 1 BTC at 60,000 (20x); bob: an isolated long of 1 BTC at 60,000 at
    50x (margin 1,200). Then the mark falls to 59,100."""
    alice, bob = make_trader("alice"), make_trader("bob")
    order_place(user=alice, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    leverage_set(user=bob, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=50)
    order_place(user=bob, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="59100")
    return alice, bob


def test_dashboard_ranks_accounts_and_isolated_positions_with_exact_figures(book):
    _alice, bob = book

    dashboard = risk_dashboard_load()

    with localcontext(ENGINE_CONTEXT):  # the engine's exact precision
        [cross] = dashboard.cross_accounts
        assert (cross.username, cross.cross_positions) == ("alice", 1)
        assert cross.wallet_balance == Decimal("9970")  # 10,000 - the 30 USDT taker fee
        assert cross.cross_margin_balance == Decimal("9070")  # uPnL -900
        assert cross.cross_maintenance_margin == Decimal("245.5")  # 59,100 x 0.005 - 50
        assert cross.cross_margin_ratio == Decimal("245.5") / Decimal("9070")
        [isolated] = dashboard.isolated_positions
        assert isolated.position.user == bob
        assert isolated.figures.margin == Decimal("1200")
        assert isolated.figures.margin_ratio == Decimal("245.5") / Decimal("300")  # 81.83 %
        liquidation = Decimal("-58750") / Decimal("-0.995")
        assert isolated.figures.liquidation_price == liquidation
        assert isolated.liquidation_price_display == Decimal("59045.3")
        assert isolated.distance == (Decimal("59100") - liquidation) / Decimal("59100")


def test_dashboard_page_shows_the_figures_to_the_operator(book, operator_client):
    response = operator_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-user="alice"' in html
    assert "9,070.00" in html
    assert "245.50" in html
    assert "2.71 %" in html
    assert "1,200.00" in html
    assert "59,045.3" in html
    assert "81.83 %" in html
    assert "0.09 %" in html
    assert "No liquidations yet." in html
    assert "The sweep has not run yet." in html


def test_dashboard_after_a_sweep_shows_the_liquidation_the_fund_and_the_sweep(
    book, operator_client
):
    _alice, bob = book
    mark_price_set(symbol="BTCUSDT", price="59000")

    report = sweep_run()

    assert report.isolated_liquidations == 1
    dashboard = risk_dashboard_load()
    [event] = dashboard.liquidations
    assert (event.user, event.margin_mode) == (bob, "ISOLATED")
    assert dashboard.isolated_positions == []
    # bob's margin balance, 1,200 - 1,000 = 200, is below 59,000 x 0.005 - 50 = 245: his long
    # is cut a bracket down, to 50,000 / 59,000 = 0.847 (on the step), selling 0.153 (loss 153,
    # fee 0.153 x 59,000 x 0.0125 = 112.8375 to the fund, margin 934.1625); still out of margin
    # (934.1625 - 847 = 87.1625 <= 0.847 x 59,000 x 0.004 = 199.892), the 0.847 is closed: loss
    # 847, and the fee 624.6625 capped at the 87.1625 left. The fund takes 112.8375 + 87.1625 =
    # 200, what the bankruptcy price 58,800 leaves beyond the mark: 59,000 - 58,800
    assert dashboard.insurance_fund_balance == Decimal("200")
    assert [
        (line.entry.kind, line.change, line.balance_after)
        for line in dashboard.insurance_fund_history
    ] == [
        ("LIQUIDATION_FEE", Decimal("87.1625"), Decimal("200")),
        ("LIQUIDATION_FEE", Decimal("112.8375"), Decimal("112.8375")),
    ]
    run = SweepRun.objects.get()
    assert dashboard.sweep.last_run == run
    assert dashboard.sweep.duration == run.finished_at - run.started_at
    html = operator_client.get(URL).content.decode()
    assert f'data-liquidation="{event.pk}"' in html
    assert '<span data-figure="insurance-balance">200.00</span>' in html
    assert "<td>Liquidation fee</td>" in html
    assert '<td class="num">+112.84</td>\n        <td class="num">112.84</td>' in html
    assert f'<td data-figure="positions-checked">{run.positions_checked}</td>' in html


def test_sweep_lag_is_the_time_past_the_beat_schedule(book, settings):
    settings.PRICE_TICK_THEN_SWEEP = True
    sweep_run()
    run = SweepRun.objects.get()
    every = settings.CELERY_BEAT_SCHEDULE["prices-tick"]["schedule"]

    on_time = risk_dashboard_load(now=run.started_at + every / 2)
    late = risk_dashboard_load(now=run.started_at + every + timedelta(seconds=42))

    assert on_time.sweep.lag == timedelta(0)
    assert late.sweep.lag == timedelta(seconds=42)
    settings.PRICE_TICK_THEN_SWEEP = False
    assert risk_dashboard_load(now=timezone.now()).sweep.lag is None


def test_the_account_nearest_liquidation_ranks_first(book, make_trader):
    carol = make_trader("carol")
    leverage_set(user=carol, symbol="BTCUSDT", margin_mode="CROSS", leverage=100)
    order_place(user=carol, symbol="BTCUSDT", side="BUY", quantity="3", margin_mode="CROSS")
    # carol bought 3 BTC at 59,100 with 100x; at 56,000 her loss is 9,300
    mark_price_set(symbol="BTCUSDT", price="56000")

    dashboard = risk_dashboard_load()

    assert [row.username for row in dashboard.cross_accounts] == ["carol", "alice"]
    carol_row, alice_row = dashboard.cross_accounts
    with localcontext(ENGINE_CONTEXT):
        # 3 x 56,000 x 0.005 - 50 = 790 over 9,911.35 - 9,300 (wallet after the fee, less the loss)
        assert carol_row.cross_margin_ratio == Decimal(790) / Decimal("611.35")
        assert alice_row.cross_margin_ratio == Decimal(230) / Decimal(5970)
    assert LiquidationEvent.objects.count() == 0  # shown before the sweep acts


def test_support_sees_the_dashboard_and_a_trader_does_not(book, support_client, client):
    alice, _ = book
    client.force_login(alice)
    assert support_client.get(URL).status_code == 200
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_dashboard_costs_a_fixed_number_of_queries(
    book, make_trader, operator_client, django_assert_max_num_queries
):
    for _ in range(5):
        user = make_trader()
        order_place(user=user, symbol="ETHUSDT", side="SELL", quantity="1", margin_mode="ISOLATED")
        order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="0.01", margin_mode="CROSS")
    with django_assert_max_num_queries(20):
        assert operator_client.get(URL).status_code == 200


def test_a_position_past_its_liquidation_price_shows_a_negative_distance(book):
    mark_price_set(symbol="BTCUSDT", price="59000")  # below bob's 59,045.23: the sweep has not run

    [isolated] = risk_dashboard_load().isolated_positions

    with localcontext(ENGINE_CONTEXT):
        liquidation = Decimal("-58750") / Decimal("-0.995")
        assert isolated.distance == (Decimal("59000") - liquidation) / Decimal("59000")
    assert isolated.distance < 0


def test_a_negative_insurance_fund_is_explained(operator_client):
    # given a fund that paid 24.11 of a bankrupt liquidation's loss it did not hold (as before its
    # floor of 0): an entry written as such a liquidation wrote it
    fund, _ = LedgerAccount.objects.get_or_create(kind="INSURANCE_FUND", user=None, position=None)
    house, _ = LedgerAccount.objects.get_or_create(kind="HOUSE", user=None, position=None)
    LedgerEntry.objects.create(
        journal=Journal.objects.create(kind="LIQUIDATION"),
        kind="INSURANCE",
        amount=Decimal("24.11"),
        source=fund,
        destination=house,
        memo="loss beyond the isolated margin",
    )

    html = operator_client.get(URL).content.decode()

    assert '<span data-figure="insurance-balance">-24.11</span>' in html
    assert (
        '<span class="help" id="insurance-negative">Below 0: the fund paid out more than it '
        "held, so the house covered the losses beyond the fund (the shortfall of bankrupt "
        "liquidations).</span>"
    ) in html


def test_a_fund_at_0_or_more_has_no_such_line(operator_client, insurance_fund):
    html = operator_client.get(URL).content.decode()

    assert '<span data-figure="insurance-balance">1,000,000.00</span>' in html
    assert 'id="insurance-negative"' not in html
