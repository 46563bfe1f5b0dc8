import pytest

EN_DASH = "\N{EN DASH}"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_markets_page_lists_the_seeded_instruments_with_their_brackets(live_server, page):
    # given the demo market (seeded for the session)
    # when a trader opens the home page in Chromium
    page.goto(live_server.url)

    # then each instrument shows its max leverage, fees and bracket table
    assert page.title() == "Markets · marginsite"
    symbols = page.locator("tr[data-symbol] td.symbol").all_inner_texts()
    assert symbols == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    btc = page.locator('tr[data-symbol="BTCUSDT"]')
    assert btc.locator("td").nth(2).inner_text() == "125x"
    assert btc.locator("td").nth(6).inner_text() == "0.05% / 0.02%"
    btc.locator("summary").click()
    tiers = btc.locator("table.brackets tbody tr")
    assert tiers.count() == 12
    assert tiers.first.locator("td").all_inner_texts() == [
        f"0 {EN_DASH} 50,000",
        "125x",
        "0.4%",
        "0",
    ]
    assert tiers.last.locator("td").all_inner_texts() == [
        f"1,200,000,000 {EN_DASH} 1,800,000,000",
        "1x",
        "50%",
        "421,481,450",
    ]
    # and the stylesheet was served (the page is styled, not raw HTML)
    header_colour = page.locator(".brand").evaluate("e => getComputedStyle(e).color")
    assert header_colour == "rgb(240, 185, 11)"
