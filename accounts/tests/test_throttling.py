"""Login throttling (django-axes), through the login page as a proxy in front of the app sends it:
REMOTE_ADDR is the proxy, X-Forwarded-For ends with the client's address as the proxy saw it, and
whatever the client wrote into the header itself comes before that."""

import threading
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user
from django.db import connection
from django.db.models import F, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import PROXY, log_in

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOCKED_OUT = "Too many failed log-in attempts"


@pytest.fixture(autouse=True)
def behind_one_proxy(settings):
    settings.VIEWPORT_PROXY_COUNT = 1


@pytest.fixture
def user():
    return UserFactory(email="ana@example.com")


def test_account_is_locked_after_repeated_failures_even_with_the_right_password(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, user.email, "wrong").status_code == 200
    assert log_in(client, user.email, "wrong").status_code == 429

    response = log_in(client, user.email, PASSWORD)

    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert response["Retry-After"] == "900"
    assert not get_user(client).is_authenticated


def test_locked_out_page_is_rendered_in_the_site_layout(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, user.email, "wrong")

    response = log_in(client, user.email, PASSWORD)

    assert {"429_locked_out.html", "base.html"} <= {template.name for template in response.templates}
    assert 'class="site-header"' in response.content.decode()


def test_lockout_is_per_account_across_addresses(client, settings, user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "ANA@example.com", "wrong", ip=f"203.0.113.{n}")

    response = log_in(client, user.email, PASSWORD, ip="192.0.2.1")

    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()


def test_lockout_is_per_client_address_across_accounts(client, settings, user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"someone{n}@example.com", "wrong", ip="203.0.113.7")

    blocked = log_in(client, user.email, PASSWORD, ip="203.0.113.7")
    other_client_behind_the_same_proxy = log_in(client, user.email, PASSWORD, ip="203.0.113.8")

    assert blocked.status_code == 429
    assert other_client_behind_the_same_proxy.status_code == 302


def test_a_client_cannot_dodge_its_lockout_by_writing_its_own_forwarded_for(client, settings, user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"someone{n}@example.com", "wrong", ip="203.0.113.7", spoofed=f"192.0.2.{n}")

    for spoofed in ["192.0.2.200", "203.0.113.8", "not an address", "", "192.0.2.1, 192.0.2.2"]:
        assert log_in(client, user.email, PASSWORD, ip="203.0.113.7", spoofed=spoofed).status_code == 429, spoofed


def test_the_client_address_is_counted_as_the_proxy_saw_it(client, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"someone{n}@example.com", "wrong", ip="2001:db8::7", spoofed=f"192.0.2.{n}")

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"2001:db8::7"}


def test_without_a_proxy_count_the_socket_address_is_the_client(client, settings, user):
    settings.VIEWPORT_PROXY_COUNT = 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        # A client talking to the app directly can write any X-Forwarded-For it likes.
        client.post(
            reverse("accounts:login"),
            {"email": f"someone{n}@example.com", "password": "wrong"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    blocked = client.post(
        reverse("accounts:login"),
        {"email": user.email, "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="192.0.2.100",
    )

    assert blocked.status_code == 429


def test_failures_count_whether_the_email_is_posted_as_email_or_username(client, settings, user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, user.email, "wrong", ip=f"203.0.113.{n}", field="email" if n % 2 else "username")

    by_email = log_in(client, user.email, PASSWORD, ip="192.0.2.1", field="email")
    by_username = log_in(client, user.email, PASSWORD, ip="192.0.2.2", field="username")

    assert by_email.status_code == 429
    assert by_username.status_code == 429


def test_unknown_email_is_locked_out_the_same_way(client, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "nobody@example.com", "wrong", ip=f"203.0.113.{n}")

    response = log_in(client, "nobody@example.com", "wrong", ip="192.0.2.1")

    assert response.status_code == 429


def test_failures_below_the_limit_do_not_lock_and_success_resets_the_count(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, user.email, "wrong")
    assert log_in(client, user.email, PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, user.email, "wrong")

    assert log_in(client, user.email, PASSWORD).status_code == 302


def test_logging_in_to_ones_own_account_does_not_clear_failures_against_another(client, settings, user):
    attacker = UserFactory(email="mallory@example.com")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, user.email, "guess", ip="203.0.113.66").status_code == 200
    assert log_in(client, attacker.email, PASSWORD, ip="203.0.113.66").status_code == 302
    client.post(reverse("accounts:logout"))

    assert log_in(client, user.email, "guess", ip="203.0.113.66").status_code == 429
    assert log_in(client, user.email, PASSWORD, ip="192.0.2.1").status_code == 429


def test_signing_up_does_not_clear_failures_against_another_account(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, user.email, "guess", ip="203.0.113.66")
    password = "a quiet lens 42"
    signup = client.post(
        reverse("accounts:signup"),
        {"email": "new@example.com", "password1": password, "password2": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.66",
    )
    assert signup.status_code == 302
    client.post(reverse("accounts:logout"))

    assert log_in(client, user.email, "guess", ip="203.0.113.66").status_code == 429
    assert log_in(client, user.email, PASSWORD, ip="192.0.2.1").status_code == 429


def test_lockout_ends_after_the_cool_off(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, user.email, "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME)

    assert log_in(client, user.email, PASSWORD).status_code == 302


# An attacker who keeps trying cannot keep an account locked


def test_failures_from_a_locked_out_address_do_not_count_against_accounts(client, settings, user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"someone{n}@example.com", "wrong", ip="203.0.113.66")

    for _ in range(settings.AXES_FAILURE_LIMIT * 2):
        assert log_in(client, user.email, "guess", ip="203.0.113.66").status_code == 429

    assert log_in(client, user.email, PASSWORD, ip="192.0.2.1").status_code == 302


def test_attempts_during_a_lockout_do_not_extend_it(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, user.email, "guess", ip="203.0.113.66")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME + timedelta(seconds=30))

    # While it lasts, the attacker keeps guessing and the owner keeps trying the right password.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert log_in(client, user.email, "guess", ip="203.0.113.66").status_code == 429
        assert log_in(client, user.email, PASSWORD, ip="192.0.2.1").status_code == 429
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=31))

    assert log_in(client, user.email, PASSWORD, ip="192.0.2.1").status_code == 302


def test_failed_logins_store_none_of_the_form(client):
    for _ in range(3):
        client.post(
            reverse("accounts:login") + "?junk=" + "B" * 2000,
            {"email": "ana@example.com", "password": "x", "junk": "A" * 100_000},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="203.0.113.1",
        )

    attempt = AccessAttempt.objects.get()
    assert attempt.failures_since_start == 3
    assert (attempt.post_data, attempt.get_data) == ("", "")


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_get_no_more_checks_than_the_limit(settings, user):
    """Each attempt is counted before its password is checked: a burst cannot pass the lockout
    check all at once and then be counted one by one."""
    assert connection.vendor == "postgresql"
    attempts = 20
    start = threading.Barrier(attempts)
    statuses = []

    def one_attempt(n):
        start.wait()
        try:
            statuses.append(log_in(Client(), user.email, f"guess{n}", ip=f"203.0.113.{n}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # A failure counts only where its password was checked, so the counts are the checks.
    checked = AccessAttempt.objects.filter(username=user.email).aggregate(n=Sum("failures_since_start"))["n"]
    assert checked <= settings.AXES_FAILURE_LIMIT
    assert statuses.count(200) <= settings.AXES_FAILURE_LIMIT - 1
    # Whether any of them got its password checked depends on the race; the burst is refused.
    assert set(statuses) <= {200, 429} and 429 in statuses
