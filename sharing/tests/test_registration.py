"""Visitor registration (`require_email`): before seeing anything a visitor gives an e-mail
address and perhaps a name; the photographer sees each visitor with what they did, and a CSV.
On S3 and on local storage (the shared_gallery fixture runs both)."""

import csv
import io
import json

import pytest
from django.test import Client
from django.urls import reverse

from favourites.models import FavouriteList, FavouritesSettings
from sharing.access import REGISTRATION_COOKIE
from sharing.models import LinkVisitor, ShareLink
from sharing.tests.helpers import public_urls

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}


@pytest.fixture
def asking(shared_gallery):
    shared_gallery.require_email = True
    shared_gallery.save()
    return shared_gallery


def register(client, link, email="ana@example.com", name="Ana", **headers):
    return client.post(reverse("sharing:register", args=[link.pk]), {"email": email, "name": name}, **headers)


def close(response):
    if response.streaming:
        b"".join(response.streaming_content)
    return response


def test_until_registered_nothing_of_the_gallery_is_in_the_page(client, asking):
    photo = asking.gallery.photos.first()
    page = client.get(asking.get_absolute_url())
    assert page.status_code == 401 and page["Cache-Control"] == "private, no-store"
    html = page.content.decode()
    assert 'name="email"' in html and 'name="name"' in html
    assert reverse("sharing:register", args=[asking.pk]) in html
    assert asking.gallery.owner.name in html
    for secret in ("Smith wedding", "IMG_0001", str(photo.pk), "/photos/"):
        assert secret not in html, secret
    for name, url in public_urls(asking.pk, photo.pk).items():
        answer = client.get(url, headers=JSON)
        assert answer.status_code == 401 and "e-mail address" in answer.json()["error"], name
        assert client.head(url).status_code == 401, name


def test_registering_opens_the_gallery_for_this_browser_and_link(client, asking):
    response = register(client, asking)
    assert response.status_code == 302 and response["Location"] == asking.get_absolute_url()
    cookie = response.cookies[REGISTRATION_COOKIE]
    assert cookie["path"] == asking.get_absolute_url() and cookie["httponly"] and cookie["samesite"] == "Lax"
    page = client.get(asking.get_absolute_url())
    assert page.status_code == 200 and "Smith wedding" in page.content.decode()
    # The cookie names nobody on another link that asks.
    other = ShareLink.objects.create(gallery=asking.gallery, require_email=True)
    client.cookies[REGISTRATION_COOKIE]["path"] = "/"
    assert client.get(other.get_absolute_url()).status_code == 401


def test_a_script_registers_with_json(client, asking):
    url = reverse("sharing:register", args=[asking.pk])
    body = json.dumps({"email": "Ben@Example.com", "name": "Ben"})
    response = client.post(url, body, content_type="application/json", headers=JSON)
    assert response.status_code == 200 and response.json() == {"email": "ben@example.com", "name": "Ben"}
    assert client.get(asking.get_absolute_url(), headers=JSON).status_code != 401


@pytest.mark.parametrize(
    "data, field",
    [
        ({"email": "not an address"}, "email"),
        ({"email": "a@localhost"}, "email"),
        ({"email": "a@b.com", "name": "A\nB"}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_registers_nobody(client, asking, data, field):
    url = reverse("sharing:register", args=[asking.pk])
    response = client.post(url, json.dumps(data), content_type="application/json", headers=JSON)
    assert response.status_code == 400 and field in response.json()["fields"]
    page = client.post(url, data)
    assert page.status_code == 400 and 'class="field-error"' in page.content.decode()
    assert not LinkVisitor.objects.exists()


def test_the_same_address_on_another_device_is_the_same_visitor(asking):
    register(Client(), asking, "ana@example.com", "Ana")
    register(Client(), asking, "ANA@example.com", "")
    [visitor] = LinkVisitor.objects.all()
    assert (visitor.email, visitor.name) == ("ana@example.com", "Ana")


def test_whoever_types_a_visitors_address_neither_learns_nor_changes_their_name(asking):
    # Attack report 6: the answer gave the stored name away, and a new name replaced it.
    register(Client(), asking, "zoe@example.com", "Zoë Müller")
    impostor = Client()
    url = reverse("sharing:register", args=[asking.pk])
    for name in ("", "Mallory"):
        body = json.dumps({"email": "ZOE@example.com", "name": name})
        response = impostor.post(url, body, content_type="application/json", headers=JSON)
        assert response.status_code == 200 and response.json() == {"email": "zoe@example.com", "name": name}
        assert "Zoë" not in response.content.decode()
    [visitor] = LinkVisitor.objects.all()
    assert visitor.name == "Zoë Müller"
    # What the impostor's browser does is logged under the name it typed.
    impostor.get(asking.get_absolute_url())
    assert list(asking.activities.values_list("visitor_label", flat=True)) == ["Mallory (zoe@example.com)"]
    FavouritesSettings.objects.create(link=asking, favourites=True)
    started = impostor.post(reverse("favourites:favourite_list", args=[asking.pk]), {}, headers=JSON)
    assert started.status_code == 201 and "Zoë" not in started.content.decode()
    assert FavouriteList.objects.get().name == "Mallory"


def test_the_photographer_sees_each_visitor_with_what_they_did_and_a_csv(client, asking):
    FavouritesSettings.objects.create(link=asking, favourites=True)
    photos = list(asking.gallery.photos.in_display_order())
    ana = Client()
    register(ana, asking, "ana@example.com", '=HYPERLINK("http://evil");@SUM(A1)')
    ana.get(asking.get_absolute_url())
    ana.get(asking.get_absolute_url())
    close(ana.get(reverse("sharing:photo_download", args=[asking.pk, photos[0].pk])))
    close(ana.get(reverse("sharing:zip_download", args=[asking.pk])))
    started = ana.post(reverse("favourites:favourite_list", args=[asking.pk]), {"photo_id": str(photos[1].pk)})
    assert started.status_code == 302
    ana.post(reverse("favourites:favourite_add", args=[asking.pk, photos[0].pk]))
    # The list is tied to the address she gave.
    [favourite_list] = FavouriteList.objects.all()
    assert favourite_list.email == "ana@example.com"
    register(Client(), asking, "ben@example.com")

    client.force_login(asking.gallery.owner)
    page = client.get(reverse("sharing:share_link_detail", args=[asking.pk])).content.decode()
    assert "ana@example.com" in page and "ben@example.com" in page and "IMG_0001.jpg" in page

    response = client.get(reverse("sharing:share_link_visitors_csv", args=[asking.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode()
    assert text.splitlines()[0] == "email,name,first_seen,last_seen,views,zip_downloads,single_downloads,favourites"
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"ana@example.com", "ben@example.com"}
    ana_row = rows["ana@example.com"]
    assert ana_row["name"] == "'=HYPERLINK(\"http://evil\");'@SUM(A1)"
    assert [ana_row[name] for name in ("views", "zip_downloads", "single_downloads", "favourites")] == [
        "2",
        "1",
        "1",
        "2",
    ]
    assert ana_row["last_seen"] >= ana_row["first_seen"]
    assert [rows["ben@example.com"][name] for name in ("views", "favourites")] == ["0", "0"]


def test_the_visitors_csv_is_the_owners_only(client, asking):
    url = reverse("sharing:share_link_visitors_csv", args=[asking.pk])
    assert client.get(url).status_code == 302
    client.force_login(asking.gallery.owner)
    assert client.get(url).status_code == 200
