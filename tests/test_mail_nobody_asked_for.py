"""Mail nobody asked for is impossible (issue 23), shown with the suite's real SMTP server:
nothing is mailed on behalf of an account whose address is not confirmed; mail to an address a
visitor typed carries no text of theirs, goes once a day per address and link, and never uses the
photographer's daily limit up; `send` goes to internet domains only; the favourites notice comes
from the site, answering the client only when the link asked for their address."""

import json
from datetime import timedelta
from email.utils import parseaddr

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import RateLimitHit, User
from accounts.tests.factories import UserFactory
from favourites.tests.factories import FavouritesLinkFactory
from galleries.tests.factories import PhotoFactory
from sharing.tasks import send_expiry_reminders

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}
VISITOR_TEXT = "Bank of Example Security Team: verify at evil.example"


def start_list(link, name, email, network):
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=network)
    response = client.post(
        reverse("favourites:favourite_list", args=[link.pk]),
        json.dumps({"name": name, "email": email}),
        content_type="application/json",
        headers=JSON,
    )
    assert response.status_code == 201, response.content
    return client


@pytest.fixture
def proxied(settings):
    settings.VIEWPORT_PROXY_COUNT = 1


def test_an_unconfirmed_account_mails_nobody(client, smtp_mail, proxied):
    link = FavouritesLinkFactory(
        gallery__owner__email_verified_at=None, remind_days=3, expires_at=timezone.now() + timedelta(days=2)
    )
    PhotoFactory(gallery=link.gallery)
    client.force_login(link.gallery.owner)
    send = reverse("sharing:share_link_send", args=[link.pk])

    refused = client.post(send, {"emails": "victim@example.com", "message": "Call us"}, headers=JSON)
    assert refused.status_code == 403
    assert "confirm" in refused.json()["error"].lower() and set(refused.json()) == {"error"}
    page = client.post(send, {"emails": "victim@example.com"})
    assert page.status_code == 403 and "Confirm your e-mail address first" in page.content.decode()

    # Neither a visitor's resume link nor the expiry reminder goes out in its name.
    start_list(link, "Ana", "ana@example.com", "198.51.100.1")
    assert send_expiry_reminders.call() == 1
    assert smtp_mail.messages() == []
    assert not link.invitations.exists()


def test_an_unconfirmed_address_gets_no_text_the_account_typed_and_few_confirmations(client, smtp_mail):
    # Attack report 1: the confirmation and the reset mail greeted the victim with the display name.
    user = UserFactory(email="ceo@victim-corp.example", email_verified_at=None, display_name=VISITOR_TEXT)
    client.force_login(user)
    resend = reverse("accounts:confirm_email_resend")
    assert client.post(resend, headers=JSON).status_code == 202
    assert Client().post(reverse("accounts:password_reset"), {"email": user.email}).status_code == 302
    messages = smtp_mail.wait_for(2)
    assert {message["To"] for message in messages} == {"ceo@victim-corp.example"}
    for message in messages:
        text = message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()
        assert "Bank of Example" not in text + message["Subject"] and "Hello," in text

    # Accounts that take the victim's address in turn (and a fresh network each) mail it 5 times a day.
    for n in range(5):
        User.objects.filter(pk=user.pk).update(email=f"left-{n}@example.com")
        user = UserFactory(email="CEO@victim-corp.example", email_verified_at=None)
        client.force_login(user)
        answer = client.post(resend, headers=JSON, REMOTE_ADDR=f"198.51.100.{n}")
        assert answer.status_code == (202 if n < 4 else 429), answer.content
    assert len(smtp_mail.wait_for(6)) == 6


def test_mail_to_an_address_a_visitor_typed_carries_none_of_their_text_and_goes_once_a_day(smtp_mail, proxied):
    link = FavouritesLinkFactory(gallery__name="Smith wedding", gallery__owner__display_name="Lena Hart")
    start_list(link, VISITOR_TEXT, "target@example.com", "198.51.100.1")
    start_list(link, "Someone else", "Target@Example.com", "198.51.100.2")  # the same address, again
    [message] = smtp_mail.wait_for(1)
    assert message["To"] == "target@example.com"
    assert parseaddr(message["From"])[0] == "Lena Hart"
    text = message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()
    assert "Bank of Example" not in text + message["Subject"] and "Someone else" not in text
    assert "/favourites/resume/" in text
    # Another link of the photographer's may mail that address today too.
    other = FavouritesLinkFactory(gallery=link.gallery)
    start_list(other, "Ana", "target@example.com", "198.51.100.3")
    assert len(smtp_mail.wait_for(2)) == 2


def test_quoting_escaping_or_tagging_an_address_gets_it_no_second_mail(smtp_mail, proxied):
    # Attack report 7: each spelling of bob's address got its own "once a day".
    link = FavouritesLinkFactory()
    spellings = ['"bob"@target.example', '"\\bob"@target.example', '"b\\ob"@target.example', "Bob+x@Target.example"]
    for n, address in enumerate(["bob@target.example", *spellings]):
        start_list(link, "Bob", address, f"198.51.100.{n}")
    [message] = smtp_mail.wait_for(1)
    assert message["To"] == "bob@target.example"
    assert len(smtp_mail.messages()) == 1


def test_a_photographer_typing_strangers_on_their_own_link_mails_no_more_than_by_sending(smtp_mail, proxied, settings):
    # Attack report 8: visitor mail had a cap of its own (500 a day) beside the 200 recipients,
    # with the gallery's name in the subject.
    settings.VIEWPORT_MAIL_RECIPIENTS_PER_DAY = 3
    link = FavouritesLinkFactory(gallery__name="URGENT: your account is suspended")
    other = FavouritesLinkFactory(gallery__owner=link.gallery.owner)
    for n in range(4):
        start_list(link if n % 2 else other, "Guest", f"stranger{n}@example.com", f"198.51.100.{n}")
    messages = smtp_mail.wait_for(3)
    assert len(messages) == 3
    assert {message["Subject"] for message in messages} == {"Your link back to your favourites"}


def test_a_days_worth_of_anonymous_lists_leaves_the_photographers_limit_untouched(client, smtp_mail, proxied, settings):
    settings.VIEWPORT_MAIL_RECIPIENTS_PER_DAY = 20  # 200 by default: the same rule, fewer mails
    links = [FavouritesLinkFactory(gallery__owner__display_name="Lena Hart") for _ in range(4)]
    owner = links[0].gallery.owner
    for link in links[1:]:
        link.gallery.owner = owner
        link.gallery.save()
    for n in range(20):
        start_list(links[n % 4], f"Guest {n}", f"guest{n}@example.com", f"198.51.{n // 10}.{n % 10 + 1}")
    assert len(smtp_mail.wait_for(20, timeout=60)) == 20
    assert not RateLimitHit.objects.filter(scope="mail-recipients").exists()

    # The photographer's own sends still have the whole day's limit.
    client.force_login(owner)
    emails = ", ".join(f"client{n}@example.com" for n in range(20))
    response = client.post(reverse("sharing:share_link_send", args=[links[0].pk]), {"emails": emails}, headers=JSON)
    assert response.status_code == 202 and len(response.json()["sent"]) == 20
    assert len(smtp_mail.wait_for(40, timeout=30)) == 40


@pytest.mark.parametrize(
    "address", ["root@localhost", "a@[127.0.0.1]", "a@[IPv6:::1]", "a@127.0.0.1", "admin@intranet", "x@mail.localhost"]
)
def test_send_goes_to_internet_domains_only(client, smtp_mail, address):
    link = FavouritesLinkFactory()
    client.force_login(link.gallery.owner)
    response = client.post(
        reverse("sharing:share_link_send", args=[link.pk]),
        {"emails": f"ana@example.com, {address}"},
        headers=JSON,
    )
    assert response.status_code == 400
    error = response.json()["fields"]["emails"][0]
    assert address in error and "Nothing was sent" in error
    assert smtp_mail.messages() == [] and not link.invitations.exists()


@pytest.mark.parametrize("required", [False, True])
def test_the_favourites_notice_comes_from_the_site_answering_the_client_only_if_the_link_asked(
    smtp_mail, proxied, required
):
    link = FavouritesLinkFactory(favourites_require_email=required, gallery__owner__display_name="Lena Hart")
    photo = PhotoFactory(gallery=link.gallery)
    visitor = start_list(link, VISITOR_TEXT, "ana@example.com", "198.51.100.1")
    visitor.post(reverse("favourites:favourite_add", args=[link.pk, photo.pk]), headers=JSON)
    assert visitor.post(reverse("favourites:favourite_submit", args=[link.pk]), headers=JSON).status_code == 200
    [notice] = [message for message in smtp_mail.wait_for(2) if message["To"] == link.gallery.owner.email]
    assert parseaddr(notice["From"]) == ("Viewport", "noreply@localhost")
    text = notice.get_body(("plain",)).get_content()
    if required:
        assert notice["Reply-To"] == "ana@example.com" and "nobody confirmed it" in text
    else:
        assert notice["Reply-To"] is None and "ana@example.com" not in text
