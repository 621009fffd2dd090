"""Mail to and on behalf of photographers: the generic notification task (HTML and text, sender
name, Reply-To, once per key, each kind switchable in the profile), the daily digest (only after
days with activity), and the clients' one-click unsubscribe."""

from datetime import timedelta
from email.utils import parseaddr

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import tasks
from accounts.mail import UNSUBSCRIBE_SALT, is_unsubscribed, read_unsubscribe_token, unsubscribe_url
from accounts.models import MailSuppression
from accounts.tasks import notify_photographer
from accounts.tests.factories import UserFactory
from favourites.models import FavouriteDay
from sharing.models import LinkDay
from sharing.tasks import send_daily_digests
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db

SITE_URL = "https://photos.example.com"
DIGEST = {
    "day": "2026-11-29",
    "links": [
        {
            "name": "Parents",
            "gallery": "Smith wedding",
            "url": f"{SITE_URL}/share-links/x/",
            "views": 3,
            "unique_visitors": 2,
            "zip_downloads": 1,
            "single_downloads": 0,
        }
    ],
}


@pytest.fixture(autouse=True)
def site(settings):
    settings.VIEWPORT_SITE_URL = SITE_URL


def test_a_notification_is_html_and_text_with_a_sender_name_and_reply_to_sent_once():
    user = UserFactory(display_name="Lena Hart")
    sent = notify_photographer.enqueue(
        str(user.pk), "daily_digest", "k1", DIGEST, sender_name="Anna Smith", reply_to="anna@example.com"
    )
    assert sent.return_value is True
    [message] = mail.outbox
    assert message.to == [user.email]
    assert parseaddr(message.from_email) == ("Anna Smith", "noreply@localhost")
    assert message.reply_to == ["anna@example.com"]
    assert message.alternatives[0].mimetype == "text/html"
    for body in (message.body, message.alternatives[0].content):
        assert "Parents" in body and "Smith wedding" in body and f"{SITE_URL}/accounts/profile/" in body
    # The same key again (a retried task): nothing more.
    assert notify_photographer.enqueue(str(user.pk), "daily_digest", "k1", DIGEST).return_value is False
    assert len(mail.outbox) == 1


def test_without_a_sender_name_it_comes_from_viewport_with_no_reply_to():
    user = UserFactory()
    notify_photographer.enqueue(str(user.pk), "daily_digest", "k2", DIGEST)
    assert parseaddr(mail.outbox[0].from_email) == ("Viewport", "noreply@localhost")
    assert mail.outbox[0].reply_to == []


@pytest.mark.parametrize("kind, switch", [("daily_digest", "notify_daily_digest"), ("favourites", "notify_favourites")])
def test_a_photographer_who_switched_a_kind_off_gets_none(kind, switch):
    user = UserFactory(**{switch: False})
    assert notify_photographer.enqueue(str(user.pk), kind, "k3", DIGEST).return_value is False
    assert mail.outbox == []


def test_the_switches_are_in_the_profile_and_on_by_default(client):
    user = UserFactory(display_name="Lena")
    assert user.notify_favourites and user.notify_daily_digest
    client.force_login(user)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'name="notify_favourites"' in page and 'name="notify_daily_digest"' in page
    response = client.post(
        reverse("accounts:profile"), {"display_name": "Lena", "email": user.email, "notify_favourites": "on"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.notify_favourites and not user.notify_daily_digest


def test_notifications_reach_a_real_smtp_server(smtp_mail):
    user = UserFactory(display_name="Lena Hart")
    notify_photographer.enqueue(
        str(user.pk), "daily_digest", "smtp", DIGEST, sender_name="Anna Smith", reply_to="anna@example.com"
    )
    [message] = smtp_mail.wait_for(1)
    assert message["To"] == user.email and message["Reply-To"] == "anna@example.com"
    assert parseaddr(message["From"])[0] == "Anna Smith"
    assert message.get_content_type() == "multipart/alternative"
    assert "Parents" in message.get_body(("plain",)).get_content()
    assert "<table" in message.get_body(("html",)).get_content()


# The daily digest


def test_the_digest_goes_to_photographers_whose_links_were_opened_yesterday():
    yesterday = timezone.localdate() - timedelta(days=1)
    busy = ShareLinkFactory(label="Parents", gallery__name="Smith wedding")
    LinkDay.objects.create(link=busy, day=yesterday, views=5, unique_visitors=2, single_downloads=1)
    FavouriteDay.objects.create(link=busy, day=yesterday, favourites=3)
    LinkDay.objects.create(link=ShareLinkFactory(gallery=busy.gallery), day=yesterday, views=1)
    LinkDay.objects.create(link=ShareLinkFactory(), day=yesterday - timedelta(days=1), views=9)  # older: no digest
    ShareLinkFactory()  # never opened: no digest
    quiet = ShareLinkFactory(gallery__owner__notify_daily_digest=False)
    LinkDay.objects.create(link=quiet, day=yesterday, views=4)

    assert send_daily_digests.enqueue().return_value == 2  # busy's owner and quiet's (who switched it off)
    [message] = mail.outbox
    assert message.to == [busy.gallery.owner.email]
    assert "5 views of “Parents”" in message.subject
    assert f"{SITE_URL}/share-links/{busy.pk}/" in message.body and "2 unique visitors" in message.body
    assert "3 favourites added" in message.body
    send_daily_digests.enqueue()
    assert len(mail.outbox) == 1


# Unsubscribe


def test_a_client_unsubscribes_from_one_photographer_with_the_link_in_the_mail(client):
    photographer, other = UserFactory(display_name="Lena Hart"), UserFactory()
    url = unsubscribe_url(photographer, "anna@example.com").removeprefix(SITE_URL)
    page = client.get(url)
    assert page.status_code == 200 and "Lena Hart" in page.content.decode()
    assert not is_unsubscribed(photographer, "anna@example.com")  # a GET (a link scanner) changes nothing

    response = client.post(url)
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert is_unsubscribed(photographer, "ANNA@example.com")
    assert not is_unsubscribed(other, "anna@example.com")
    client.post(url)
    assert MailSuppression.objects.count() == 1


def test_one_click_unsubscribe_needs_no_csrf_token():
    photographer = UserFactory()
    url = unsubscribe_url(photographer, "anna@example.com").removeprefix(SITE_URL)
    # What a mail client sends for RFC 8058.
    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert is_unsubscribed(photographer, "anna@example.com")


@pytest.mark.parametrize("token", ["nonsense", "WyJ4Il0:1tamper:xyz"])
def test_a_forged_or_damaged_token_unsubscribes_nobody(client, token):
    UserFactory()
    page = client.get(reverse("unsubscribe", args=[token]))
    assert page.status_code == 404 and "not valid" in page.content.decode()
    assert client.post(reverse("unsubscribe", args=[token])).status_code == 400
    assert not MailSuppression.objects.exists()


@pytest.mark.parametrize(
    "signed_with",
    [{"salt": "accounts.something-else"}, {"key": "another site's secret key " * 2, "salt": UNSUBSCRIBE_SALT}],
    ids=["another salt", "another key"],
)
def test_a_well_formed_token_signed_with_another_salt_or_key_unsubscribes_nobody(client, signed_with):
    photographer = UserFactory()
    token = signing.dumps([str(photographer.pk), "anna@example.com"], compress=True, **signed_with)
    assert read_unsubscribe_token(token) is None
    assert client.get(reverse("unsubscribe", args=[token])).status_code == 404
    assert client.post(reverse("unsubscribe", args=[token])).status_code == 400
    assert not MailSuppression.objects.exists()


def test_a_token_for_one_address_cannot_be_edited_into_another():
    photographer = UserFactory()
    token = unsubscribe_url(photographer, "anna@example.com").rsplit("/", 2)[-2]
    payload, rest = token.split(":", 1)
    assert read_unsubscribe_token(token) == (photographer, "anna@example.com")
    assert read_unsubscribe_token(payload[:-2] + "xx:" + rest) is None


def test_photographers_are_greeted_by_their_own_name_not_their_brand():
    user = UserFactory(display_name="Lena Hart", brand_name="Lena Hart Photography")
    notify_photographer.enqueue(str(user.pk), "daily_digest", "greeting", DIGEST)
    [message] = mail.outbox
    assert message.body.startswith("Hello Lena Hart,")
    assert "Hello Lena Hart," in message.alternatives[0].content
    assert "Hello Lena Hart Photography" not in message.body + message.alternatives[0].content


def test_a_photographers_mails_are_written_in_their_time_zone(monkeypatch):
    user = UserFactory(display_name="Lena", time_zone="Pacific/Auckland")
    zones, real_compose = [], tasks.compose

    def compose(*args, **kwargs):
        zones.append(timezone.get_current_timezone_name())
        return real_compose(*args, **kwargs)

    monkeypatch.setattr(tasks, "compose", compose)
    notify_photographer.enqueue(str(user.pk), "daily_digest", "zone", DIGEST)
    assert zones == ["Pacific/Auckland"] and len(mail.outbox) == 1
