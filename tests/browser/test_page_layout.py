"""What only a browser shows (issue 16): the back office index's "Risk dashboard" link reads on
one line, every "Mode per symbol" form of /settings can be saved as it loads (a choice is checked
in each: the browser refuses a required radio group with none), and the confirmation's summary
card has no empty band above its heading."""

import pytest
from django.conf import settings
from django.test import Client

from accounts.services import superuser_create, user_create
from trading.models import SymbolMarginMode
from trading.services import prices_tick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}


def sign_in(page, live_server, user) -> None:
    """The browser carries a session of ``user`` (made by Django's test client)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def test_the_back_office_index_shows_the_risk_dashboard_link_on_one_line(live_server, page):
    sign_in(page, live_server, superuser_create(username="operator", password="pw-0123456789"))
    page.set_viewport_size(DESKTOP)

    page.goto(f"{live_server.url}/admin/")

    link = page.locator("#risk-link").get_by_role("link", name="Risk dashboard")
    box = link.bounding_box()
    line = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('#risk-link th a')).lineHeight)"
    )
    # one line of text, as wide as its words (it read one letter a line, 14 lines tall)
    assert box["height"] <= line * 1.5, box
    assert box["width"] >= 80, box
    link.click()
    page.wait_for_url("**/admin/risk/")


def test_every_symbol_mode_form_can_be_saved_as_it_loads(live_server, page):
    trader = user_create(username="alice", password="pw-0123456789")
    sign_in(page, live_server, trader)

    page.goto(f"{live_server.url}/settings/")

    # every row has a choice checked: "Default (Cross)" for a symbol that follows the default
    forms = page.locator("#symbol-modes form")
    assert forms.count() == 3
    assert page.evaluate(
        "[...document.querySelectorAll('#symbol-modes form')].every(f => f.checkValidity())"
    )
    assert page.locator("#symbol-mode-BTCUSDT-default").is_checked()
    assert page.locator('label[for="symbol-mode-BTCUSDT-default"]').inner_text() == (
        "Default (Cross)"
    )
    # BTCUSDT to Isolated, then back to following the default: both saved
    row = page.locator('#symbol-modes tr[data-symbol="BTCUSDT"]')
    page.locator("#symbol-mode-BTCUSDT-isolated").check(force=True)
    row.get_by_role("button").click()
    page.wait_for_load_state()
    assert page.locator("#symbol-mode-BTCUSDT-isolated").is_checked()
    assert list(SymbolMarginMode.objects.values_list("margin_mode", flat=True)) == ["ISOLATED"]
    page.locator("#symbol-mode-BTCUSDT-default").check(force=True)
    row.get_by_role("button").click()
    page.wait_for_load_state()
    assert page.locator("#symbol-mode-BTCUSDT-default").is_checked()
    assert not SymbolMarginMode.objects.exists()
    assert "BTCUSDT follows the default again: new orders default to Cross." in (
        page.locator(".messages").inner_text()
    )


def test_the_confirmation_summary_card_starts_with_its_heading(live_server, page, settings):
    settings.PRICE_FEED = "manual"
    prices_tick()
    sign_in(page, live_server, user_create(username="alice", password="pw-0123456789"))
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/trade/BTCUSDT/")
    page.get_by_label("Quantity", exact=True).fill("0.1")
    page.get_by_role("button", name="Review order").click()
    page.wait_for_url("**/confirm/")

    gap = page.evaluate(
        """() => {
          const card = document.querySelector('section[aria-labelledby="summary-heading"]');
          const style = getComputedStyle(card);
          const top = card.getBoundingClientRect().top + parseFloat(style.borderTopWidth)
            + parseFloat(style.paddingTop);
          return document.getElementById('summary-heading').getBoundingClientRect().top - top;
        }"""
    )
    # the heading sits right under the card's padding (its 1.5rem top margin left a band)
    assert gap == 0
