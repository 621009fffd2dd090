"""Sending a share link by e-mail: all or nothing, no more than 20 at a time and 200 a day, never
to someone who unsubscribed; the mail itself (HTML and text, the photographer's name, Reply-To,
no password); expiry reminders to the people it was sent to. (Delivery through the real worker
and SMTP server: tests/test_worker.py.)"""

import email.policy
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from types import SimpleNamespace

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.mail import unsubscribe
from accounts.models import RateLimitHit, SentMail
from galleries.uploads import store_photo
from sharing.models import Invitation
from sharing.tasks import send_expiry_reminders, send_invitation
from sharing.tests.factories import ShareLinkFactory
from testing.photos import jpeg_upload

pytestmark = pytest.mark.django_db

SITE_URL = "https://photos.example.com"


@pytest.fixture(autouse=True)
def site(settings):
    settings.VIEWPORT_SITE_URL = SITE_URL


@pytest.fixture
def link(client):
    link = ShareLinkFactory(
        gallery__name="Smith wedding",
        gallery__owner__display_name="Lena Hart",
        expires_at=timezone.now() + timedelta(days=9),
    )
    client.force_login(link.gallery.owner)
    return link


def send(client, link, emails, message="", password=None, **extra):
    data = {"emails": emails, "message": message} | ({"password": password} if password is not None else {})
    return client.post(reverse("sharing:share_link_send", args=[link.pk]), data, **extra)


def test_one_mail_per_recipient_from_the_photographers_name_replying_to_them(client, link):
    response = send(client, link, "anna@example.com, ben@example.com\ncarla@example.com", "Enjoy!")
    assert response.status_code == 302 and response["Location"] == reverse("sharing:share_link_detail", args=[link.pk])
    assert [m.to for m in mail.outbox] == [["anna@example.com"], ["ben@example.com"], ["carla@example.com"]]
    message = mail.outbox[0]
    assert parseaddr(message.from_email) == ("Lena Hart", "noreply@localhost")
    assert message.reply_to == [link.gallery.owner.email]
    assert message.subject == "Lena Hart shared “Smith wedding” with you"
    html = message.alternatives[0].content
    assert message.alternatives[0].mimetype == "text/html"
    for body in (message.body, html):
        assert f"{SITE_URL}/s/{link.pk}/" in body and "Enjoy!" in body and "Smith wedding" in body
    assert "testserver" not in message.body + html  # links are built on VIEWPORT_SITE_URL only
    assert message.extra_headers["List-Unsubscribe"].startswith(f"<{SITE_URL}/unsubscribe/")
    # On the wire, the header is the URL itself (not RFC 2047-encoded, which clients don't follow).
    raw = message.message(policy=email.policy.SMTP).as_bytes()
    assert f"\r\nList-Unsubscribe: {message.extra_headers['List-Unsubscribe']}\r\n".encode() in raw
    assert list(Invitation.objects.filter(link=link).values_list("email", flat=True).order_by("email")) == [
        "anna@example.com",
        "ben@example.com",
        "carla@example.com",
    ]


def test_the_message_is_plain_text_in_the_text_part_and_escaped_in_the_html(client, link):
    send(client, link, "anna@example.com", 'Tom & Jerry <script>alert("x")</script>')
    message = mail.outbox[0]
    assert 'Tom & Jerry <script>alert("x")</script>' in message.body
    assert "<script>" not in message.alternatives[0].content
    assert "Tom &amp; Jerry &lt;script&gt;" in message.alternatives[0].content


@pytest.mark.parametrize(
    "emails, error",
    [
        ("anna@example.com, not-an-address", "Not e-mail addresses: not-an-address"),
        ("anna@example.com\nben@example.com\r\nBcc: x@evil.example", "Not e-mail addresses: Bcc: x@evil.example"),
        (", ".join(f"guest{n}@example.com" for n in range(21)), "At most 20 addresses"),
        (" , \n", "Enter at least one"),
    ],
)
def test_invalid_input_sends_nothing_to_anyone(client, link, emails, error):
    response = send(client, link, emails)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert mail.outbox == [] and not Invitation.objects.exists() and not RateLimitHit.objects.exists()


def test_the_password_is_never_sent_nor_the_cover_of_a_password_link(client, link, photo_storage):
    store_photo(link.gallery, jpeg_upload(width=200, height=150))
    link.set_password("open-sesame-42")
    link.save()
    send(client, link, "anna@example.com")
    message = mail.outbox[0]
    assert "open-sesame-42" not in message.message().as_string()
    assert "password" in message.body
    assert message.inline_images == {}

    link.set_password(None)
    link.save()
    send(client, link, "ben@example.com")
    assert list(mail.outbox[1].inline_images) == ["cover"]
    assert 'src="cid:cover"' in mail.outbox[1].alternatives[0].content


def test_a_paused_or_expired_link_is_not_sent(client, link):
    link.is_active = False
    link.save()
    response = send(client, link, "anna@example.com")
    assert response.status_code == 400 and "This link is paused" in response.content.decode()
    assert mail.outbox == []


def test_the_daily_recipient_limit_is_all_or_nothing(client, link, settings):
    settings.VIEWPORT_MAIL_RECIPIENTS_PER_DAY = 5
    assert send(client, link, "a@example.com, b@example.com, c@example.com").status_code == 302
    response = send(client, link, "d@example.com, e@example.com, f@example.com")
    assert response.status_code == 400 and "today’s limit of 5 recipients" in response.content.decode()
    assert len(mail.outbox) == 3
    assert send(client, link, "d@example.com, e@example.com").status_code == 302  # exactly up to the limit
    assert len(mail.outbox) == 5
    assert send(client, link, "f@example.com").status_code == 400
    # Per photographer: another's allowance is their own.
    other = ShareLinkFactory()
    client.force_login(other.gallery.owner)
    assert send(client, other, "f@example.com").status_code == 302


def test_unsubscribed_addresses_are_skipped_and_named(client, link):
    unsubscribe(link.gallery.owner, "Ben@Example.com")
    response = send(client, link, "anna@example.com, ben@example.com", follow=True)
    assert [m.to for m in mail.outbox] == [["anna@example.com"]]
    assert "Not sent to ben@example.com" in response.content.decode()


def test_json_clients_get_202_with_who_it_went_to(client, link):
    response = client.post(
        reverse("sharing:share_link_send", args=[link.pk]),
        {"emails": ["anna@example.com"], "message": "Hi"},
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 202 and response.json() == {"sent": ["anna@example.com"], "unsubscribed": []}
    response = client.post(
        reverse("sharing:share_link_send", args=[link.pk]),
        {"emails": "nope"},
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400 and "emails" in response.json()["fields"]


def test_an_invitation_task_run_twice_sends_once(client, link):
    send(client, link, "anna@example.com")
    invitation = Invitation.objects.get()
    assert send_invitation.enqueue(invitation.pk).return_value is False
    assert len(mail.outbox) == 1 and SentMail.objects.filter(key=f"invitation:{invitation.pk}").exists()


def test_a_failed_send_can_be_retried(client, link, monkeypatch):
    send(client, link, "anna@example.com")
    invitation = Invitation.objects.get()
    SentMail.objects.all().delete()
    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", broken_send)
    with pytest.raises(ConnectionRefusedError):
        send_invitation.call(invitation.pk)
    assert not SentMail.objects.exists()  # the claim is given back
    monkeypatch.undo()
    assert send_invitation.call(invitation.pk) is True


def broken_send(*args):
    raise ConnectionRefusedError("SMTP server down")


# Reminders


def test_reminders_go_to_whom_the_link_was_sent_when_due_once(client, link):
    link.remind_days = 3
    link.expires_at = timezone.now() + timedelta(days=2, hours=23)
    link.save()
    send(client, link, "anna@example.com, ben@example.com")
    unsubscribe(link.gallery.owner, "ben@example.com")
    mail.outbox.clear()

    assert send_expiry_reminders.enqueue().return_value == 2  # queued for both, ben skipped on sending
    assert [m.to for m in mail.outbox] == [["anna@example.com"]]
    assert "Reminder" in mail.outbox[0].subject and f"{SITE_URL}/s/{link.pk}/" in mail.outbox[0].body
    send_expiry_reminders.enqueue()
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("change", ["not yet", "no reminder", "paused", "expired", "never expires"])
def test_no_reminder_when_not_due(client, link, change):
    link.remind_days = 3
    link.expires_at = timezone.now() + timedelta(days=2)
    Invitation.objects.create(link=link, email="anna@example.com")
    if change == "not yet":
        link.expires_at = timezone.now() + timedelta(days=4)
    elif change == "no reminder":
        link.remind_days = 0
    elif change == "paused":
        link.is_active = False
    elif change == "expired":
        link.expires_at = timezone.now() - timedelta(minutes=1)
    else:
        link.expires_at = None
    link.save()
    send_expiry_reminders.enqueue()
    assert mail.outbox == []


def test_the_reminder_setting_is_part_of_the_links_settings(client, link):
    response = client.post(
        reverse("sharing:share_link_settings", args=[link.pk]),
        {"remind_days": "4"},
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200 and response.json()["remind_days"] == 4
    response = client.post(
        reverse("sharing:share_link_settings", args=[link.pk]),
        {"remind_days": "45"},
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400


def test_reminders_are_not_queued_again_for_people_already_reminded(client, link):
    link.remind_days = 3
    link.expires_at = timezone.now() + timedelta(days=2, hours=23)
    link.save()
    send(client, link, "anna@example.com")
    assert send_expiry_reminders.enqueue().return_value == 1
    assert send_expiry_reminders.enqueue().return_value == 0  # the hourly run finds her reminded


def test_reminders_count_against_the_daily_limit(client, link, settings):
    settings.VIEWPORT_MAIL_RECIPIENTS_PER_DAY = 3
    link.remind_days = 3
    link.expires_at = timezone.now() + timedelta(days=2, hours=23)
    link.save()
    send(client, link, "a@example.com, b@example.com")
    mail.outbox.clear()
    Invitation.objects.create(link=link, email="c@example.com")
    Invitation.objects.create(link=link, email="d@example.com")
    send_expiry_reminders.enqueue()
    assert len(mail.outbox) == 1  # 2 invitations + 1 reminder: the day's 3; the rest wait


@pytest.mark.parametrize("address", ['"a\\x0cb"@example.com', '"a\\x00b"@example.com'])
def test_addresses_no_mail_can_go_to_are_refused(client, link, address):
    response = send(client, link, address.encode().decode("unicode_escape"))
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_the_password_typed_again_goes_in_the_mails_and_stays_hashed(client, link, monkeypatch):
    link.set_password("open-sesame-42")
    link.save()
    queued = []
    monkeypatch.setattr("sharing.forms.send_invitation", SimpleNamespace(enqueue=lambda *args: queued.append(args)))
    response = send(client, link, "anna@example.com, ben@example.com", password="open-sesame-42")
    assert response.status_code == 302
    # What waits in the task queue holds the password sealed, never readable.
    assert len(queued) == 2 and not any("open-sesame-42" in str(args) for args in queued)
    for args in queued:
        send_invitation.call(*args)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert "The gallery is protected by a password: open-sesame-42" in message.body
        assert "open-sesame-42" in message.alternatives[0].content
        assert message.inline_images == {}  # still no cover on a password link
    link.refresh_from_db()
    assert link.check_password("open-sesame-42") and "open-sesame-42" not in link.password_hash


@pytest.mark.parametrize("has_password", [True, False])
def test_a_password_that_is_not_the_links_sends_nothing(client, link, has_password):
    if has_password:
        link.set_password("open-sesame-42")
        link.save()
    response = send(client, link, "anna@example.com", password="open-sesame-43", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "password" in response.json()["fields"]
    assert mail.outbox == [] and not Invitation.objects.exists()


def test_a_name_that_looks_like_an_address_is_not_one_in_from(client, link):
    owner = link.gallery.owner
    owner.display_name = 'PayPal Security" <security@paypal.com>, "x'
    owner.save()
    assert send(client, link, "anna@example.com").status_code == 302
    sender = mail.outbox[0].message()["From"]
    assert parseaddr(sender) == ("PayPal Security security paypal.com x", "noreply@localhost")
    assert sender.count("@") == 1 and "<" not in sender.removesuffix("<noreply@localhost>")


def test_the_password_is_checked_only_once_the_rest_is_right_and_wrong_ones_are_limited(client, link):
    link.set_password("open-sesame-42")
    link.save()
    other = ShareLinkFactory(gallery=link.gallery)
    other.set_password("open-sesame-42")
    other.save()
    as_json = {"headers": {"Accept": "application/json"}}

    # A form that fails anyway (no address, a paused link) does not say whether the password was right.
    for emails in ("", "not-an-address"):
        response = send(client, link, emails, password="open-sesame-43", **as_json)
        assert response.status_code == 400 and list(response.json()["fields"]) == ["emails"]
    link.is_active = False
    link.save()
    response = send(client, link, "anna@example.com", password="open-sesame-43", **as_json)
    assert response.status_code == 400 and "password" not in response.json()["fields"]
    link.is_active = True
    link.save()
    assert not RateLimitHit.objects.exists()

    # Right passwords do not count; ten wrong ones an hour per account and link, then 429 for any.
    assert send(client, link, "anna@example.com", password="open-sesame-42").status_code == 302
    for _ in range(10):
        assert send(client, link, "anna@example.com", password="open-sesame-43", **as_json).status_code == 400
    mail.outbox.clear()
    for password in ("open-sesame-43", "open-sesame-42"):
        response = send(client, link, "anna@example.com", password=password, **as_json)
        assert response.status_code == 429 and int(response["Retry-After"]) > 3000
        assert response.json() == {
            "error": "Too many wrong passwords for this link. Nothing was sent; please try again in 60 minutes."
        }
    page = send(client, link, "anna@example.com", password="open-sesame-42")
    assert page.status_code == 429 and "Too many wrong passwords for this link." in page.text
    assert mail.outbox == []
    assert send(client, link, "anna@example.com").status_code == 302  # without the password it goes
    assert send(client, other, "anna@example.com", password="open-sesame-42").status_code == 302


def test_creating_a_link_lands_on_it_with_its_address_and_the_send_form(client, link):
    response = client.post(reverse("sharing:share_link_create", args=[link.gallery.pk]), {"label": "Parents"})
    new = link.gallery.share_links.get(label="Parents")
    assert response.status_code == 302 and response["Location"] == reverse("sharing:share_link_detail", args=[new.pk])
    page = client.get(response["Location"]).text
    assert f'value="http://testserver/s/{new.pk}/" readonly' in page and 'data-copy="link-address"' in page
    assert reverse("sharing:share_link_send", args=[new.pk]) in page


def test_client_mails_state_the_expiry_as_a_date_in_the_photographers_zone(client, link):
    owner = link.gallery.owner
    owner.time_zone = "America/Los_Angeles"
    owner.save()
    link.expires_at = datetime(2026, 12, 31, 7, 59, tzinfo=UTC)
    link.save()
    send(client, link, "anna@example.com")
    assert "works until Wednesday 30 December 2026, 23:59 (America/Los_Angeles time)." in mail.outbox[0].body
