import pytest
from django.contrib.auth import get_user
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory
from testing.challenges import solution
from viewport import settings as project_settings

pytestmark = pytest.mark.django_db

PASSWORD = "a quiet lens 42"


def signup(client, **data):
    return client.post(reverse("accounts:signup"), {"password1": PASSWORD, "password2": PASSWORD, **data})


def test_signup_page_labels_every_field(client):
    response = client.get(reverse("accounts:signup"))
    for name in ["email", "display_name", "password1", "password2"]:
        assert f'<label for="id_{name}">' in response.content.decode()


def test_signup_logs_in_and_redirects_to_galleries(client):
    response = signup(client, email="Ana@Example.COM", display_name="Ana Studio")

    assert response.status_code == 302
    assert response["Location"] == "/galleries/"
    user = get_user(client)
    assert user.is_authenticated
    assert user.email == "ana@example.com"
    assert user.display_name == "Ana Studio"


def test_signup_without_display_name_is_allowed(client):
    signup(client, email="nobody@example.com")

    assert User.objects.get().display_name is None


def test_signup_refuses_email_taken_in_other_case(client):
    UserFactory(email="ana@example.com")

    response = signup(client, email="ANA@example.com")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<div class="field-error" id="id_email_error"><p>An account with this email address already exists.' in html
    assert 'aria-describedby="id_email_error"' in html
    assert User.objects.count() == 1
    assert not get_user(client).is_authenticated


def test_signup_applies_django_password_validators(client):
    response = client.post(
        reverse("accounts:signup"), {"email": "ana@example.com", "password1": "12345678", "password2": "12345678"}
    )

    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not User.objects.exists()


def test_signup_refuses_mismatched_passwords(client):
    response = client.post(
        reverse("accounts:signup"), {"email": "ana@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"}
    )

    assert response.status_code == 200
    assert not User.objects.exists()


def test_passwords_are_hashed_with_argon2(client, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS  # conftest swaps in MD5 for speed
    signup(client, email="ana@example.com")

    user = User.objects.get()
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


def signup_from(ip, email, solve=False):
    """A signup POST from client `ip` through one proxy, in a browser of its own, with a solved
    challenge if `solve`."""
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"198.51.100.1, {ip}")
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    return client.post(reverse("accounts:signup"), {**data, "altcha": solution(client)} if solve else data)


@pytest.mark.parametrize(
    "ips, other_ip",
    [
        (["203.0.113.7"] * 6, "203.0.113.8"),
        # An IPv6 home has a whole /56 of addresses to choose from (256 /64s).
        ([f"2001:db8:1:{n}::1" for n in range(1, 7)], "2001:db8:1:100::1"),
    ],
)
def test_signups_are_limited_per_client_network(settings, ips, other_ip):
    settings.VIEWPORT_PROXY_COUNT = 1
    statuses = [signup_from(ip, f"bot{n}@example.com", solve=n >= 3).status_code for n, ip in enumerate(ips[:5])]
    assert statuses == [302] * 5

    refused = signup_from(ips[5], "bot5@example.com", solve=True)

    assert refused.status_code == 429
    message = "Too many accounts were created from your network. Please try again in 60 minutes."
    assert message in refused.content.decode()
    assert not User.objects.filter(email="bot5@example.com").exists()
    assert signup_from(other_ip, "ana@example.com").status_code == 302


def test_a_network_that_made_three_accounts_in_an_hour_is_asked_for_a_challenge(settings):
    settings.VIEWPORT_PROXY_COUNT = 1
    ip = "203.0.113.9"
    page = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=ip).get(reverse("accounts:signup"))
    assert "altcha-widget" not in page.content.decode()  # a person signing up is never asked
    for n in range(3):
        assert signup_from(ip, f"person{n}@example.com").status_code == 302

    page = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=ip).get(reverse("accounts:signup"))
    assert "<altcha-widget" in page.content.decode()
    asked = signup_from(ip, "bot@example.com")
    assert asked.status_code == 400 and "proves it is a person" in asked.content.decode()
    assert "<altcha-widget" in asked.content.decode()
    assert not User.objects.filter(email="bot@example.com").exists()
    # A solution is good once.
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=ip)
    data = {"email": "bot@example.com", "password1": PASSWORD, "password2": PASSWORD, "altcha": solution(client)}
    assert client.post(reverse("accounts:signup"), data).status_code == 302
    data["email"] = "bot2@example.com"
    assert (
        Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=ip).post(reverse("accounts:signup"), data).status_code
        == 400
    )
