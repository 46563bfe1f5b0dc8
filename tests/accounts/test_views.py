"""The account pages over HTTP: sign-up (a funded trader, signed in, sent to the trade page) and
the log-in, log-out and password change pages. Every refusal is shown inline with its 4xx status
and changes nothing. (/settings, which composes the trading settings and the API keys, is tested
in tests/trading/views/test_settings.py.)"""

import html
from decimal import Decimal

import pytest
from django.contrib.auth import SESSION_KEY
from pytest_django.asserts import assertInHTML, assertRedirects

from accounts.errors import UsernameTaken
from accounts.models import User
from tests.builders import wallet_balance
from trading.models import Preferences

pytestmark = pytest.mark.django_db

PASSWORD = "pw-0123456789"
NEW_PASSWORD = "a-new-passphrase-42"


def text(response) -> str:
    """The page as a person reads it: entities decoded (an apostrophe is &#x27; in the HTML)."""
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def default_mode(user) -> str:
    return Preferences.objects.get(user=user).default_margin_mode


# Sign-up


def sign_up_data(**changes) -> dict:
    data = {
        "username": "carol",
        "email": "carol@example.org",
        "password1": "a-long-passphrase-7",
        "password2": "a-long-passphrase-7",
    }
    return {**data, **changes}


def test_signup_page_shows_the_form_and_the_starting_balance(client, market):
    # when an anonymous visitor opens the sign-up page
    response = client.get("/signup/")

    # then it shows the labelled fields and the paper balance they will start with
    assert response.status_code == 200
    page = text(response)
    assertInHTML("<strong>10,000 USDT</strong>", page)
    for field_id, label in [
        ("id_username", "Username"),
        ("id_email", "Email"),
        ("id_password1", "Password"),
        ("id_password2", "Password confirmation"),
    ]:
        assert f'<label for="{field_id}">{label}:</label>' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_signup_creates_a_funded_trader_signs_them_in_and_opens_the_trade_page(client, market):
    # when a visitor signs up
    response = client.post("/signup/", sign_up_data())

    # then they are sent to the trade page, signed in as the new user
    assertRedirects(response, "/trade/", fetch_redirect_response=False)
    user = User.objects.get(username="carol")
    assert (user.email, user.check_password("a-long-passphrase-7")) == ("carol@example.org", True)
    assert client.session[SESSION_KEY] == str(user.pk)
    # with preferences (Cross) and a wallet of 10,000 USDT
    assert default_mode(user) == "CROSS"
    assert wallet_balance(user) == Decimal("10000")
    # and the next page welcomes them
    settings_page = client.get("/settings/")
    assert messages_of(settings_page) == ["Welcome, carol. Your paper wallet holds 10,000 USDT."]


def test_signup_without_an_email_is_accepted(client, market):
    response = client.post("/signup/", sign_up_data(email=""))

    assertRedirects(response, "/trade/", fetch_redirect_response=False)
    assert User.objects.get(username="carol").email == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password2": "another-passphrase-7"}, "The two password fields didn\u2019t match."),
        (
            {"password1": "short", "password2": "short"},
            "This password is too short. It must contain at least 8 characters.",
        ),
        ({"username": "bad name!"}, "Enter a valid username."),
        ({"username": ""}, "This field is required."),
        ({"email": "not-an-email"}, "Enter a valid email address."),
    ],
)
def test_signup_with_bad_input_is_refused_inline_and_creates_nothing(
    client, market, unchanged, changes, message
):
    # when the form is posted with a bad field, then the page comes back with the error, a 400,
    # and no user, wallet or ledger entry
    with unchanged():
        response = client.post("/signup/", sign_up_data(**changes))

    assert response.status_code == 400
    assert message in text(response)
    assert not User.objects.exists()
    assert SESSION_KEY not in client.session


def test_signup_with_a_taken_username_is_refused_and_keeps_the_existing_account(
    client, trader, unchanged
):
    # given alice exists; when someone signs up as ALICE (usernames differ only in case)
    with unchanged():
        response = client.post("/signup/", sign_up_data(username="ALICE"))

    # then it is refused inline and alice is the only user
    assert response.status_code == 400
    assert "A user with that username already exists." in text(response)
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


def test_signup_refused_by_the_service_shows_its_message_and_status(
    client, market, unchanged, monkeypatch
):
    # given the username is taken between the form's check and the insert (a race the service
    # settles with its unique constraint)
    def taken(**_):
        raise UsernameTaken("The username 'carol' is taken.", field="username")

    monkeypatch.setattr("accounts.views.user_create", taken)

    # when the form is posted, then the service's refusal is shown at the username, with 409
    with unchanged():
        response = client.post("/signup/", sign_up_data())

    assert response.status_code == 409
    assertInHTML(
        '<ul class="errorlist" id="id_username_error"><li>The username &#x27;carol&#x27; is '
        "taken.</li></ul>",
        response.content.decode(),
    )
    assert SESSION_KEY not in client.session


def test_signup_page_sends_a_signed_in_trader_to_the_trade_page(signed_in):
    assertRedirects(signed_in.get("/signup/"), "/trade/", fetch_redirect_response=False)


# Log-in, log-out, password change


def test_login_page_shows_the_form_and_the_page_to_return_to(client, market):
    response = client.get("/login/?next=/settings/")

    assert response.status_code == 200
    page = text(response)
    assert "Log in to see that page." in page
    assert '<label for="id_username">Username:</label>' in page
    assert '<label for="id_password">Password:</label>' in page
    assert '<input type="hidden" name="next" value="/settings/">' in page


def test_login_signs_the_trader_in_and_returns_to_the_page_asked_for(client, trader):
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "next": "/settings/"}
    )

    assertRedirects(response, "/settings/")
    assert client.session[SESSION_KEY] == str(trader.pk)


def test_login_without_next_opens_the_trade_page(client, trader):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assertRedirects(response, "/trade/", fetch_redirect_response=False)


def test_login_with_a_wrong_password_shows_the_error_and_signs_nobody_in(client, trader):
    response = client.post("/login/", {"username": "alice", "password": "wrong-password"})

    assert "Please enter a correct username and password." in text(response)
    assert SESSION_KEY not in client.session


def test_logout_is_a_post_that_signs_out_and_opens_the_markets(signed_in):
    assert signed_in.get("/logout/").status_code == 405

    response = signed_in.post("/logout/")

    assertRedirects(response, "/", fetch_redirect_response=False)
    assert SESSION_KEY not in signed_in.session


def test_password_change_page_shows_the_three_labelled_fields(signed_in):
    response = signed_in.get("/password/")

    assert response.status_code == 200
    page = text(response)
    for field_id, label in [
        ("id_old_password", "Old password"),
        ("id_new_password1", "New password"),
        ("id_new_password2", "New password confirmation"),
    ]:
        assert f'<label for="{field_id}">{label}:</label>' in page


def test_password_change_sets_the_new_password_and_keeps_the_trader_signed_in(signed_in, trader):
    response = signed_in.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assertRedirects(response, "/password/done/")
    trader.refresh_from_db()
    assert trader.check_password(NEW_PASSWORD)
    done = signed_in.get("/password/done/")
    assert "Your password was changed." in text(done)


def test_password_change_with_a_wrong_old_password_keeps_the_old_one(signed_in, trader):
    response = signed_in.post(
        "/password/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert "Your old password was entered incorrectly. Please enter it again." in text(response)
    trader.refresh_from_db()
    assert trader.check_password(PASSWORD)


@pytest.mark.parametrize("url", ["/password/", "/password/done/"])
def test_anonymous_visitors_are_sent_to_log_in(client, market, url):
    assertRedirects(client.get(url), f"/login/?next={url}")
