"""A share link's download PIN: viewing stays open, every download route (single, ZIP, set ZIP,
favourites ZIP; GET and HEAD) asks for the PIN until this browser typed it, as a form or as
JSON; a PIN change ends what was typed; wrong PINs are limited like passwords. On S3 and on
local storage (the shared_gallery fixture runs both)."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from favourites.models import FavouritesSettings
from galleries.models import PhotoSet
from sharing.access import DOWNLOAD_PIN_COOKIE
from sharing.models import ShareLink
from sharing.tests.helpers import counters

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}
PIN = "2468"


@pytest.fixture
def pinned(shared_gallery):
    shared_gallery.set_download_pin(PIN)
    shared_gallery.save()
    FavouritesSettings.objects.create(link=shared_gallery, favourites=True)
    return shared_gallery


def download_urls(link, client):
    """Every download route of the link, the favourites ZIP with a list of this client's."""
    photo = link.gallery.photos.first()
    photo_set = PhotoSet.objects.create(gallery=link.gallery, name="Ceremony")
    photo.photo_set = photo_set
    photo.save()
    client.post(reverse("favourites:favourite_list", args=[link.pk]), {"name": "Ana", "photo_id": str(photo.pk)})
    return {
        "single": reverse("sharing:photo_download", args=[link.pk, photo.pk]),
        "zip": reverse("sharing:zip_download", args=[link.pk]),
        "set zip": reverse("sharing:set_zip_download", args=[link.pk, photo_set.pk]),
        "favourites zip": reverse("favourites:favourite_zip", args=[link.pk]),
    }


def close(response):
    if response.streaming:
        b"".join(response.streaming_content)
    return response


def enter_pin(client, link, pin=PIN, next_path=None, **headers):
    data = {"pin": pin, **({"next": next_path} if next_path else {})}
    return client.post(reverse("sharing:download_pin", args=[link.pk]), data, **headers)


def test_every_download_route_asks_for_the_pin_while_viewing_stays_open(client, pinned):
    urls = download_urls(pinned, client)
    assert client.get(pinned.get_absolute_url()).status_code == 200
    photo = pinned.gallery.photos.first()
    assert client.get(reverse("sharing:public_thumbnail", args=[pinned.pk, photo.pk])).status_code in (200, 302)
    for name, url in urls.items():
        page = client.get(url)
        assert page.status_code == 401, name
        assert page["Cache-Control"] == "private, no-store"
        html = page.content.decode()
        assert 'name="pin"' in html and f'name="next" value="{url}"' in html, name
        assert client.head(url).status_code == 401, name
        answer = client.get(url, headers=JSON)
        assert answer.status_code == 401 and "PIN" in answer.json()["error"] and set(answer.json()) == {"error"}
    assert counters(pinned) == (1, 0, 0)  # the one view; no download counted


def test_the_right_pin_opens_every_download_for_this_browser_and_link_only(client, pinned):
    urls = download_urls(pinned, client)
    response = enter_pin(client, pinned, next_path=urls["single"])
    assert response.status_code == 302
    cookie = response.cookies[DOWNLOAD_PIN_COOKIE]
    assert cookie["path"] == pinned.get_absolute_url() and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert PIN not in cookie.value
    # The page it leads to starts the download asked for, without JavaScript.
    page = client.get(response["Location"])
    assert (
        page.status_code == 200 and f'http-equiv="refresh" content="0; url={urls["single"]}"' in page.content.decode()
    )
    for name, url in urls.items():
        assert close(client.get(url)).status_code in (200, 302), name
        assert client.head(url).status_code in (200, 302), name
    # Another link to the same gallery with the same PIN is not opened by this one's cookie.
    other = ShareLink.objects.create(gallery=pinned.gallery)
    other.set_download_pin(PIN)
    other.save()
    client.cookies[DOWNLOAD_PIN_COOKIE]["path"] = "/"
    assert client.get(reverse("sharing:zip_download", args=[other.pk])).status_code == 401


def test_a_script_enters_the_pin_as_json(client, pinned):
    url = reverse("sharing:download_pin", args=[pinned.pk])
    wrong = client.post(url, json.dumps({"pin": "1111"}), content_type="application/json", headers=JSON)
    assert wrong.status_code == 401 and "not right" in wrong.json()["error"]
    right = client.post(url, json.dumps({"pin": PIN}), content_type="application/json", headers=JSON)
    assert right.status_code == 200 and right.json() == {"download_pin": "accepted"}
    assert close(client.get(reverse("sharing:zip_download", args=[pinned.pk]))).status_code == 200


def test_changing_or_clearing_the_pin_ends_what_browsers_typed(client, pinned):
    enter_pin(client, pinned)
    zip_url = reverse("sharing:zip_download", args=[pinned.pk])
    assert close(client.get(zip_url)).status_code == 200
    pinned.set_download_pin("13579")
    pinned.save()
    assert client.get(zip_url).status_code == 401
    pinned.set_download_pin(None)
    pinned.save()
    assert close(Client().get(zip_url)).status_code == 200


def test_a_next_outside_the_link_is_not_followed(client, pinned):
    response = enter_pin(client, pinned, next_path=f"{pinned.get_absolute_url()}../../admin/")
    assert response["Location"] == reverse("sharing:download_pin", args=[pinned.pk])


def test_wrong_pins_are_limited_per_network_and_then_need_a_challenge(client, pinned, settings):
    settings.VIEWPORT_PROXY_COUNT = 1
    for _ in range(10):
        assert (
            enter_pin(Client(), pinned, "0000", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code
            == 401
        )
    refused = Client().post(
        reverse("sharing:download_pin", args=[pinned.pk]),
        {"pin": PIN},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    for n in range(10):  # twenty wrong in all: the link asks for a challenge from now on
        headers = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"198.51.100.{20 + n}"}
        assert enter_pin(Client(), pinned, "0000", **headers).status_code == 401
    fresh = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.5")
    form = fresh.get(reverse("sharing:download_pin", args=[pinned.pk]))
    assert "<altcha-widget" in form.content.decode()
    asked = enter_pin(fresh, pinned)
    assert asked.status_code == 401 and "proves it is a person" in asked.content.decode()


def test_the_link_json_says_whether_downloads_need_a_pin_and_never_the_pin(client, shared_gallery):
    client.force_login(shared_gallery.gallery.owner)
    url = reverse("sharing:share_link_settings", args=[shared_gallery.pk])
    response = client.post(url, json.dumps({"download_pin": "12345678"}), content_type="application/json", headers=JSON)
    assert response.status_code == 200 and response.json()["has_download_pin"] is True
    assert "12345678" not in response.content.decode()
    shared_gallery.refresh_from_db()
    assert shared_gallery.check_download_pin("12345678") and "12345678" not in shared_gallery.download_pin_hash
    for bad in ("123", "123456789", "12a4", " "):
        refused = client.post(url, json.dumps({"download_pin": bad}), content_type="application/json", headers=JSON)
        if bad.strip():
            assert refused.status_code == 400 and "download_pin" in refused.json()["fields"], bad
    both = client.post(
        url,
        json.dumps({"download_pin": "1234", "download_pin_clear": True}),
        content_type="application/json",
        headers=JSON,
    )
    assert both.status_code == 400
    cleared = client.post(url, json.dumps({"download_pin_clear": True}), content_type="application/json", headers=JSON)
    assert cleared.json()["has_download_pin"] is False


def test_the_tiles_download_links_follow_each_browsers_pin_though_the_tiles_are_cached(client, pinned):
    def tile_download(browser):
        page = browser.get(pinned.get_absolute_url()).content.decode()
        return re.search(r'<a class="tile__download"[^>]*>', page).group(0)

    assert " download " not in tile_download(client)  # drawn, and cached, before the PIN
    enter_pin(client, pinned)
    assert " download " in tile_download(client)
    assert " download " not in tile_download(Client())


def test_the_settings_say_a_pin_protects_little_on_a_web_size_link(client, shared_gallery):
    # Attack report 9: at web size, /preview/ serves the very file a PIN "protects".
    client.force_login(shared_gallery.gallery.owner)
    settings_page = reverse("sharing:share_link_detail", args=[shared_gallery.pk])
    warning = "The PIN protects little here"
    shared_gallery.set_download_pin(PIN)
    for size, warned in (("original", False), ("web", True)):
        shared_gallery.download_size = size
        shared_gallery.save()
        assert (warning in client.get(settings_page).content.decode()) == warned, size
    shared_gallery.set_download_pin("")
    shared_gallery.save()
    assert warning not in client.get(settings_page).content.decode()
