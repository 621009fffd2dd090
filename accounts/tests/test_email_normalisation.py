"""One account per address however it is spelled: the login lookup, the login throttle, signup,
the profile and password reset all compare e-mails normalised the same way (NFKC, case folding),
never with the database's case-insensitive match (PostgreSQL's UPPER turns `ı` into `I` and `ſ`
into `S`, so `ırıs@` would match `iris@` there while the throttle counted it as another name)."""

import importlib

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib.auth import get_user
from django.core import mail
from django.db import connection
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import log_in

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def behind_one_proxy(settings):
    settings.VIEWPORT_PROXY_COUNT = 1


@pytest.fixture
def iris():
    return UserFactory(email="iris@example.com")


def lock_out(client, settings, email):
    """Failures from several clients, through several proxies (a load balancer's nodes): what
    locks is the account, not one address."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, email, "wrong", ip=f"203.0.113.{n}", proxy=f"10.0.1.{n}")


@pytest.mark.parametrize(
    "email, normalised",
    [
        ("Iris@Example.COM", "iris@example.com"),
        ("  iris@example.com ", "iris@example.com"),
        ("iriſ@example.com", "iris@example.com"),  # long s
        ("IRIS@EXAMPLE.COM", "iris@example.com"),
        ("\u212aate@example.com", "kate@example.com"),  # KELVIN SIGN
        ("ｉｒｉｓ@example.com", "iris@example.com"),  # full-width letters
        ("Straße@example.com", "strasse@example.com"),
        ("ırıs@example.com", "ırıs@example.com"),  # dotless i is a letter of its own
    ],
)
def test_emails_are_normalised_with_nfkc_and_case_folding(email, normalised):
    assert User.objects.normalize_email(email) == normalised


def test_the_database_folds_dotless_i_and_long_s_into_ascii(db):
    # Why lookups must not use iexact: this is what PostgreSQL's UPPER() does with these letters.
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT UPPER(%s), UPPER(%s)", ["ırıs", "iriſ"])
        assert cursor.fetchone() == ("IRIS", "IRIS")


def test_a_long_s_spelling_is_the_same_account_and_shares_its_lockout(client, settings, iris):
    lock_out(client, settings, "iris@example.com")

    response = log_in(client, "iriſ@example.com", PASSWORD, ip="192.0.2.1", proxy="10.0.2.1")

    assert response.status_code == 429
    assert not get_user(client).is_authenticated


def test_failures_under_a_long_s_spelling_lock_the_account(client, settings, iris):
    lock_out(client, settings, "IRIſ@example.com")

    assert log_in(client, "iris@example.com", PASSWORD, ip="192.0.2.1", proxy="10.0.2.1").status_code == 429


def test_a_dotless_i_spelling_does_not_log_in_past_the_lockout(client, settings, iris):
    lock_out(client, settings, "iris@example.com")

    response = log_in(client, "ırıs@example.com", PASSWORD, ip="192.0.2.1", proxy="10.0.2.1")

    assert response.status_code != 302
    assert not get_user(client).is_authenticated
    assert log_in(client, "iris@example.com", PASSWORD, ip="192.0.2.2").status_code == 429


def test_a_dotless_i_spelling_neither_logs_in_nor_clears_the_failures(client, settings, iris):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "iris@example.com", "wrong", ip=f"203.0.113.{n}", proxy=f"10.0.1.{n}")

    response = log_in(client, "ırıs@example.com", PASSWORD, ip="192.0.2.1", proxy="10.0.2.1")

    assert response.status_code == 200
    assert not get_user(client).is_authenticated
    assert AccessAttempt.objects.filter(username="iris@example.com").count() == settings.AXES_FAILURE_LIMIT - 1


def test_login_works_with_any_spelling_that_normalises_to_the_account(client, iris):
    for spelling in ["IRIS@example.com", "iriſ@EXAMPLE.com", "IRIſ@example.com"]:
        assert log_in(client, spelling, PASSWORD, ip="192.0.2.1").status_code == 302, spelling
        assert get_user(client) == iris
        client.post(reverse("accounts:logout"))


def test_signup_stores_the_normalised_email_and_refuses_another_spelling_of_a_taken_one(client, iris):
    password = "a quiet lens 42"

    taken = client.post(
        reverse("accounts:signup"), {"email": "IRIſ@example.com", "password1": password, "password2": password}
    )
    created = client.post(
        reverse("accounts:signup"), {"email": "\u212aATE@example.com", "password1": password, "password2": password}
    )

    assert "An account with this email address already exists." in taken.content.decode()
    assert created.status_code == 302
    assert User.objects.filter(email="kate@example.com").exists()


def test_profile_refuses_another_spelling_of_a_taken_email(client, iris):
    user = UserFactory(email="ana@example.com")
    client.force_login(user)

    response = client.post(
        reverse("accounts:profile"), {"display_name": "", "email": "iriſ@example.com", "current_password": PASSWORD}
    )

    assert "An account with this email address already exists." in response.content.decode()
    user.refresh_from_db()
    assert user.email == "ana@example.com"


def test_password_reset_finds_the_account_under_another_spelling_and_mails_its_stored_address(client, iris):
    client.post(reverse("accounts:password_reset"), {"email": "IRIſ@example.com"})

    assert [message.to for message in mail.outbox] == [["iris@example.com"]]


def test_password_reset_for_a_dotless_i_spelling_sends_nothing(client, iris):
    client.post(reverse("accounts:password_reset"), {"email": "ırıs@example.com"})

    assert mail.outbox == []


def test_migration_normalises_stored_emails_and_leaves_collisions_alone(capsys):
    migration = importlib.import_module("accounts.migrations.0003_normalise_emails")
    plain = UserFactory(email="plain@example.com")
    mixed = UserFactory()
    wide = UserFactory()
    iris = UserFactory(email="iris@example.com")
    long_s = UserFactory()
    # Written past the manager, as rows saved before normalisation was this thorough could be.
    User.objects.filter(pk=mixed.pk).update(email="Mixed.Case@Example.COM")
    User.objects.filter(pk=wide.pk).update(email="ｗｉｄｅ@example.com")
    User.objects.filter(pk=long_s.pk).update(email="iriſ@example.com")

    migration.normalise_emails(apps, connection.schema_editor())

    emails = dict(User.objects.values_list("pk", "email"))
    assert emails == {
        plain.pk: "plain@example.com",
        mixed.pk: "mixed.case@example.com",
        wide.pk: "wide@example.com",
        iris.pk: "iris@example.com",
        long_s.pk: "iriſ@example.com",  # would collide with iris@: left for a person to sort out
    }
    output = capsys.readouterr().out
    assert str(long_s.pk) in output and "iris@example.com" not in output
