import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import UserFactory

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
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

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
