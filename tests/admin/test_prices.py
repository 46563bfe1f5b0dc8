"""The back office's Prices page: each instrument's mark, its source, its hold and its running
drill with its progress, the price feed's status above the list; the actions "Set a manual
price", "Start a drill" and "Release the override" (permission trading.move_prices), each a plain
form between the list and the service, written to the audit log; every refusal is a 4xx with
its message and changes nothing; support may look but not act; non-staff get no admin page.

Seeded market: BTCUSDT 60,000 (tick 0.1), ETHUSDT 3,000, SOLUSDT 150."""

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.models import AuditEntry, FeedStatus, MarkPrice, PriceDrill
from trading.services import mark_price_set, price_drill_start

pytestmark = pytest.mark.django_db

D = Decimal
PRICES = "/admin/trading/markprice/"
DRILLS = "/admin/trading/pricedrill/"
NOW = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def mark_of(symbol: str) -> MarkPrice:
    return MarkPrice.objects.select_related("instrument").get(instrument__symbol=symbol)


def btc() -> tuple[Decimal, str, bool]:
    mark = mark_of("BTCUSDT")
    return mark.price, mark.source, mark.held


def choose(client, action: str, *symbols):
    """The action's first step: rows ticked on the list, the action chosen."""
    selected = [mark_of(symbol).pk for symbol in symbols]
    return client.post(PRICES, {"action": action, "_selected_action": selected})


def act(client, action: str, *symbols, **data):
    """The action's second step: the operator submitted its form ("apply")."""
    selected = [mark_of(symbol).pk for symbol in symbols]
    return client.post(
        PRICES, {"action": action, "_selected_action": selected, "apply": "Apply", **data}
    )


def audit_rows() -> list[tuple]:
    return list(
        AuditEntry.objects.order_by("pk").values_list(
            "actor_username", "action", "target_type", "target_label", "before", "after", "reason"
        )
    )


@pytest.fixture
def nothing_changes(unchanged):
    """unchanged(), and also every mark's hold, every drill and the audit log as they were."""

    def state():
        return (
            list(MarkPrice.objects.order_by("pk").values_list("price", "source", "held")),
            list(PriceDrill.objects.order_by("pk").values()),
            AuditEntry.objects.count(),
        )

    @contextlib.contextmanager
    def guard():
        before = state()
        with unchanged():
            yield
        assert state() == before

    return guard


@pytest.fixture
def frozen(monkeypatch):
    """The page's clock at NOW (drill progress depends on it)."""
    monkeypatch.setattr("trading.admin.prices.timezone", SimpleNamespace(now=lambda: NOW))


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_each_mark_its_source_and_hold(operator_client, market):
    mark_price_set(symbol="ETHUSDT", price="2500.5")

    content = operator_client.get(PRICES).content.decode()

    assert '<td class="field-price_exact">60000</td>' in content
    assert '<td class="field-price_exact">2500.5</td>' in content
    assert '<td class="field-source">Manual</td>' in content
    assert '<td class="field-source">Seed</td>' in content
    assert content.count('<td class="field-drill">-</td>') == 3


def test_the_list_shows_a_running_drill_and_how_far_it_has_gone(
    operator_client, operator, market, frozen
):
    price_drill_start(
        operator=operator,
        symbol="BTCUSDT",
        move_percent="-20",
        seconds=60,
        reason="crash rehearsal",
        now=NOW - timedelta(seconds=90),
    )

    content = operator_client.get(PRICES).content.decode()

    assert (
        '<span class="drill-progress">-20 % over 60 s from 60000: 90 s in (75 %), coming back; '
        "now 54000</span>"
    ) in content
    assert '<td class="field-source">Drill</td>' in content
    assert content.count('<td class="field-drill">-</td>') == 2


def test_the_list_costs_the_same_queries_with_one_drill_or_three(operator_client, operator, market):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(PRICES).status_code == 200
        return len(captured)

    price_drill_start(
        operator=operator, symbol="BTCUSDT", move_percent="-5", seconds=60, reason="r"
    )
    one = queries()
    for symbol in ("ETHUSDT", "SOLUSDT"):
        price_drill_start(
            operator=operator, symbol=symbol, move_percent="5", seconds=60, reason="r"
        )

    assert queries() == one <= 12


def test_the_page_says_the_feed_has_not_ticked_yet(operator_client, market):
    assert 'id="feed-never"' in operator_client.get(PRICES).content.decode()


def test_the_page_shows_a_working_feed_with_its_last_tick_and_past_error(operator_client, market):
    FeedStatus.objects.create(
        name="marks",
        source="live",
        last_tick_at=NOW,
        last_error="HTTP 502 from the exchange",
        last_error_at=NOW - timedelta(minutes=5),
    )

    content = operator_client.get(PRICES).content.decode()

    assert '<td id="feed-source">live</td>' in content
    assert '<td id="feed-last-tick">2026-01-05 12:00:00 UTC</td>' in content
    assert "HTTP 502 from the exchange (2026-01-05 11:55:00 UTC)" in content
    assert 'id="feed-ok"' in content
    assert 'id="feed-failing"' not in content


def test_the_page_says_when_the_feed_is_failing(operator_client, market):
    FeedStatus.objects.create(
        name="marks",
        source="live",
        last_tick_at=NOW - timedelta(minutes=1),
        last_error="exchange unreachable",
        last_error_at=NOW,
    )

    content = operator_client.get(PRICES).content.decode()

    assert 'id="feed-failing"' in content
    assert 'id="feed-ok"' not in content
    assert "exchange unreachable (2026-01-05 12:00:00 UTC)" in content


def test_a_mark_cannot_be_added_edited_or_deleted(operator_client, market):
    mark = mark_of("BTCUSDT")

    page = operator_client.get(f"{PRICES}{mark.pk}/change/").content.decode()

    assert 'name="price"' not in page
    assert 'name="_save"' not in page
    assert operator_client.get(f"{PRICES}add/").status_code == 403
    assert operator_client.get(f"{PRICES}{mark.pk}/delete/").status_code == 403
    content = operator_client.get(PRICES).content.decode()
    assert 'value="delete_selected"' not in content


def test_the_drills_page_lists_every_drill_read_only(operator_client, operator, market):
    price_drill_start(
        operator=operator, symbol="BTCUSDT", move_percent="-20", seconds=60, reason="r"
    )

    response = operator_client.get(DRILLS)

    assert response.status_code == 200
    assert '<td class="field-status">Running</td>' in response.content.decode()
    assert operator_client.get(f"{DRILLS}add/").status_code == 403


# --- set a manual price ------------------------------------------------------------------------


def test_set_a_manual_price_asks_for_the_price_and_a_reason(operator_client, market):
    response = choose(operator_client, "set_manual_price", "BTCUSDT")

    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="price"' in content
    assert 'name="reason"' in content
    assert btc() == (D("60000"), "seed", False)


def test_set_a_manual_price_holds_it_and_records_it(operator_client, market):
    response = act(
        operator_client, "set_manual_price", "BTCUSDT", price="52000.5", reason="news drill"
    )

    assert response.status_code == 302
    assert btc() == (D("52000.5"), "manual", True)
    assert audit_rows() == [
        (
            "operator",
            "MARK_PRICE_SET",
            "trading.MarkPrice",
            "BTCUSDT mark price",
            {"price": "60000", "source": "seed", "held": False},
            {"price": "52000.5", "source": "manual", "held": True},
            "news drill",
        )
    ]
    page = operator_client.get(PRICES).content.decode()
    assert "BTCUSDT&#x27;s mark is 52000.5 (manual); it holds until released." in page


def test_a_manual_price_during_a_drill_cancels_the_drill(operator_client, operator, market):
    drill = price_drill_start(
        operator=operator, symbol="BTCUSDT", move_percent="-20", seconds=60, reason="r"
    )

    act(operator_client, "set_manual_price", "BTCUSDT", price="55000", reason="take over")

    drill.refresh_from_db()
    assert drill.status == "CANCELED"
    assert btc() == (D("55000"), "manual", True)


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("0", "A mark price must be at least one tick (0.1)."),
        ("-5", "A mark price must be at least one tick (0.1)."),
        ("0.05", "A mark price must be at least one tick (0.1)."),
        ("NaN", "Price must be a finite number."),
        ("1e400", "Price is too large."),
        ("abc", "Price must be a number, not &#x27;abc&#x27;."),
    ],
)
def test_a_bad_manual_price_is_refused_with_its_message(
    operator_client, market, nothing_changes, price, message
):
    with nothing_changes():
        response = act(operator_client, "set_manual_price", "BTCUSDT", price=price, reason="r")

    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("data", [{"price": "", "reason": "r"}, {"price": "50000", "reason": ""}])
def test_a_manual_price_form_with_a_field_missing_is_refused(
    operator_client, market, nothing_changes, data
):
    with nothing_changes():
        response = act(operator_client, "set_manual_price", "BTCUSDT", **data)

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_a_manual_price_for_two_instruments_at_once_is_refused(
    operator_client, market, nothing_changes
):
    with nothing_changes():
        response = act(
            operator_client, "set_manual_price", "BTCUSDT", "ETHUSDT", price="100", reason="r"
        )

    assert response.status_code == 400
    assert "Select exactly one instrument for this action." in response.content.decode()


# --- start a drill -----------------------------------------------------------------------------


def test_start_a_drill_asks_for_the_move_the_seconds_and_a_reason(operator_client, market):
    response = choose(operator_client, "start_drill", "BTCUSDT")

    content = response.content.decode()
    assert response.status_code == 200
    for field in ("move_percent", "seconds", "reason"):
        assert f'name="{field}"' in content
    assert PriceDrill.objects.count() == 0


def test_start_a_drill_holds_the_mark_and_records_the_drill(operator_client, operator, market):
    response = act(
        operator_client,
        "start_drill",
        "BTCUSDT",
        move_percent="-20",
        seconds="60",
        reason="crash rehearsal",
    )

    assert response.status_code == 302
    drill = PriceDrill.objects.get()
    assert (drill.instrument.symbol, drill.start_price, drill.move_percent, drill.seconds) == (
        "BTCUSDT",
        D("60000"),
        D("-20"),
        60,
    )
    assert (drill.status, drill.started_by, drill.ended_at) == ("RUNNING", operator, None)
    assert btc() == (D("60000"), "drill", True)
    [entry] = AuditEntry.objects.all()
    assert (entry.actor, entry.action, entry.target_type, entry.target_id) == (
        operator,
        "PRICE_DRILL_STARTED",
        "trading.PriceDrill",
        str(drill.pk),
    )
    assert (entry.before, entry.reason) == (
        {"price": "60000", "source": "seed", "held": False},
        "crash rehearsal",
    )
    assert entry.after == {
        "price": "60000",
        "source": "drill",
        "held": True,
        "move_percent": "-20",
        "seconds": 60,
        "started_at": drill.started_at.isoformat(),
    }
    page = operator_client.get(PRICES).content.decode()
    assert "Drill started on BTCUSDT: -20 % over 60 s from 60000, and back." in page


@pytest.mark.parametrize(
    ("move_percent", "seconds", "message"),
    [
        ("0", "60", "A drill moves the price: give a move other than 0 %."),
        ("-100", "60", "A drill moves the price by -99 % to +900 %"),
        ("1000", "60", "A drill moves the price by -99 % to +900 %"),
        ("NaN", "60", "The move is a number of percent, such as -20 (a drop of 20 %)."),
        ("1e400", "60", "The move is a number of percent, such as -20 (a drop of 20 %)."),
        ("-20", "0", "A drill takes 1 to 3600 seconds to get there."),
        ("-20", "3601", "A drill takes 1 to 3600 seconds to get there."),
        ("-20", "9999999999", "Give the seconds as a whole number, such as 60."),
        ("-20", "1.5", "Give the seconds as a whole number, such as 60."),
    ],
)
def test_a_bad_drill_is_refused_with_its_message(
    operator_client, market, nothing_changes, move_percent, seconds, message
):
    with nothing_changes():
        response = act(
            operator_client,
            "start_drill",
            "BTCUSDT",
            move_percent=move_percent,
            seconds=seconds,
            reason="r",
        )

    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_drill_without_a_reason_is_refused(operator_client, market, nothing_changes):
    with nothing_changes():
        response = act(
            operator_client, "start_drill", "BTCUSDT", move_percent="-20", seconds="60", reason=""
        )

    assert response.status_code == 400


def test_a_second_drill_on_the_instrument_is_refused(
    operator_client, operator, market, nothing_changes
):
    price_drill_start(
        operator=operator, symbol="BTCUSDT", move_percent="-20", seconds=60, reason="r"
    )

    with nothing_changes():
        response = act(
            operator_client, "start_drill", "BTCUSDT", move_percent="10", seconds="5", reason="r"
        )

    assert response.status_code == 409
    assert "A drill already runs on BTCUSDT" in response.content.decode()


# --- release the override ----------------------------------------------------------------------


def test_release_a_manual_price_and_record_it(operator_client, market):
    mark_price_set(symbol="BTCUSDT", price="50000")

    response = act(operator_client, "release_override", "BTCUSDT", reason="back to the feed")

    assert response.status_code == 302
    assert btc() == (D("50000"), "manual", False)
    assert audit_rows() == [
        (
            "operator",
            "MARK_PRICE_RELEASED",
            "trading.MarkPrice",
            "BTCUSDT mark price",
            {"price": "50000", "source": "manual", "held": True},
            {"price": "50000", "source": "manual", "held": False},
            "back to the feed",
        )
    ]


def test_release_a_running_drill_cancels_it(operator_client, operator, market):
    drill = price_drill_start(
        operator=operator, symbol="BTCUSDT", move_percent="-20", seconds=60, reason="r"
    )

    response = act(operator_client, "release_override", "BTCUSDT", reason="enough")

    assert response.status_code == 302
    drill.refresh_from_db()
    assert drill.status == "CANCELED"
    assert drill.ended_at is not None
    assert btc() == (D("60000"), "drill", False)
    entry = AuditEntry.objects.get(action="MARK_PRICE_RELEASED")
    assert entry.after == {
        "price": "60000",
        "source": "drill",
        "held": False,
        "drill": {"id": drill.pk, "status": "CANCELED"},
    }


def test_releasing_a_mark_nothing_holds_is_refused(operator_client, market, nothing_changes):
    with nothing_changes():
        response = act(operator_client, "release_override", "BTCUSDT", reason="r")

    assert response.status_code == 409
    assert "BTCUSDT&#x27;s mark is not held: the price feed already moves it." in (
        response.content.decode()
    )


# --- who may -----------------------------------------------------------------------------------


ACTIONS = {
    "set_manual_price": {"price": "1000", "reason": "r"},
    "start_drill": {"move_percent": "-50", "seconds": "10", "reason": "r"},
    "release_override": {"reason": "r"},
}


def test_support_sees_the_page_but_is_offered_no_action(support_client, market):
    response = support_client.get(PRICES)

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="feed-status"' in content
    assert '<td class="field-price_exact">60000</td>' in content
    for action in ACTIONS:
        assert f'value="{action}"' not in content


@pytest.mark.parametrize("action", ACTIONS)
def test_support_forging_an_action_changes_nothing(support_client, market, nothing_changes, action):
    mark_price_set(symbol="ETHUSDT", price="2000")  # something to release

    with nothing_changes():
        first = choose(support_client, action, "ETHUSDT")
        second = act(support_client, action, "ETHUSDT", **ACTIONS[action])

    for response in (first, second):
        assert response.status_code == 403  # not offered to support: refused
        assert 'name="apply"' not in response.content.decode()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_trader_who_is_not_staff_gets_no_page_and_no_action(
    trader_client, client, market, nothing_changes, action
):
    mark_price_set(symbol="ETHUSDT", price="2000")

    with nothing_changes():
        for anyone in (trader_client, client):
            assert anyone.get(PRICES).status_code == 302
            assert act(anyone, action, "ETHUSDT", **ACTIONS[action]).status_code == 302


# --- the index's "Recent actions": the admin's log, beside the audit log ---------------------


def test_a_manual_price_and_a_drill_show_in_the_recent_actions(operator_client, operator, market):
    act(operator_client, "set_manual_price", "BTCUSDT", price="52000.5", reason="news drill")
    act(
        operator_client,
        "start_drill",
        "ETHUSDT",
        move_percent="-20",
        seconds="60",
        reason="crash rehearsal",
    )

    # then each is in the admin's log, on its mark, with what it did
    assert list(
        LogEntry.objects.order_by("pk").values_list(
            "user__username", "action_flag", "object_repr", "change_message"
        )
    ) == [
        (
            "operator",
            CHANGE,
            "BTCUSDT 52000.50000000",
            "BTCUSDT's mark is 52000.5 (manual); it holds until released.",
        ),
        (
            "operator",
            CHANGE,
            "ETHUSDT 3000.00000000",
            "Drill started on ETHUSDT: -20 % over 60 s from 3000, and back.",
        ),
    ]
    # and the index lists them under "Recent actions"
    index = operator_client.get("/admin/").content.decode()
    recent = index[index.index('id="recent-actions-module"') :]
    btc_mark, eth_mark = mark_of("BTCUSDT").pk, mark_of("ETHUSDT").pk
    assert f'<a href="/admin/trading/markprice/{btc_mark}/change/">BTCUSDT 52000.50000000</a>' in (
        recent
    )
    assert f'<a href="/admin/trading/markprice/{eth_mark}/change/">ETHUSDT 3000.00000000</a>' in (
        recent
    )


def test_a_refused_action_is_not_in_the_recent_actions(operator_client, market):
    act(operator_client, "set_manual_price", "BTCUSDT", price="-1", reason="typo")

    assert not LogEntry.objects.exists()
