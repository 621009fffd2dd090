"""A new account confirms its address through a link mailed to it (valid 3 days, once, sent again
on request within a limit); until then nothing is mailed on its behalf. A changed address is
confirmed anew; accounts made before this count as confirmed (migration)."""

import re
import time
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a quiet lens 42"


def sign_up(client, email="ana@example.com"):
    data = {"email": email, "display_name": "Ana Studio", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(reverse("accounts:signup"), data)
    assert response.status_code == 302
    return User.objects.get(email=email)


def confirmation_link(message):
    return re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)


def path_of(url):
    return "/" + url.split("/", 3)[3]


def test_signup_mails_a_link_that_confirms_the_address_once(client):
    user = sign_up(client)
    assert not user.is_email_verified
    [message] = mail.outbox
    assert message.to == ["ana@example.com"] and "Confirm" in message.subject
    link = path_of(confirmation_link(message))
    assert "3 days" in message.body

    # Another browser (or a mail scanner that follows links) sees a button; only a POST confirms.
    stranger = Client()
    page = stranger.get(link)
    assert page.status_code == 200 and "Yes, confirm ana@example.com" in page.content.decode()
    user.refresh_from_db()
    assert not user.is_email_verified
    assert stranger.post(link).status_code == 200
    user.refresh_from_db()
    assert user.is_email_verified

    used = stranger.post(link)
    assert used.status_code == 400 and "has been used" in used.content.decode()


def test_the_link_opened_in_the_accounts_own_session_confirms_at_once(client):
    user = sign_up(client)
    response = client.get(path_of(confirmation_link(mail.outbox[0])))
    assert response.status_code == 302 and response["Location"] == reverse("galleries:gallery_list")
    user.refresh_from_db()
    assert user.is_email_verified


def later(seconds):
    """The signed link's clock, `seconds` from now."""
    return mock.patch("django.core.signing.time.time", return_value=time.time() + seconds)


def test_the_link_works_for_three_days(client):
    user = sign_up(client)
    link = path_of(confirmation_link(mail.outbox[0]))
    with later(3 * 86400 + 60):
        response = Client().post(link)
    assert response.status_code == 400 and "older than 3 days" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_email_verified
    with later(3 * 86400 - 3600):
        assert Client().post(link).status_code == 200


def test_a_forged_or_edited_link_confirms_nothing(client):
    user = sign_up(client)
    link = path_of(confirmation_link(mail.outbox[0]))
    for forged in [link[:-3] + "xx/", reverse("accounts:confirm_email", args=["abc:def:ghi"])]:
        assert Client().post(forged).status_code == 400
    user.refresh_from_db()
    assert not user.is_email_verified


def test_an_unconfirmed_account_is_told_and_can_ask_again_within_a_limit(client):
    sign_up(client)
    page = client.get(reverse("galleries:gallery_list"))
    assert "Confirm your e-mail address" in page.content.decode()
    resend = reverse("accounts:confirm_email_resend")
    # The signup's mail counted: two more in the hour, then a 429 that says when.
    for _ in range(2):
        assert client.post(resend, headers={"Accept": "application/json"}).status_code == 202
    refused = client.post(resend, headers={"Accept": "application/json"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many confirmation e-mails" in refused.json()["error"]
    assert len(mail.outbox) == 3
    # Every link sent still works (each is valid 3 days).
    assert Client().post(path_of(confirmation_link(mail.outbox[0]))).status_code == 200


def test_changing_the_address_needs_a_new_confirmation(client):
    user = UserFactory(email="old@example.com")
    client.force_login(user)
    response = client.post(
        reverse("accounts:profile"),
        {"email": "new@example.com", "display_name": "Ana", "current_password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "new@example.com" and not user.is_email_verified
    [message] = mail.outbox
    assert message.to == ["new@example.com"]
    # A link for the old address confirms nothing now; the new one does.
    assert Client().post(path_of(confirmation_link(message))).status_code == 200
    user.refresh_from_db()
    assert user.is_email_verified


def test_a_link_for_an_address_the_account_left_confirms_nothing(client):
    user = sign_up(client, "first@example.com")
    old_link = path_of(confirmation_link(mail.outbox[0]))
    User.objects.filter(pk=user.pk).update(email="second@example.com")
    response = Client().post(old_link)
    assert response.status_code == 400 and "no longer the account" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_email_verified


def test_a_completed_password_reset_confirms_the_address(client):
    user = sign_up(client)
    client.post(reverse("accounts:logout"))
    mail.outbox.clear()
    client.post(reverse("accounts:password_reset"), {"email": user.email})
    reset = re.search(r"https?://\S+/accounts/password/reset/\S+/", mail.outbox[0].body).group(0)
    form = client.get(path_of(reset), follow=True)
    new = "another quiet lens 43"
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    user.refresh_from_db()
    assert user.is_email_verified
