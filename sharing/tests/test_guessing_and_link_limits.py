"""The photographer sees when a link's password or PIN is being guessed (its page, its JSON, one
e-mail a link a day through the suite's SMTP server), and creating share links has a limit."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import RateLimitHit
from galleries.tests.factories import GalleryFactory
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}
PASSWORD, PIN = "open sesame", "2468"


def guess(link, network, password=None, pin=None):
    """A wrong (or right) password or PIN typed on `link` by a fresh browser on `network`."""
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=network)
    if pin is not None:
        # A visitor who has the password (the photographer's client) and guesses the PIN.
        assert client.post(reverse("sharing:unlock", args=[link.pk]), {"password": PASSWORD}).status_code == 302
        return client.post(reverse("sharing:download_pin", args=[link.pk]), {"pin": pin})
    return client.post(reverse("sharing:unlock", args=[link.pk]), {"password": password})


def test_a_link_under_a_guessing_attack_warns_its_photographer_on_its_page_in_json_and_once_by_mail(
    client, settings, smtp_mail
):
    settings.VIEWPORT_PROXY_COUNT = 1
    settings.VIEWPORT_GUESSING_ALERT = 5
    link = ShareLinkFactory(label="Smith wedding, family")
    link.set_password(PASSWORD)
    link.set_download_pin(PIN)
    link.save()
    owner = link.gallery.owner
    client.force_login(owner)
    detail = reverse("sharing:share_link_detail", args=[link.pk])

    # A client who mistypes, then gets it right: counted, but no warning.
    assert guess(link, "192.0.2.1", "open sesame!").status_code == 401
    assert guess(link, "192.0.2.1", PASSWORD).status_code == 302
    data = client.get(detail, headers=JSON).json()
    assert data["failed_unlocks_last_hour"] == 1 and data["failed_unlock_networks_last_hour"] == 1
    assert data["under_guessing_attack"] is False
    assert "Someone is guessing" not in client.get(detail).content.decode()
    assert "Being guessed" not in client.get(reverse("sharing:share_link_list")).content.decode()

    for network in ("198.51.100.1", "198.51.100.2", "198.51.100.1"):
        assert guess(link, network, "password1").status_code == 401
    assert smtp_mail.messages() == []
    # The fifth wrong try in the hour (a PIN counts too) passes the threshold: one mail.
    assert guess(link, "198.51.100.3", pin="0000").status_code == 401
    [mail] = smtp_mail.wait_for(1)
    for network in ("198.51.100.4", "198.51.100.5"):
        assert guess(link, network, pin="1111").status_code == 401
    assert guess(link, "198.51.100.6", "letmein").status_code == 401

    warning = (
        "5 wrong passwords and 3 wrong download PINs in the last hour from 7 networks. Guessers are slowed "
        "down and must solve a challenge for each try; change the password and the download PIN if you did "
        "not expect this."
    )
    data = client.get(detail, headers=JSON).json()
    assert (data["failed_unlocks_last_hour"], data["failed_unlock_networks_last_hour"]) == (8, 7)
    assert data["under_guessing_attack"] is True and data["id"] == str(link.pk)
    page = client.get(detail).content.decode()
    assert "Someone is guessing this link." in page and warning in page
    # The lists of links say which one is being guessed.
    calm = ShareLinkFactory(gallery=link.gallery)
    for listing in (reverse("sharing:share_link_list"), reverse("galleries:gallery_sharing", args=[link.gallery_id])):
        content = client.get(listing).content.decode()
        assert content.count("Being guessed") == 1 and f"{detail}#guessing" in content
        assert str(calm.pk) in content

    # Once a link a day, whatever more wrong tries come; to the photographer, from the site.
    assert len(smtp_mail.messages()) == 1
    assert mail["To"] == owner.email and "Viewport" in mail["From"]
    assert mail["Subject"] == (
        "Someone is guessing the secret of your link “Smith wedding, family”: 5 wrong tries in the last hour"
    )
    text = mail.get_body(("plain",)).get_content()
    assert "4 wrong passwords and 1 wrong download PIN in the last hour from 4 networks." in text
    assert settings.VIEWPORT_SITE_URL + detail in text

    # The real client on a fresh network still gets in, and the warning says nothing of them.
    assert guess(link, "203.0.113.9", PASSWORD).status_code == 302
    assert client.get(detail, headers=JSON).json()["failed_unlocks_last_hour"] == 8

    # A new password guessed in turn is news: another mail.
    link.set_password("a brand new secret")
    link.save()
    guess(link, "198.51.100.20", "still wrong")
    assert len(smtp_mail.wait_for(2)) == 2

    # Another link of the photographer's is another warning; a link of someone else's is not theirs.
    other = ShareLinkFactory(gallery__owner=owner)
    other.set_password(PASSWORD)
    other.save()
    for n in range(5):
        guess(other, f"198.51.100.{10 + n}", "nope")
    assert len(smtp_mail.wait_for(3)) == 3
    stranger = ShareLinkFactory()
    assert client.get(reverse("sharing:share_link_detail", args=[stranger.pk]), headers=JSON).status_code == 404


def test_creating_share_links_is_limited_per_photographer(client, settings):
    settings.VIEWPORT_LINK_CREATE_PER_HOUR = 3
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    create = reverse("sharing:share_link_create", args=[gallery.pk])
    # A form with errors creates nothing and counts nothing.
    assert client.post(create, {"expires_at": "2001-01-01"}, headers=JSON).status_code == 400
    for n in range(2):
        assert client.post(create, {"label": f"Link {n}"}, headers=JSON).status_code == 201
    assert client.post(create, {"label": "Link 2"}).status_code == 302

    refused = client.post(create, {"label": "One too many"}, headers=JSON)
    assert refused.status_code == 429 and 3000 < int(refused["Retry-After"]) <= 3600
    assert refused.json() == {
        "error": "You created 3 share links in the last hour. Nothing was created; please try again in 60 minutes."
    }
    page = client.post(create, {"label": "One too many"})
    assert page.status_code == 429 and page["Retry-After"]
    content = page.content.decode()
    assert "You created 3 share links in the last hour" in content and 'value="One too many"' in content
    assert ShareLink.objects.count() == 3

    # Per photographer: another one creates links as usual; an hour later this one does again.
    other = GalleryFactory()
    client.force_login(other.owner)
    assert client.post(reverse("sharing:share_link_create", args=[other.pk]), headers=JSON).status_code == 201
    RateLimitHit.objects.filter(scope="link-create").update(created_at="2000-01-01T00:00Z")
    client.force_login(gallery.owner)
    assert client.post(create, headers=JSON).status_code == 201


def test_saving_share_links_is_limited_per_photographer(client, settings):
    settings.VIEWPORT_LINK_UPDATE_PER_HOUR = 2
    link = ShareLinkFactory(label="Family")
    client.force_login(link.gallery.owner)
    update = reverse("sharing:share_link_update", args=[link.pk])
    assert client.post(update, {"expires_at": "2001-01-01"}, headers=JSON).status_code == 400  # counts nothing
    for n in range(2):
        assert client.post(update, {"label": f"Family {n}"}, headers=JSON).status_code == 200
    refused = client.post(update, {"label": "Too many"}, headers=JSON)
    assert refused.status_code == 429 and 3000 < int(refused["Retry-After"]) <= 3600
    assert refused.json()["error"].startswith("You saved share links 2 times in the last hour. Nothing was saved")
    page = client.post(update, {"label": "Too many"})
    assert page.status_code == 429 and 'value="Too many"' in page.content.decode()
    link.refresh_from_db()
    assert link.label == "Family 1"
