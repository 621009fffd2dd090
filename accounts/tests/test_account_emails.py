"""Account e-mails: password resets are limited per address and per client behind the proxy and
answer the same whatever happened, their links point at VIEWPORT_SITE_URL, display names carry no
line breaks into mail, and changing the login address needs the current password."""

import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import RateLimitHit, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
PROXY = "10.0.0.2"
SITE_URL = "https://photos.example.com"


@pytest.fixture(autouse=True)
def site(settings):
    settings.VIEWPORT_PROXY_COUNT = 1
    settings.VIEWPORT_SITE_URL = SITE_URL


def ask_for_reset(client, email, ip="203.0.113.1", **extra):
    return client.post(
        reverse("accounts:password_reset"),
        {"email": email},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {ip}",
        **extra,
    )


# Password reset: limits and one neutral answer


def test_thirty_reset_requests_for_one_address_send_three_mails(client):
    UserFactory(email="ana@example.com")

    responses = [ask_for_reset(client, "ana@example.com", ip=f"203.0.113.{n}") for n in range(30)]

    assert len(mail.outbox) == 3
    assert {(r.status_code, r["Location"]) for r in responses} == {(302, reverse("accounts:password_reset_done"))}


def test_every_spelling_of_an_address_counts_against_the_same_limit(client):
    UserFactory(email="ana@example.com")

    spellings = ["ana@example.com", "ANA@example.com", " Ana@Example.com", "ANA@EXAMPLE.COM", "AnA@example.com"]
    for n, spelling in enumerate(spellings):
        ask_for_reset(client, spelling, ip=f"203.0.113.{n}")

    assert len(mail.outbox) == 3


def test_one_client_gets_a_limited_number_of_reset_requests_whatever_the_addresses(client):
    for n in range(30):
        UserFactory(email=f"client{n}@example.com")

    for n in range(30):
        ask_for_reset(client, f"client{n}@example.com", ip="203.0.113.66")
    ask_for_reset(client, "client29@example.com", ip="203.0.113.67")

    # Ten for the first client, then one for another client behind the same proxy.
    assert len(mail.outbox) == 11
    assert mail.outbox[-1].to == ["client29@example.com"]


def test_an_ipv6_client_gets_one_limit_for_its_whole_64(client):
    for n in range(11):
        UserFactory(email=f"client{n}@example.com")

    for n in range(11):
        ask_for_reset(client, f"client{n}@example.com", ip=f"2001:db8:1:2::{n + 1:x}")

    assert len(mail.outbox) == 10


def test_a_client_cannot_dodge_the_reset_limit_by_writing_its_own_forwarded_for(client):
    UserFactory(email="ana@example.com")
    for n in range(30):
        UserFactory(email=f"client{n}@example.com")

    for n in range(30):
        client.post(
            reverse("accounts:password_reset"),
            {"email": f"client{n}@example.com"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.66",
        )

    assert len(mail.outbox) == 10


def test_the_reset_limit_frees_up_after_an_hour(client):
    UserFactory(email="ana@example.com")
    for n in range(4):
        ask_for_reset(client, "ana@example.com", ip=f"203.0.113.{n}")
    assert len(mail.outbox) == 3

    RateLimitHit.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    ask_for_reset(client, "ana@example.com", ip="203.0.113.9")

    assert len(mail.outbox) == 4


def test_the_answer_is_the_same_for_known_unknown_and_limited_addresses(client):
    UserFactory(email="known@example.com")
    UserFactory(email="ana@example.com")
    for n in range(3):
        ask_for_reset(client, "ana@example.com", ip=f"203.0.113.{n}")

    answers = {
        "known": ask_for_reset(client, "known@example.com", ip="192.0.2.1"),
        "unknown": ask_for_reset(client, "nobody@example.com", ip="192.0.2.2"),
        "limited": ask_for_reset(client, "ana@example.com", ip="192.0.2.3"),
    }

    shapes = {
        name: (r.status_code, r["Location"], r.content, sorted(k for k in r.headers if k != "Set-Cookie"))
        for name, r in answers.items()
    }
    assert shapes["known"] == shapes["unknown"] == shapes["limited"]
    assert [message.to for message in mail.outbox[3:]] == [["known@example.com"]]


def test_reset_limits_store_no_raw_email_addresses(client):
    ask_for_reset(client, "ana@example.com")

    assert RateLimitHit.objects.exists()
    for _scope, key in RateLimitHit.objects.values_list("scope", "key"):
        assert "@" not in key and "ana" not in key


# Password reset: the link


def test_reset_link_uses_the_site_address_not_the_requests_host_and_port(client):
    UserFactory(email="ana@example.com")

    ask_for_reset(client, "ana@example.com", HTTP_HOST="testserver:6666")

    body = mail.outbox[0].body
    assert re.search(rf"^{re.escape(SITE_URL)}/accounts/password/reset/\S+/\S+/$", body, re.M), body
    assert "testserver" not in body


def settings_in_production(**env):
    """VIEWPORT_SITE_URL as viewport.settings computes it with DEBUG off (or the error)."""
    environment = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SECRET_KEY": "s" * 60,
        "DJANGO_ALLOWED_HOSTS": "photos.example.com",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "from viewport import settings; print(settings.VIEWPORT_SITE_URL)"],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_site_url_comes_from_the_environment():
    result = settings_in_production(VIEWPORT_SITE_URL="https://photos.example.com:8443/")

    assert result.stdout.strip() == "https://photos.example.com:8443"


def test_site_url_defaults_to_https_on_the_first_allowed_host_in_production():
    result = settings_in_production(DJANGO_ALLOWED_HOSTS="photos.example.com,www.example.com")

    assert result.stdout.strip() == "https://photos.example.com"


def test_production_refuses_to_start_without_a_site_url_it_can_derive():
    result = settings_in_production(DJANGO_ALLOWED_HOSTS=".example.com")

    assert result.returncode != 0
    assert "VIEWPORT_SITE_URL" in result.stderr


def test_production_refuses_a_site_url_that_is_not_an_http_address():
    result = settings_in_production(VIEWPORT_SITE_URL="photos.example.com")

    assert result.returncode != 0
    assert "VIEWPORT_SITE_URL" in result.stderr


# Display names


# NUL is refused too, by Django's own form fields ("Null characters are not allowed.").
CONTROL = [
    "Ana\r\nBcc: victim@example.com",
    "Ana\nStudio",
    "Ana\rStudio",
    "Ana\tStudio",
    "Ana\x1b[2J",
    "Ana\u2028Studio",
    "Ana\u0085Studio",
    "Ana\u202eoiduts",
]


@pytest.mark.parametrize("name", CONTROL)
def test_signup_refuses_display_names_with_line_breaks_or_control_characters(client, name):
    password = "a quiet lens 42"

    response = client.post(
        reverse("accounts:signup"),
        {"email": "ana@example.com", "display_name": name, "password1": password, "password2": password},
    )

    assert response.status_code == 200
    assert "Names cannot contain line breaks or other control characters." in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize("name", CONTROL)
def test_profile_refuses_display_names_with_line_breaks_or_control_characters(client, name):
    user = UserFactory(email="ana@example.com", display_name="Ana")
    client.force_login(user)

    response = client.post(reverse("accounts:profile"), {"display_name": name, "email": "ana@example.com"})

    assert "Names cannot contain line breaks or other control characters." in response.content.decode()
    user.refresh_from_db()
    assert user.display_name == "Ana"


def test_names_with_accents_and_emoji_are_fine(client):
    user = UserFactory(email="ana@example.com")
    client.force_login(user)
    name = "Zoë Ørsted 📷 Studio 👩‍👩‍👧"

    response = client.post(reverse("accounts:profile"), {"display_name": name, "email": "ana@example.com"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.display_name == name


def test_a_stored_name_with_line_breaks_does_not_reach_the_reset_mail(client):
    # Saved before names were checked (or by code that skips the forms).
    UserFactory(email="ana@example.com", display_name="Ana\r\n\r\nClick http://evil.example/ to keep your account")

    ask_for_reset(client, "ana@example.com")

    body = mail.outbox[0].body
    assert body.splitlines()[0] == "Hello Ana Click http://evil.example/ to keep your account,"
    assert "\r" not in body


def test_user_name_is_one_line_for_mail_headers():
    user = UserFactory(display_name="Ana\r\nBcc: victim@example.com\x1b")

    assert user.name == "Ana Bcc: victim@example.com"


# Changing the login address


def test_changing_the_email_needs_the_current_password(client):
    user = UserFactory(email="ana@example.com")
    client.force_login(user)

    missing = client.post(reverse("accounts:profile"), {"display_name": "Ana", "email": "mallory@example.com"})
    wrong = client.post(
        reverse("accounts:profile"),
        {"display_name": "Ana", "email": "mallory@example.com", "current_password": "not it"},
    )

    assert "Enter your current password to change your email address." in missing.content.decode()
    assert 'id="id_current_password_error"' in missing.content.decode()
    assert "Your password was entered incorrectly." in wrong.content.decode()
    user.refresh_from_db()
    assert user.email == "ana@example.com"
    assert user.display_name != "Ana"


def test_changing_the_email_with_the_current_password_works(client):
    user = UserFactory(email="ana@example.com")
    client.force_login(user)

    response = client.post(
        reverse("accounts:profile"),
        {"display_name": "Ana", "email": "Ana.Lens@Example.com", "current_password": PASSWORD},
    )

    assert response["Location"] == reverse("accounts:profile")
    user.refresh_from_db()
    assert user.email == "ana.lens@example.com"


def test_other_profile_edits_need_no_password(client):
    user = UserFactory(email="ana@example.com")
    client.force_login(user)

    response = client.post(reverse("accounts:profile"), {"display_name": "Ana Lens", "email": "ANA@example.com"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.email) == ("Ana Lens", "ana@example.com")


def test_profile_page_offers_the_current_password_field(client):
    client.force_login(UserFactory())

    html = client.get(reverse("accounts:profile")).content.decode()

    assert '<label for="id_current_password">' in html
    assert 'autocomplete="current-password"' in html
