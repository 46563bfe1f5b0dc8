"""/settings over HTTP: its four trading forms (the default margin mode, a symbol's default mode,
leverage, the reset) and the API keys. Every refusal is shown inline with its 4xx status and
changes nothing; the page makes a fixed number of queries."""

import html
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertInHTML, assertRedirects

from tests.builders import wallet_balance
from trading.engine import Bracket
from trading.models import Instrument, LeverageSetting, Preferences, SymbolMarginMode, Wallet
from trading.selectors import instrument_list, leverage_for, margin_mode_default
from trading.selectors.settings_page import account_settings
from trading.services import (
    instrument_create,
    leverage_set,
    order_place,
    symbol_margin_mode_set,
    wallet_deposit,
)

pytestmark = pytest.mark.django_db

SETTINGS_FORMS = {
    "/settings/default-mode/": {"default_margin_mode": "ISOLATED"},
    "/settings/symbol-mode/": {"symbol": "BTCUSDT", "margin_mode": "ISOLATED"},
    "/settings/leverage/": {"symbol": "BTCUSDT", "margin_mode": "CROSS", "leverage": "10"},
    "/settings/reset/": {"confirm": "on"},
}


def text(response) -> str:
    """The page as a person reads it: entities decoded (an apostrophe is &#x27; in the HTML)."""
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def error_box(form: str, message: str, *, target: str = "") -> str:
    label = f"<strong>{target}:</strong> " if target else ""
    return f'<div class="error-box" role="alert" id="{form}-error">{label}{message}</div>'


def leverage_input(symbol: str, mode: str, value: int, maximum: int, *, refused=False) -> str:
    invalid = ' aria-invalid="true" aria-describedby="leverage-error"' if refused else ""
    return (
        f'<input type="number" name="leverage" id="leverage-{symbol.lower()}-{mode.lower()}" '
        f'value="{value}" min="1" max="{maximum}" step="1" inputmode="numeric" required{invalid}>'
    )


def radio(name: str, element_id: str, value: str, *, checked: bool) -> str:
    return (
        f'<input type="radio" name="{name}" value="{value}" id="{element_id}" required'
        f"{' checked' if checked else ''}>"
    )


def shown_after_redirect(client, response) -> str:
    """The leverage form answers 303 (post/redirect/get): the page it sends to, as read next."""
    assert (response.status_code, response["Location"]) == (303, "/settings/")
    return client.get("/settings/").content.decode()


def symbol_mode_cell(symbol: str, mode: str, *, own: bool) -> str:
    source = f"set for {symbol}" if own else "your default"
    return (
        f'<td data-figure="symbol-mode" id="mode-{symbol}"><span class="badge {mode.lower()}">'
        f'{mode.title()}</span> <span class="hint">{source}</span></td>'
    )


def stored_leverage(user) -> list[tuple]:
    return list(
        LeverageSetting.objects.filter(user=user)
        .order_by("instrument__symbol", "margin_mode")
        .values_list("instrument__symbol", "margin_mode", "leverage")
    )


def stored_symbol_modes(user) -> list[tuple]:
    return list(
        SymbolMarginMode.objects.filter(user=user)
        .order_by("instrument__symbol")
        .values_list("instrument__symbol", "margin_mode")
    )


def default_mode(user) -> str:
    return Preferences.objects.get(user=user).default_margin_mode


# /settings: who may see and post


def test_anonymous_visitors_are_sent_to_log_in(client, market):
    assertRedirects(client.get("/settings/"), "/login/?next=/settings/")


@pytest.mark.parametrize(("url", "data"), SETTINGS_FORMS.items())
def test_anonymous_posts_to_settings_are_sent_to_log_in_and_change_nothing(
    client, trader, unchanged, url, data
):
    wallet_deposit(user=trader, amount="5")

    with unchanged():
        response = client.post(url, data)

    assertRedirects(response, f"/login/?next={url}", fetch_redirect_response=False)


@pytest.mark.parametrize("url", SETTINGS_FORMS)
def test_settings_forms_accept_only_post(signed_in, unchanged, url):
    with unchanged():
        assert signed_in.get(url).status_code == 405


def test_settings_forms_need_the_csrf_token(trader, unchanged):
    # given a browser-like client that enforces CSRF, signed in as alice
    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)

    # then the page carries a token in each of its 10 forms (1 default mode, 3 symbol modes,
    # 6 leverages) plus the reset, the new API key and the log-out
    page = client.get("/settings/").content.decode()
    assert page.count('name="csrfmiddlewaretoken"') == 13
    # and a post without it is forbidden and changes nothing
    for url, data in SETTINGS_FORMS.items():
        with unchanged():
            assert client.post(url, data).status_code == 403


# /settings: the page


def test_settings_page_shows_the_defaults_of_a_new_trader(signed_in):
    response = signed_in.get("/settings/")

    assert response.status_code == 200
    page = response.content.decode()
    # the default margin mode: Cross, with the two modes explained
    assertInHTML(radio("default_margin_mode", "default-mode-cross", "CROSS", checked=True), page)
    assertInHTML(
        radio("default_margin_mode", "default-mode-isolated", "ISOLATED", checked=False), page
    )
    readable = text(response)
    assert "a single bad trade can deplete your entire cross balance" in readable
    assert "only that margin is lost" in readable
    # every symbol follows it: "Default (Cross)" is its checked choice
    for symbol in ["BTCUSDT", "ETHUSDT", "SOLUSDT"]:
        assertInHTML(symbol_mode_cell(symbol, "CROSS", own=False), page)
        assertInHTML(
            f'<label class="chip" for="symbol-mode-{symbol}-default">'
            + radio("margin_mode", f"symbol-mode-{symbol}-default", "DEFAULT", checked=True)
            + "<span>Default (Cross)</span></label>",
            page,
        )
        for mode in ["cross", "isolated"]:
            assertInHTML(
                radio("margin_mode", f"symbol-mode-{symbol}-{mode}", mode.upper(), checked=False),
                page,
            )
    # every leverage is the instrument's default, 20x, up to its maximum
    for symbol, maximum in [("BTCUSDT", 125), ("ETHUSDT", 125), ("SOLUSDT", 75)]:
        for mode in ["CROSS", "ISOLATED"]:
            assertInHTML(leverage_input(symbol, mode, 20, maximum), page)
        assert f'{symbol}<span class="hint block">max {maximum}x</span>' in page
    # and the reset, with the balance and what it does
    assert '<strong data-figure="wallet">10,000.00 USDT</strong>' in page
    assert "I understand that my balance returns to 10,000 USDT and my history stays." in page
    assert "A reset is refused while a position or an order is open" not in page


def test_settings_page_shows_the_stored_settings_and_what_is_open(signed_in, trader):
    # given an Isolated default, ETHUSDT set to Cross, leverages stored, a BTCUSDT isolated
    # position, an ETHUSDT cross limit order, and 1,234.5 more in the wallet
    Preferences.objects.filter(user=trader).update(default_margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="ETHUSDT", margin_mode="CROSS")
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=50)
    leverage_set(user=trader, symbol="SOLUSDT", margin_mode="ISOLATED", leverage=75)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    order_place(
        user=trader,
        symbol="ETHUSDT",
        side="BUY",
        quantity="1",
        order_type="LIMIT",
        price="2900",
        margin_mode="CROSS",
    )
    wallet_deposit(user=trader, amount="1234.5")

    response = signed_in.get("/settings/")

    page = response.content.decode()
    assertInHTML(
        radio("default_margin_mode", "default-mode-isolated", "ISOLATED", checked=True), page
    )
    assertInHTML(symbol_mode_cell("BTCUSDT", "ISOLATED", own=False), page)
    assertInHTML(symbol_mode_cell("ETHUSDT", "CROSS", own=True), page)
    assertInHTML(symbol_mode_cell("SOLUSDT", "ISOLATED", own=False), page)
    assertInHTML(radio("margin_mode", "symbol-mode-ETHUSDT-cross", "CROSS", checked=True), page)
    assertInHTML('<td id="open-BTCUSDT"><span class="tag">Isolated position</span></td>', page)
    assertInHTML('<td id="open-ETHUSDT"><span class="tag">Cross orders</span></td>', page)
    assertInHTML('<td id="open-SOLUSDT"><span class="muted">nothing</span></td>', page)
    assertInHTML(leverage_input("BTCUSDT", "CROSS", 10, 125), page)
    assertInHTML(leverage_input("BTCUSDT", "ISOLATED", 50, 125), page)
    assertInHTML(leverage_input("ETHUSDT", "CROSS", 20, 125), page)
    assertInHTML(leverage_input("SOLUSDT", "ISOLATED", 75, 75), page)
    assert page.count('<span class="tag">open position</span>') == 1
    # 10,000 + 1,234.5 - the fee of 3 - the isolated margin of 6,000 / 50 = 120
    assert '<strong data-figure="wallet">11,111.50 USDT</strong>' in page
    assert "A reset is refused while a position or an order is open" in text(response)


def test_settings_page_queries_do_not_grow_with_instruments_or_settings(
    client_of, trader, django_assert_max_num_queries
):
    """The positions stay the same on both pages: the account panel's figures (the context
    processor, outside this page) read the brackets of each instrument a position is open on."""
    # given a trader with the 3 seeded instruments, a cross and an isolated BTCUSDT position and
    # nothing stored
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.01", margin_mode="CROSS")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.01", margin_mode="ISOLATED")
    client = client_of(trader)
    with django_assert_max_num_queries(17), CaptureQueriesContext(connection) as three:
        assert client.get("/settings/").status_code == 200

    # when 2 instruments are added, every (symbol, mode) has a stored leverage, every symbol
    # without a position its own mode, and orders are open on two symbols
    for symbol in ["XRPUSDT", "DOGEUSDT"]:
        instrument_create(
            symbol=symbol,
            base_asset=symbol.removesuffix("USDT"),
            quote_asset="USDT",
            tick_size=Decimal("0.0001"),
            step_size=Decimal("1"),
            min_quantity=Decimal("1"),
            min_notional=Decimal("5"),
            default_leverage=20,
            taker_fee_rate=Decimal("0.0005"),
            maker_fee_rate=Decimal("0.0002"),
            liquidation_fee_rate=Decimal("0.0125"),
            brackets=[Bracket(Decimal("0"), Decimal("1000000"), 50, Decimal("0.01"), Decimal("0"))],
        )
    for instrument in Instrument.objects.all():
        for mode, leverage in [("CROSS", 20), ("ISOLATED", 30)]:
            leverage_set(user=trader, symbol=instrument.symbol, margin_mode=mode, leverage=leverage)
        if instrument.symbol != "BTCUSDT":
            symbol_margin_mode_set(user=trader, symbol=instrument.symbol, margin_mode="ISOLATED")
    for symbol, price in [("ETHUSDT", "2900"), ("SOLUSDT", "140")]:
        order_place(
            user=trader, symbol=symbol, side="BUY", quantity="1", order_type="LIMIT", price=price
        )

    # then the page of 5 instruments makes no more queries than the page of 3
    with django_assert_max_num_queries(len(three.captured_queries)):
        response = client.get("/settings/")
    assert response.status_code == 200
    content = response.content.decode()
    assertInHTML(leverage_input("DOGEUSDT", "ISOLATED", 30, 50), content)
    assertInHTML('<td id="open-SOLUSDT"><span class="tag">Isolated orders</span></td>', content)


def test_account_settings_agrees_with_the_per_symbol_selectors(trader):
    # given a mix of stored and default settings
    Preferences.objects.filter(user=trader).update(default_margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED", leverage=3)

    # then the bulk read gives what the per-symbol selectors give, for every symbol and mode
    rows = account_settings(user=trader).symbols
    assert [row.instrument.symbol for row in rows] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    for row, instrument in zip(rows, instrument_list(), strict=True):
        assert row.margin_mode == margin_mode_default(user=trader, instrument=instrument)
        assert [(cell.margin_mode, cell.leverage) for cell in row.leverage] == [
            (mode, leverage_for(user=trader, instrument=instrument, margin_mode=mode))
            for mode in ["CROSS", "ISOLATED"]
        ]


# /settings: the default margin mode


def test_default_mode_is_saved_and_the_page_says_so(signed_in, trader):
    response = signed_in.post("/settings/default-mode/", {"default_margin_mode": "ISOLATED"})

    assertRedirects(response, "/settings/", fetch_redirect_response=False)
    assert default_mode(trader) == "ISOLATED"
    page = signed_in.get("/settings/")
    assert messages_of(page) == [
        "Your default margin mode is now Isolated. Open positions keep their mode."
    ]
    content = page.content.decode()
    assertInHTML(
        radio("default_margin_mode", "default-mode-isolated", "ISOLATED", checked=True), content
    )
    assertInHTML(symbol_mode_cell("BTCUSDT", "ISOLATED", own=False), content)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose Cross or Isolated."),
        (
            {"default_margin_mode": "HEDGE"},
            "Select a valid choice. HEDGE is not one of the available choices.",
        ),
    ],
)
def test_a_bad_default_mode_is_refused_inline_and_changes_nothing(
    signed_in, trader, unchanged, data, message
):
    with unchanged():
        response = signed_in.post("/settings/default-mode/", data)

    assert response.status_code == 400
    assertInHTML(error_box("default-mode", message), response.content.decode())
    assert default_mode(trader) == "CROSS"


# /settings: the default mode per symbol


def test_a_symbol_default_is_saved_for_that_symbol_only(signed_in, trader):
    response = signed_in.post(
        "/settings/symbol-mode/", {"symbol": "BTCUSDT", "margin_mode": "ISOLATED"}
    )

    assertRedirects(response, "/settings/", fetch_redirect_response=False)
    assert stored_symbol_modes(trader) == [("BTCUSDT", "ISOLATED")]
    page = signed_in.get("/settings/")
    assert messages_of(page) == ["New BTCUSDT orders now default to Isolated."]
    content = page.content.decode()
    assertInHTML(symbol_mode_cell("BTCUSDT", "ISOLATED", own=True), content)
    assertInHTML(
        radio("margin_mode", "symbol-mode-BTCUSDT-isolated", "ISOLATED", checked=True), content
    )
    assertInHTML(symbol_mode_cell("ETHUSDT", "CROSS", own=False), content)


def test_a_symbol_default_can_be_switched_back_to_the_other_mode(signed_in, trader):
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    response = signed_in.post(
        "/settings/symbol-mode/", {"symbol": "BTCUSDT", "margin_mode": "CROSS"}
    )

    assertRedirects(response, "/settings/", fetch_redirect_response=False)
    assert stored_symbol_modes(trader) == [("BTCUSDT", "CROSS")]


def test_a_symbol_goes_back_to_following_the_default(signed_in, trader):
    # given an Isolated default and BTCUSDT set to Cross
    Preferences.objects.filter(user=trader).update(default_margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")
    page = signed_in.get("/settings/").content.decode()
    assertInHTML(radio("margin_mode", "symbol-mode-BTCUSDT-cross", "CROSS", checked=True), page)
    assertInHTML(
        radio("margin_mode", "symbol-mode-BTCUSDT-default", "DEFAULT", checked=False), page
    )
    assert "<span>Default (Isolated)</span>" in page

    # when "Default (Isolated)" is saved for it
    response = signed_in.post(
        "/settings/symbol-mode/", {"symbol": "BTCUSDT", "margin_mode": "DEFAULT"}
    )

    # then it has no mode of its own: its orders follow the default, Isolated
    assertRedirects(response, "/settings/", fetch_redirect_response=False)
    assert stored_symbol_modes(trader) == []
    page = signed_in.get("/settings/")
    assert messages_of(page) == [
        "BTCUSDT follows the default again: new orders default to Isolated."
    ]
    content = page.content.decode()
    assertInHTML(symbol_mode_cell("BTCUSDT", "ISOLATED", own=False), content)
    assertInHTML(
        radio("margin_mode", "symbol-mode-BTCUSDT-default", "DEFAULT", checked=True), content
    )


def test_saving_default_for_a_symbol_that_follows_it_is_refused(signed_in, trader, unchanged):
    with unchanged():
        response = signed_in.post(
            "/settings/symbol-mode/", {"symbol": "BTCUSDT", "margin_mode": "DEFAULT"}
        )

    assert response.status_code == 400
    assertInHTML(
        error_box(
            "symbol-mode", "BTCUSDT already follows your default margin mode.", target="BTCUSDT"
        ),
        response.content.decode(),
    )


def test_going_back_to_the_default_is_refused_while_a_position_is_open_in_the_own_mode(
    signed_in, trader, unchanged
):
    # given BTCUSDT set to Isolated and an Isolated position opened in it (the default is Cross)
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    with unchanged():
        response = signed_in.post(
            "/settings/symbol-mode/", {"symbol": "BTCUSDT", "margin_mode": "DEFAULT"}
        )

    assert response.status_code == 409
    assertInHTML(
        error_box(
            "symbol-mode",
            "The margin mode of an open position cannot be changed. Close your BTCUSDT "
            "Isolated position and reopen it in Cross mode.",
            target="BTCUSDT",
        ),
        response.content.decode(),
    )


def test_a_symbol_default_equal_to_the_current_mode_is_refused(signed_in, trader, unchanged):
    # given BTCUSDT follows the Cross default; when Cross is chosen for it
    with unchanged():
        response = signed_in.post(
            "/settings/symbol-mode/", {"symbol": "BTCUSDT", "margin_mode": "CROSS"}
        )

    assert response.status_code == 400
    assertInHTML(
        error_box("symbol-mode", "No need to change margin type.", target="BTCUSDT"),
        response.content.decode(),
    )


def test_a_symbol_default_change_is_refused_while_a_position_is_open_in_its_mode(
    signed_in, trader, unchanged
):
    # given an open BTCUSDT cross position (Cross is BTCUSDT's mode, from the user's default)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    # when BTCUSDT's default is set to Isolated, then it is refused and nothing changed
    with unchanged():
        response = signed_in.post(
            "/settings/symbol-mode/", {"symbol": "BTCUSDT", "margin_mode": "ISOLATED"}
        )

    assert response.status_code == 409
    content = response.content.decode()
    assertInHTML(
        error_box(
            "symbol-mode",
            "The margin mode of an open position cannot be changed. Close your BTCUSDT Cross "
            "position and reopen it in Isolated mode.",
            target="BTCUSDT",
        ),
        content,
    )
    assert '<tr data-symbol="BTCUSDT" class="refused">' in content
    assert stored_symbol_modes(trader) == []


def test_a_symbol_default_change_is_refused_while_an_order_is_open_in_its_mode(
    signed_in, trader, unchanged
):
    order_place(
        user=trader,
        symbol="ETHUSDT",
        side="SELL",
        quantity="1",
        order_type="LIMIT",
        price="3100",
        margin_mode="CROSS",
    )

    with unchanged():
        response = signed_in.post(
            "/settings/symbol-mode/", {"symbol": "ETHUSDT", "margin_mode": "ISOLATED"}
        )

    assert response.status_code == 409
    assertInHTML(
        error_box(
            "symbol-mode",
            "The margin mode of an open order cannot be changed. Cancel your ETHUSDT Cross "
            "orders and place them again in Isolated mode.",
            target="ETHUSDT",
        ),
        response.content.decode(),
    )


@pytest.mark.parametrize(
    ("data", "status", "target", "message"),
    [
        ({"symbol": "BTCUSDT"}, 400, "BTCUSDT", "Choose Default, Cross or Isolated."),
        (
            {"symbol": "DOGEUSDT", "margin_mode": "ISOLATED"},
            404,
            "DOGEUSDT",
            "Unknown symbol 'DOGEUSDT'.",
        ),
        ({"margin_mode": "ISOLATED"}, 400, "", "This field is required."),
    ],
)
def test_a_bad_symbol_default_request_is_refused_inline(
    signed_in, trader, unchanged, data, status, target, message
):
    with unchanged():
        response = signed_in.post("/settings/symbol-mode/", data)

    assert response.status_code == status
    assertInHTML(
        error_box("symbol-mode", html.escape(message), target=target), response.content.decode()
    )


# /settings: leverage


def test_leverage_is_saved_for_its_symbol_and_mode_only(signed_in, trader):
    response = signed_in.post(
        "/settings/leverage/", {"symbol": "BTCUSDT", "margin_mode": "ISOLATED", "leverage": "50"}
    )

    assertRedirects(response, "/settings/", status_code=303, fetch_redirect_response=False)
    assert stored_leverage(trader) == [("BTCUSDT", "ISOLATED", 50)]
    page = signed_in.get("/settings/")
    assert messages_of(page) == ["BTCUSDT Isolated leverage is now 50x."]
    content = page.content.decode()
    assertInHTML(leverage_input("BTCUSDT", "ISOLATED", 50, 125), content)
    assertInHTML(leverage_input("BTCUSDT", "CROSS", 20, 125), content)


@pytest.mark.parametrize(
    ("leverage", "message"),
    [
        ("126", "Leverage 126x is above this symbol's maximum of 125x."),
        ("0", "Leverage must be at least 1, not 0."),
        ("ten", "Leverage must be a whole number from 1 to 125."),
        ("2.5", "Leverage must be a whole number from 1 to 125."),
        ("", "Enter a leverage, a whole number."),
    ],
)
def test_a_bad_leverage_is_refused_at_its_cell_and_changes_nothing(
    signed_in, trader, unchanged, leverage, message
):
    # given a stored BTCUSDT Cross leverage of 10x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)

    with unchanged():
        response = signed_in.post(
            "/settings/leverage/",
            {"symbol": "BTCUSDT", "margin_mode": "CROSS", "leverage": leverage},
        )

    # then the page it is sent to shows the refusal, the cell marked, still at the stored 10x
    content = shown_after_redirect(signed_in, response)
    assertInHTML(error_box("leverage", html.escape(message), target="BTCUSDT Cross"), content)
    assertInHTML(leverage_input("BTCUSDT", "CROSS", 10, 125, refused=True), content)
    assertInHTML(leverage_input("BTCUSDT", "ISOLATED", 20, 125), content)
    assert stored_leverage(trader) == [("BTCUSDT", "CROSS", 10)]
    # and once: a reload of the page shows the page alone, and sends nothing again
    assert 'id="leverage-error"' not in signed_in.get("/settings/").content.decode()


def test_lowering_isolated_leverage_under_an_open_position_is_refused(signed_in, trader, unchanged):
    # given an open BTCUSDT isolated position at 20x
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")

    with unchanged():
        response = signed_in.post(
            "/settings/leverage/",
            {"symbol": "BTCUSDT", "margin_mode": "ISOLATED", "leverage": "10"},
        )

    content = shown_after_redirect(signed_in, response)
    assertInHTML(
        error_box(
            "leverage",
            "Leverage reduction is not supported in Isolated Margin Mode with open positions.",
            target="BTCUSDT Isolated",
        ),
        content,
    )
    assertInHTML(leverage_input("BTCUSDT", "ISOLATED", 20, 125, refused=True), content)


def test_leverage_above_the_bracket_of_the_open_position_is_refused(signed_in, trader, unchanged):
    # given 1 BTC cross long at 20x: notional 60,000, above the 50,000 cap of 125x
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")

    with unchanged():
        response = signed_in.post(
            "/settings/leverage/", {"symbol": "BTCUSDT", "margin_mode": "CROSS", "leverage": "125"}
        )

    assertInHTML(
        error_box(
            "leverage",
            "At 125x the largest position is 50,000 USDT; your BTCUSDT position is 60,000 USDT.",
            target="BTCUSDT Cross",
        ),
        shown_after_redirect(signed_in, response),
    )


def test_lowering_cross_leverage_beyond_the_available_balance_is_refused(
    signed_in, trader, unchanged
):
    # given 0.8 BTC cross long at 125x (notional 48,000) and a wallet of 9,976
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.8", margin_mode="CROSS")

    # when it is lowered to 4x (margin 12,000), then it is refused
    with unchanged():
        response = signed_in.post(
            "/settings/leverage/", {"symbol": "BTCUSDT", "margin_mode": "CROSS", "leverage": "4"}
        )

    assertInHTML(
        error_box(
            "leverage",
            "At 4x your cross positions would need 2,024 USDT more than your available balance.",
            target="BTCUSDT Cross",
        ),
        shown_after_redirect(signed_in, response),
    )
    assert stored_leverage(trader) == [("BTCUSDT", "CROSS", 125)]


def test_raising_leverage_under_an_open_position_changes_the_position_too(signed_in, trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")

    response = signed_in.post(
        "/settings/leverage/", {"symbol": "BTCUSDT", "margin_mode": "ISOLATED", "leverage": "50"}
    )

    assertRedirects(response, "/settings/", status_code=303, fetch_redirect_response=False)
    assert trader.positions.get(status="OPEN").leverage == 50


@pytest.mark.parametrize(
    ("data", "target", "message"),
    [
        (
            {"symbol": "DOGEUSDT", "margin_mode": "CROSS", "leverage": "5"},
            "DOGEUSDT Cross",
            "Unknown symbol 'DOGEUSDT'.",
        ),
        (
            {"symbol": "BTCUSDT", "margin_mode": "HEDGE", "leverage": "5"},
            "BTCUSDT Hedge",
            "Select a valid choice. HEDGE is not one of the available choices.",
        ),
    ],
)
def test_a_leverage_for_an_unknown_symbol_or_mode_is_refused(
    signed_in, trader, unchanged, data, target, message
):
    with unchanged():
        response = signed_in.post("/settings/leverage/", data)

    assertInHTML(
        error_box("leverage", html.escape(message), target=target),
        shown_after_redirect(signed_in, response),
    )


# /settings: reset


def test_reset_returns_the_wallet_to_the_starting_balance_and_keeps_the_history(
    signed_in, trader, balanced_ledger
):
    # given a trader who closed a trade and got a deposit
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", reduce_only=True)
    wallet_deposit(user=trader, amount="500")
    orders_before = trader.orders.count()

    response = signed_in.post("/settings/reset/", {"confirm": "on"})

    assertRedirects(response, "/settings/", fetch_redirect_response=False)
    assert wallet_balance(trader) == Decimal("10000")
    assert trader.orders.count() == orders_before == 2
    page = signed_in.get("/settings/")
    assert messages_of(page) == ["Your paper account was reset: your wallet holds 10,000 USDT."]
    assert '<strong data-figure="wallet">10,000.00 USDT</strong>' in page.content.decode()


def test_reset_without_the_confirmation_is_refused(signed_in, trader, unchanged):
    wallet_deposit(user=trader, amount="500")

    with unchanged():
        response = signed_in.post("/settings/reset/", {})

    assert response.status_code == 400
    assertInHTML(
        error_box("reset", "Tick the box to confirm the reset."), response.content.decode()
    )
    assert wallet_balance(trader) == Decimal("10500")


def test_reset_is_refused_while_a_position_is_open(signed_in, trader, unchanged):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    with unchanged():
        response = signed_in.post("/settings/reset/", {"confirm": "on"})

    assert response.status_code == 409
    assertInHTML(
        error_box("reset", "Close your open positions before resetting the account."),
        response.content.decode(),
    )
    assert wallet_balance(trader) == Decimal("9997")


def test_reset_is_refused_while_an_order_is_open(signed_in, trader, unchanged):
    order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT", price="59000"
    )

    with unchanged():
        response = signed_in.post("/settings/reset/", {"confirm": "on"})

    assert response.status_code == 409
    assertInHTML(
        error_box("reset", "Cancel your open orders before resetting the account."),
        response.content.decode(),
    )
    assert Wallet.objects.get(user=trader).balance == Decimal("10000")


# --- API keys ----------------------------------------------------------------------------------


def test_an_api_key_is_created_and_its_secret_shown_once(signed_in, trader):
    from accounts.models import ApiKey
    from accounts.secrets import secret_decrypt

    response = signed_in.post("/settings/api-keys/", {"name": "grid bot", "permission": "TRADING"})

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    api_key = ApiKey.objects.get(user=trader)
    secret = secret_decrypt(api_key.secret_encrypted)
    page = response.content.decode()
    assert f'<code data-figure="api-secret">{secret}</code>' in page
    assert (api_key.name, api_key.permission) == ("grid bot", "TRADING")
    assert secret not in signed_in.get("/settings/").content.decode()  # never again


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"name": "", "permission": "TRADING"}, 400, "Name the key (1 to 50 characters)."),
        ({"name": "x" * 51, "permission": "TRADING"}, 400, "Name the key (1 to 50 characters)."),
        ({"name": "bot", "permission": "ADMIN"}, 400, "A key is READ_ONLY or TRADING."),
    ],
)
def test_a_bad_api_key_form_is_refused_and_creates_nothing(
    signed_in, unchanged, form, status, message
):
    from accounts.models import ApiKey

    response = signed_in.post("/settings/api-keys/", form)

    assert response.status_code == status
    assert message in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_an_api_key_is_revoked_and_another_users_cannot_be(signed_in, trader, make_trader):
    from accounts.models import ApiKey
    from accounts.services import api_key_create

    mine = api_key_create(user=trader, name="mine", permission="READ_ONLY").api_key
    theirs = api_key_create(user=make_trader("bob"), name="theirs", permission="TRADING").api_key

    refused = signed_in.post(f"/settings/api-keys/{theirs.pk}/revoke/")
    revoked = signed_in.post(f"/settings/api-keys/{mine.pk}/revoke/")

    assert refused.status_code == 404
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
    assert revoked.status_code == 302
    assert ApiKey.objects.get(pk=mine.pk).revoked_at is not None
