import pytest
from django.contrib.auth import get_user
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def user():
    return UserFactory(email="ana@example.com")


def test_login_with_email_field_redirects_to_galleries(client, user):
    response = client.post(reverse("accounts:login"), {"email": "ana@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/galleries/"
    assert get_user(client) == user


def test_login_with_username_field_holding_the_email(client, user):
    response = client.post(reverse("accounts:login"), {"username": "ana@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert get_user(client) == user


def test_login_email_is_case_insensitive(client, user):
    client.post(reverse("accounts:login"), {"email": "ANA@Example.com", "password": PASSWORD})

    assert get_user(client) == user


def test_login_follows_safe_next(client, user):
    response = client.post(
        reverse("accounts:login") + "?next=/accounts/profile/", {"email": user.email, "password": PASSWORD}
    )

    assert response["Location"] == "/accounts/profile/"


def test_login_next_in_post_body_is_followed(client, user):
    response = client.post(
        reverse("accounts:login"), {"email": user.email, "password": PASSWORD, "next": "/accounts/profile/"}
    )

    assert response["Location"] == "/accounts/profile/"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "https:evil.example"])
def test_login_refuses_next_to_other_hosts(client, user, next_url):
    response = client.post(reverse("accounts:login") + f"?next={next_url}", {"email": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/galleries/"


def test_login_page_keeps_next_in_the_form(client):
    response = client.get(reverse("accounts:login") + "?next=/accounts/profile/")

    assert '<input type="hidden" name="next" value="/accounts/profile/">' in response.content.decode()


def test_login_failure_message_is_the_same_for_unknown_email_and_wrong_password(client, user):
    wrong_password = client.post(reverse("accounts:login"), {"email": user.email, "password": "not it"})
    unknown_email = client.post(reverse("accounts:login"), {"email": "nobody@example.com", "password": "not it"})

    message = "That email and password don’t match. Please try again."
    assert wrong_password.status_code == unknown_email.status_code == 200
    assert message in wrong_password.content.decode()
    assert message in unknown_email.content.decode()
    assert not get_user(client).is_authenticated


def test_inactive_account_gets_the_same_failure_message(client):
    UserFactory(email="gone@example.com", is_active=False)

    response = client.post(reverse("accounts:login"), {"email": "gone@example.com", "password": PASSWORD})

    assert "That email and password don’t match. Please try again." in response.content.decode()


def test_logged_in_user_visiting_login_goes_to_galleries(client, user):
    client.force_login(user)

    response = client.get(reverse("accounts:login"))

    assert response["Location"] == "/galleries/"


def test_logout_by_post_ends_the_session(client, user):
    client.force_login(user)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert not get_user(client).is_authenticated


def test_logout_by_get_is_refused(client, user):
    client.force_login(user)

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert get_user(client).is_authenticated


def test_login_form_is_csrf_protected(user):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})

    assert response.status_code == 403
