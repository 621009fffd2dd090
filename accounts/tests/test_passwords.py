import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from accounts.tests.helpers import log_in

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "silver gelatin print 7"
SENT = "If an account exists for that address, we sent an email"


def reset_link(message):
    """The path of the reset link in `message`, which starts with the site's configured address."""
    pattern = rf"^{re.escape(settings.VIEWPORT_SITE_URL)}(/accounts/password/reset/\S+/)$"
    return re.search(pattern, message.body, re.M).group(1)


def test_password_change_keeps_the_user_logged_in(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response["Location"] == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert get_user(client).is_authenticated


def test_password_change_requires_the_current_password(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_reset_by_email_sets_a_new_password(client):
    user = UserFactory(email="ana@example.com")

    response = client.post(reverse("accounts:password_reset"), {"email": "ANA@example.com"}, follow=True)

    assert SENT in response.content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ana@example.com"]
    assert mail.outbox[0].subject == "Reset your Viewport password"
    link = reset_link(mail.outbox[0])

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.post(reverse("accounts:login"), {"email": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_password_reset_link_works_only_once(client):
    UserFactory(email="ana@example.com")
    client.post(reverse("accounts:password_reset"), {"email": "ana@example.com"})
    link = reset_link(mail.outbox[0])
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.get(link, follow=True)

    assert "This link has expired" in response.content.decode()


def test_password_reset_for_unknown_email_says_the_same_and_sends_nothing(client):
    UserFactory(email="ana@example.com")

    known = client.post(reverse("accounts:password_reset"), {"email": "ana@example.com"}, follow=True)
    unknown = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain
    assert SENT in unknown.content.decode()
    assert len(mail.outbox) == 1


def test_a_completed_password_reset_lifts_the_accounts_login_lockout_and_no_other(client, settings):
    settings.VIEWPORT_PROXY_COUNT = 1
    user, other = UserFactory(email="ana@example.com"), UserFactory(email="ben@example.com")
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, user.email, "guess", ip=f"203.0.113.{n}")
        log_in(client, other.email, "guess", ip=f"203.0.113.{n}")
    assert log_in(client, user.email, PASSWORD, ip="192.0.2.1").status_code == 429

    client.post(reverse("accounts:password_reset"), {"email": user.email})
    form_url = client.get(reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert log_in(client, user.email, NEW_PASSWORD, ip="192.0.2.1").status_code == 302
    assert log_in(Client(), other.email, PASSWORD, ip="192.0.2.2").status_code == 429


# Checks of the current password in a logged-in session: a stolen session cannot guess freely.


def change_email(client, password, email="new@example.com"):
    return client.post(reverse("accounts:profile"), {"display_name": "", "email": email, "current_password": password})


def change_password(client, old_password):
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": old_password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )


def test_wrong_current_passwords_are_limited_per_account_on_profile_and_password_change(client):
    user = UserFactory(email="ana@example.com")
    client.force_login(user)
    for n in range(5):
        assert "Your password was entered incorrectly." in change_email(client, f"guess{n}").content.decode()
        assert "Your old password was entered incorrectly." in change_password(client, f"guess{n}").content.decode()

    by_profile, by_password_change = change_email(client, PASSWORD), change_password(client, PASSWORD)

    for response in [by_profile, by_password_change]:
        assert response.status_code == 200
        assert "Too many wrong passwords. Please try again in 15 minutes." in response.content.decode()
    user.refresh_from_db()
    assert user.email == "ana@example.com" and user.check_password(PASSWORD)
    other = UserFactory(email="ben@example.com")
    client.force_login(other)
    assert change_password(client, PASSWORD).status_code == 302


def test_right_current_passwords_do_not_count_against_the_limit(client):
    client.force_login(UserFactory(email="ana@example.com"))
    for n in range(9):
        change_email(client, f"guess{n}")

    assert change_email(client, PASSWORD, email="ana.lens@example.com").status_code == 302
    assert change_email(client, PASSWORD, email="ana@example.com").status_code == 302
    assert change_password(client, PASSWORD).status_code == 302
