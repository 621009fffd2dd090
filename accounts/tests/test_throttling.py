import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOCKED_OUT = "Too many failed log-in attempts"


@pytest.fixture
def user():
    return UserFactory(email="ana@example.com")


def log_in(client, email, password, ip="10.0.0.1", field="email"):
    return client.post(reverse("accounts:login"), {field: email, "password": password}, REMOTE_ADDR=ip)


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
        log_in(client, "ANA@example.com", "wrong", ip=f"10.0.1.{n}")

    response = log_in(client, user.email, PASSWORD, ip="10.0.2.1")

    assert response.status_code == 429
    assert LOCKED_OUT in response.content.decode()


def test_lockout_is_per_address_across_accounts(client, settings, user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"someone{n}@example.com", "wrong", ip="10.0.0.7")

    blocked = log_in(client, user.email, PASSWORD, ip="10.0.0.7")
    elsewhere = log_in(client, user.email, PASSWORD, ip="10.0.0.8")

    assert blocked.status_code == 429
    assert elsewhere.status_code == 302


def test_failures_count_whether_the_email_is_posted_as_email_or_username(client, settings, user):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, user.email, "wrong", ip=f"10.0.3.{n}", field="email" if n % 2 else "username")

    by_email = log_in(client, user.email, PASSWORD, ip="10.0.4.1", field="email")
    by_username = log_in(client, user.email, PASSWORD, ip="10.0.4.2", field="username")

    assert by_email.status_code == 429
    assert by_username.status_code == 429


def test_unknown_email_is_locked_out_the_same_way(client, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "nobody@example.com", "wrong", ip=f"10.0.5.{n}")

    response = log_in(client, "nobody@example.com", "wrong", ip="10.0.6.1")

    assert response.status_code == 429


def test_failures_below_the_limit_do_not_lock_and_success_resets_the_count(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, user.email, "wrong")
    assert log_in(client, user.email, PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, user.email, "wrong")

    assert log_in(client, user.email, PASSWORD).status_code == 302


def test_lockout_ends_after_the_cool_off(client, settings, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, user.email, "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME)

    assert log_in(client, user.email, PASSWORD).status_code == 302
