"""The back office's Ledger page: read-only, filtered by kind, user and date, exported as CSV
exactly as filtered (stored decimals, never floats), with check_ledger's verdict on the page."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.models import LedgerEntry, Wallet
from trading.services import order_place, wallet_deposit, wallet_reset

pytestmark = pytest.mark.django_db

LEDGER = "/admin/trading/ledgerentry/"
EXPORT = f"{LEDGER}export.csv"
HEADER = [
    "id",
    "time_utc",
    "kind",
    "user",
    "amount_usdt",
    "from",
    "to",
    "position",
    "order",
    "memo",
]


def exported(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ledger.csv"'
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def csv_row(entry: LedgerEntry, *, user: str, source: str, destination: str) -> list[str]:
    return [
        str(entry.pk),
        entry.created_at.isoformat(),
        entry.kind,
        user,
        format(entry.amount, "f"),
        source,
        destination,
        str(entry.position_id or ""),
        str(entry.order_id or ""),
        entry.memo,
    ]


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_every_entry_with_its_exact_amount_and_accounts(operator_client, trader):
    wallet_deposit(user=trader, amount="0.12345678", memo="tip")

    response = operator_client.get(LEDGER)

    assert response.status_code == 200
    content = response.content.decode()
    assert '<td class="field-amount_exact">0.12345678</td>' in content
    assert '<td class="field-amount_exact">10000.00000000</td>' in content
    assert '<td class="field-source_name">Paper deposits</td>' in content
    assert '<td class="field-destination_name">wallet of alice</td>' in content


def test_an_isolated_margin_account_is_named_with_its_position_and_symbol(operator_client, trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    position_id = trader.positions.get().pk

    content = operator_client.get(LEDGER, {"kind__exact": "ISOLATED_MARGIN"}).content.decode()

    assert (
        f'<td class="field-destination_name">isolated margin of position {position_id} '
        "(BTCUSDT)</td>" in content
    )


def test_the_list_filters_by_kind_user_and_date(operator_client, trader, make_trader):
    bob = make_trader("bob")
    wallet_deposit(user=bob, amount="7", memo="bob's tip")
    wallet_reset(user=trader)
    today = LedgerEntry.objects.latest("pk").created_at

    by_kind = operator_client.get(LEDGER, {"kind__exact": "RESET"}).context["cl"]
    by_user = operator_client.get(LEDGER, {"user__id__exact": bob.pk}).context["cl"]
    by_day = operator_client.get(
        LEDGER,
        {
            "created_at__year": today.year,
            "created_at__month": today.month,
            "created_at__day": today.day,
        },
    ).context["cl"]
    other_year = operator_client.get(LEDGER, {"created_at__year": today.year - 1}).context["cl"]

    assert {entry.kind for entry in by_kind.result_list} == {"RESET"}
    assert by_kind.result_count == 2
    assert [(entry.kind, str(entry.amount)) for entry in by_user.result_list] == [
        ("DEPOSIT", "7.00000000"),
        ("DEPOSIT", "10000.00000000"),
    ]
    assert by_day.result_count == LedgerEntry.objects.count() == 6  # with the operator's
    assert other_year.result_count == 0


def test_the_list_costs_the_same_queries_for_few_or_many_entries(operator_client, make_trader):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert operator_client.get(LEDGER).status_code == 200
        return len(captured)

    first = make_trader()
    order_place(user=first, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    few = queries()
    for _ in range(6):
        user = make_trader()
        order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
        order_place(user=user, symbol="ETHUSDT", side="SELL", quantity="1", margin_mode="CROSS")

    assert queries() == few


def test_the_page_says_the_books_balance(operator_client, trader, balanced_ledger):
    response = operator_client.get(LEDGER)

    assert "check_ledger: the books balance." in response.content.decode()


def test_the_page_lists_every_broken_invariant(operator_client, trader):
    Wallet.objects.filter(user=trader).update(balance="10001")  # a bug, as check_ledger sees it

    content = operator_client.get(LEDGER).content.decode()

    assert "check_ledger: the books do not balance." in content
    assert (
        f"wallet of user {trader.pk} shows 10001.00000000 USDT but its ledger entries add up to "
        "10000.00000000 USDT" in content
    )
    assert "the books balance." not in content


# --- read only ---------------------------------------------------------------------------------


def test_no_one_adds_changes_or_deletes_an_entry(operator_client, trader, unchanged):
    entry = LedgerEntry.objects.get(user=trader)

    with unchanged():
        add = operator_client.post(f"{LEDGER}add/", {"kind": "DEPOSIT", "amount": "5"})
        change = operator_client.post(f"{LEDGER}{entry.pk}/change/", {"amount": "5"})
        delete = operator_client.post(f"{LEDGER}{entry.pk}/delete/", {"post": "yes"})
        bulk = operator_client.post(
            LEDGER, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
        )
    view = operator_client.get(f"{LEDGER}{entry.pk}/change/")

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert bulk.status_code == 403  # no action is offered here: a forged one is refused
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()
    assert '<div class="readonly">10000.00000000</div>' in view.content.decode()


# --- CSV -------------------------------------------------------------------------------------


def test_the_csv_holds_the_filtered_rows_with_exact_decimals(
    operator_client, operator, trader, make_trader
):
    bob = make_trader("bob")
    wallet_deposit(user=trader, amount="0.00000001", memo='quote "this", and that')
    wallet_reset(user=trader)
    start, tip, reset_out, reset_in = LedgerEntry.objects.filter(user=trader).order_by("pk")

    everything = exported(operator_client.get(EXPORT))
    alice_resets = exported(
        operator_client.get(EXPORT, {"kind__exact": "RESET", "user__id__exact": trader.pk})
    )

    wallet = "wallet of alice"
    assert alice_resets == [
        HEADER,
        csv_row(reset_in, user="alice", source="Paper deposits", destination=wallet),
        csv_row(reset_out, user="alice", source=wallet, destination="Paper deposits"),
    ]
    assert alice_resets[1][4] == "10000.00000000"
    assert alice_resets[2][4] == "10000.00000001"
    bob_start = LedgerEntry.objects.get(user=bob)
    assert everything == [
        HEADER,
        *(
            csv_row(entry, user="alice", source=source, destination=destination)
            for entry, source, destination in [
                (reset_in, "Paper deposits", wallet),
                (reset_out, wallet, "Paper deposits"),
                (tip, "Paper deposits", wallet),
            ]
        ),
        csv_row(bob_start, user="bob", source="Paper deposits", destination="wallet of bob"),
        csv_row(start, user="alice", source="Paper deposits", destination=wallet),
        csv_row(
            LedgerEntry.objects.get(user=operator),
            user="operator",
            source="Paper deposits",
            destination="wallet of operator",
        ),
    ]
    assert everything[3][9] == 'quote "this", and that'


def test_the_list_links_to_the_csv_of_its_filters(operator_client, trader):
    content = operator_client.get(LEDGER, {"kind__exact": "DEPOSIT"}).content.decode()

    assert f'href="{EXPORT}?kind__exact=DEPOSIT"' in content


def test_a_csv_with_an_unknown_filter_is_refused(operator_client, trader):
    response = operator_client.get(EXPORT, {"amount__gt": "0", "nonsense": "1"})

    assert response.status_code == 400


# --- who may ---------------------------------------------------------------------------------


def test_support_sees_the_ledger_and_its_csv(support_client, trader):
    assert support_client.get(LEDGER).status_code == 200
    rows = exported(support_client.get(EXPORT, {"user__id__exact": trader.pk}))
    assert [row[4] for row in rows[1:]] == ["10000.00000000"]


@pytest.mark.parametrize("url", [LEDGER, EXPORT])
def test_a_non_staff_user_gets_no_ledger_page(trader_client, url):
    response = trader_client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
