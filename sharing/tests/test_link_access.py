"""Every URL under /s/<share_id>/ in every state of its link: locked, unlocked, wrong password,
throttled, paused, expired, ZIP off, single off, web size. On S3 and on local storage."""

import io
import time
import urllib.error
import urllib.request
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from PIL import Image

from galleries.models import Gallery
from galleries.tests.factories import image_bytes
from galleries.uploads import store_photo
from sharing import zips
from sharing.access import UNLOCK_COOKIE
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory
from sharing.tests.helpers import counters, public_urls
from testing.challenges import solution
from testing.http import fetch

pytestmark = pytest.mark.django_db

PASSWORD = "open sesame"


def unlock(client, link, password=PASSWORD, **headers):
    return client.post(reverse("sharing:unlock", args=[link.pk]), {"password": password}, **headers)


def close(response):
    """Read a streamed answer to its end (the test client then closes it without closing the
    test's database connection, which response.close() would)."""
    if response.streaming:
        b"".join(response.streaming_content)
    return response


@pytest.fixture
def locked(shared_gallery):
    shared_gallery.set_password(PASSWORD)
    shared_gallery.save()
    return shared_gallery


@pytest.fixture
def photo(shared_gallery):
    return shared_gallery.gallery.photos.in_display_order().first()


# Passwords


def test_a_locked_link_answers_401_everywhere_and_shows_nothing_of_the_gallery(client, locked, photo):
    gallery = locked.gallery
    for what, url in public_urls(locked.pk, photo.pk).items():
        for response in [client.get(url), client.head(url)]:
            assert response.status_code == 401, (what, response.request["REQUEST_METHOD"])
            assert response["Cache-Control"] == "private, no-store", what
        as_json = client.get(url, headers={"Accept": "application/json"})
        assert as_json.status_code == 401 and as_json.json() == {"error": "This gallery needs a password."}, what

    page = client.get(public_urls(locked.pk, photo.pk)["page"]).content.decode()
    assert gallery.owner.name in page
    assert 'name="password"' in page and reverse("sharing:unlock", args=[locked.pk]) in page
    for secret in [gallery.name, photo.original_filename, "/thumbnail/", "/preview/", "og:image", "2 photos"]:
        assert secret not in page, secret
    assert counters(locked) == (0, 0, 0)


def test_the_right_password_unlocks_every_url_with_a_cookie_for_this_link_only(client, locked, photo):
    response = unlock(client, locked)
    assert response.status_code == 302
    assert response["Location"] == locked.get_absolute_url()
    cookie = response.cookies[UNLOCK_COOKIE]
    assert cookie["path"] == f"/s/{locked.pk}/"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 24 * 60 * 60
    assert PASSWORD not in cookie.value and PASSWORD not in response["Location"]

    for what, url in public_urls(locked.pk, photo.pk).items():
        assert close(client.get(url)).status_code in (200, 302), what
    assert counters(locked) == (1, 1, 1)


def test_a_script_unlocks_with_a_json_body_as_the_other_endpoints_take_one(client, locked, photo):
    """Every other JSON endpoint reads a JSON object; here the password was ignored, so the right
    one was a 401 "not right" and counted as a wrong try."""
    url = reverse("sharing:unlock", args=[locked.pk])
    response = client.post(
        url, {"password": PASSWORD}, content_type="application/json", headers={"Accept": "application/json"}
    )
    assert response.status_code == 302
    assert response.cookies[UNLOCK_COOKIE]
    assert client.get(public_urls(locked.pk, photo.pk)["page"]).status_code == 200
    bad = client.post(url, "{not json", content_type="application/json", headers={"Accept": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]


def test_the_unlock_cookie_is_secure_in_production(client, locked, settings):
    settings.SESSION_COOKIE_SECURE = True
    assert unlock(client, locked).cookies[UNLOCK_COOKIE]["secure"]


def test_a_wrong_password_is_a_401_with_the_form_and_counts_nothing(client, locked, photo):
    response = unlock(client, locked, "not it")
    assert response.status_code == 401
    assert "That password is not right" in response.content.decode()
    assert 'name="password"' in response.content.decode()
    assert UNLOCK_COOKIE not in response.cookies
    assert client.get(public_urls(locked.pk, photo.pk)["page"]).status_code == 401
    assert counters(locked) == (0, 0, 0)


def test_ten_wrong_tries_lock_the_address_out_even_for_the_right_password(client, locked, photo, settings):
    settings.VIEWPORT_PROXY_COUNT = 1
    guesser = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    for _ in range(10):  # the README's number
        assert unlock(client, locked, "guess", **guesser).status_code == 401
    response = unlock(client, locked, **guesser)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert UNLOCK_COOKIE not in response.cookies
    assert "That password is not right" not in response.content.decode()
    # Writing another address into the header does not help the guesser...
    spoofed = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9, 198.51.100.7"}
    assert unlock(client, locked, **spoofed).status_code == 429
    # ...while another client behind the same proxy still gets in, and other links are untouched.
    assert (
        unlock(client, locked, **{"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.20"}).status_code == 302
    )
    other = ShareLinkFactory(gallery=locked.gallery)
    other.set_password(PASSWORD)
    other.save()
    assert unlock(client, other, **guesser).status_code == 302


def test_unlocking_one_link_never_opens_another_with_the_same_password(client, locked, photo):
    twin = ShareLinkFactory(gallery=locked.gallery)
    twin.set_password(PASSWORD)
    twin.save()
    unlock(client, locked)
    # The test client sends every cookie whatever its path: the cookie itself must not fit.
    for what, url in public_urls(twin.pk, photo.pk).items():
        assert client.get(url).status_code == 401, what


def test_changing_or_clearing_the_password_ends_earlier_unlocks(client, locked, photo):
    owner = locked.gallery.owner
    visitor = client
    unlock(visitor, locked)
    page = public_urls(locked.pk, photo.pk)["page"]
    assert visitor.get(page).status_code == 200

    locked.set_password(PASSWORD)  # the same password, set again
    locked.save()
    assert visitor.get(page).status_code == 401

    unlock(visitor, locked)
    locked.set_password(None)
    locked.save()
    assert visitor.get(page).status_code == 200  # no password: open to anyone
    locked.set_password(PASSWORD)
    locked.save()
    assert visitor.get(page).status_code == 401
    assert owner  # the owner's own session is no key either


def test_the_password_is_hashed_and_never_shown(client, locked, admin_client):
    assert locked.password_hash.startswith("hmac-sha256$")  # keyed: sharing.models.hash_link_secret()
    assert PASSWORD not in locked.password_hash
    client.force_login(locked.gallery.owner)
    for url in [locked.gallery.get_absolute_url(), reverse("sharing:share_link_list")]:
        content = client.get(url).content.decode()
        assert locked.password_hash not in content and PASSWORD not in content
    admin_page = admin_client.get(reverse("admin:sharing_sharelink_change", args=[locked.pk])).content.decode()
    assert locked.password_hash not in admin_page


# Paused, expired


def test_a_paused_link_is_a_friendly_404_everywhere_and_counts_nothing(client, shared_gallery, photo):
    ShareLink.objects.filter(pk=shared_gallery.pk).update(is_active=False)
    for what, url in public_urls(shared_gallery.pk, photo.pk).items():
        response = client.get(url)
        assert response.status_code == 404, what
        if what == "page":
            page = response.content.decode()
            assert "not available right now" in page
            assert escape(shared_gallery.gallery.owner.name) in page and shared_gallery.gallery.name not in page
    assert unlock(client, shared_gallery).status_code == 404
    assert counters(shared_gallery) == (0, 0, 0)

    ShareLink.objects.filter(pk=shared_gallery.pk).update(is_active=True)
    for what, url in public_urls(shared_gallery.pk, photo.pk).items():
        assert close(client.get(url)).status_code in (200, 302), what


def test_an_expired_link_is_a_410_everywhere_even_when_locked_or_paused(client, locked, photo):
    ShareLink.objects.filter(pk=locked.pk).update(expires_at=timezone.now() - timedelta(minutes=1), is_active=False)
    for what, url in public_urls(locked.pk, photo.pk).items():
        assert client.get(url).status_code == 410, what
    assert unlock(client, locked).status_code == 410
    page = client.get(locked.get_absolute_url()).content.decode()
    assert (
        f"contact {escape(locked.gallery.owner.name)} and ask for a new link" in page
        and locked.gallery.name not in page
    )


# Download rules


def test_zip_off_hides_download_all_and_refuses_the_zip_with_a_403_page(client, shared_gallery, photo):
    ShareLink.objects.filter(pk=shared_gallery.pk).update(allow_zip=False)
    urls = public_urls(shared_gallery.pk, photo.pk)
    page = client.get(urls["page"]).content.decode()
    assert urls["zip"] not in page and "Download all" not in page
    assert urls["download"] in page  # single downloads are still offered
    response = client.get(urls["zip"])
    assert response.status_code == 403
    assert "Downloads are turned off" in response.content.decode()
    assert close(client.get(urls["download"])).status_code in (200, 302)
    assert counters(shared_gallery) == (1, 0, 1)


def test_single_off_hides_every_download_button_and_refuses_the_download(client, shared_gallery, photo):
    ShareLink.objects.filter(pk=shared_gallery.pk).update(allow_single=False)
    urls = public_urls(shared_gallery.pk, photo.pk)
    page = client.get(urls["page"]).content.decode()
    assert "/download/" not in page and "data-viewer-download" not in page
    assert urls["zip"] in page
    photo_page = client.get(urls["photo page"]).content.decode()
    assert "/download/" not in photo_page
    assert client.get(urls["download"]).status_code == 403
    for what in ("thumbnail", "preview", "photo page"):
        assert close(client.get(urls[what])).status_code == 200, what
    assert counters(shared_gallery) == (1, 0, 0)


def test_web_size_downloads_are_the_preview_jpeg_named_after_the_original(client, shared_gallery, photo_storage):
    gallery = shared_gallery.gallery
    Gallery.objects.filter(pk=gallery.pk).update(show_filenames=True)  # the page names the download too
    heic = store_photo(
        gallery, SimpleUploadedFile("IMG_0003.HEIC", image_bytes(3000, 2000, format="HEIF"), "image/heic")
    )
    ShareLink.objects.filter(pk=shared_gallery.pk).update(download_size="web")
    urls = public_urls(shared_gallery.pk, heic.pk)

    body, headers = fetch(client.get(urls["download"]))
    assert 'filename="IMG_0003.jpg"' in headers["Content-Disposition"]
    assert Image.open(io.BytesIO(body)).format == "JPEG"
    assert Image.open(io.BytesIO(body)).size == (2048, 1365)
    assert len(body) == heic.preview_size

    page = client.get(urls["page"]).content.decode()
    total_web = sum(gallery.photos.values_list("preview_size", flat=True))
    assert "IMG_0003.jpg" in page
    response = client.get(urls["zip"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg"]
    assert sum(info.file_size for info in archive.infolist()) == total_web
    assert Image.open(archive.open("IMG_0003.jpg")).size == (2048, 1365)
    assert counters(shared_gallery) == (1, 1, 1)


# Revocation


@pytest.mark.parametrize("rendition", ["thumbnail", "size for srcset"])
def test_renditions_are_cached_a_minute_then_revalidated_with_a_304_until_the_link_closes(
    client, shared_gallery, photo, rendition
):
    url = public_urls(shared_gallery.pk, photo.pk)[rendition]
    first = client.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"] == "private, max-age=60"
    etag = first["ETag"]
    close(first)
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again["Cache-Control"] == "private, max-age=60"

    ShareLink.objects.filter(pk=shared_gallery.pk).update(is_active=False)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404


def test_a_handed_out_signed_url_dies_within_its_short_lifetime_after_revocation(
    client, shared_gallery, photo, settings, photo_storage
):
    if photo_storage != "s3":
        pytest.skip("S3 only: locally every byte passes the access check")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "querystring_expire": 4},
        },
    }
    response = client.get(public_urls(shared_gallery.pk, photo.pk)["download"])
    assert response.status_code == 302
    signed_url = response["Location"]
    assert "X-Amz-Expires=4" in signed_url
    assert fetch(response)[0] == default_storage.open(photo.object_key).read()

    shared_gallery.delete()
    time.sleep(4.5)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(signed_url, timeout=10)
    assert refused.value.code == 403


def test_the_default_signed_url_lifetime_is_a_minute():
    assert default_storage.querystring_expire == 60  # the session's S3 server, production settings


def test_a_zip_in_progress_stops_once_its_link_is_revoked(client, shared_gallery, monkeypatch):
    monkeypatch.setattr("sharing.zips.RECHECK_SECONDS", 0)  # ask at every chunk
    monkeypatch.setattr("sharing.zips.PIECE_SIZE", 100)
    response = client.get(reverse("sharing:zip_download", args=[shared_gallery.pk]))
    chunks = iter(response.streaming_content)
    assert next(chunks)
    ShareLink.objects.filter(pk=shared_gallery.pk).update(is_active=False)
    with pytest.raises(zips.DownloadRefused):
        list(chunks)


def test_a_zip_in_progress_goes_on_while_its_link_stays_open(client, shared_gallery, monkeypatch):
    monkeypatch.setattr("sharing.zips.RECHECK_SECONDS", 0)
    response = client.get(reverse("sharing:zip_download", args=[shared_gallery.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["IMG_0001.jpg", "IMG_0002.jpg"]


def test_head_requests_count_nothing(client, shared_gallery, photo):
    urls = public_urls(shared_gallery.pk, photo.pk)
    for what in ("page", "download", "zip"):
        assert client.head(urls[what]).status_code in (200, 302), what
    assert counters(shared_gallery) == (0, 0, 0)


def test_a_link_under_attack_asks_for_a_challenge_and_still_lets_the_right_password_in(client, locked, settings):
    settings.VIEWPORT_PROXY_COUNT = 1
    for n in range(20):  # twenty wrong passwords from ten networks
        headers = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"198.51.100.{n // 2}"}
        assert unlock(type(client)(), locked, "guess", **headers).status_code == 401
    fresh = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.99"}
    page = type(client)().get(locked.get_absolute_url(), **fresh)
    assert page.status_code == 401 and "<altcha-widget" in page.content.decode()

    # Without a solved challenge no try is checked (nor counted), right or wrong.
    for password in ("guess", PASSWORD):
        asked = unlock(type(client)(), locked, password, headers={"Accept": "application/json"}, **fresh)
        assert asked.status_code == 401 and "proves it is a person" in asked.json()["error"]
    # With one, a wrong password is checked, and the right one gets in: nobody is locked out.
    visitor = type(client)(**fresh)
    wrong = visitor.post(
        reverse("sharing:unlock", args=[locked.pk]), {"password": "guess", "altcha": solution(visitor)}
    )
    assert wrong.status_code == 401 and "not right" in wrong.content.decode()
    data = {"password": PASSWORD, "altcha": solution(visitor)}
    assert visitor.post(reverse("sharing:unlock", args=[locked.pk]), data).status_code == 302
    assert visitor.get(locked.get_absolute_url()).status_code == 200
    # A solution is good for one try.
    again = type(client)(**fresh).post(reverse("sharing:unlock", args=[locked.pk]), data)
    assert again.status_code == 401 and "proves it is a person" in again.content.decode()


def test_ipv6_guessers_are_counted_by_their_56_network(client, locked, settings):
    # A home's /56 holds 256 /64s: each is no fresh network (attack report 4).
    settings.VIEWPORT_PROXY_COUNT = 1
    for n in range(10):
        headers = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"2001:db8:1:{n + 1:x}::1"}
        assert unlock(client, locked, "guess", **headers).status_code == 401
    same_network = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "2001:db8:1:ff:ffff::1"}
    assert unlock(client, locked, **same_network).status_code == 429
    other_network = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "2001:db8:1:100::1"}
    assert unlock(client, locked, **other_network).status_code == 302


def test_a_head_of_a_download_hands_out_no_url(client, shared_gallery, photo):
    response = client.head(public_urls(shared_gallery.pk, photo.pk)["download"])
    assert response.status_code == 200 and "Location" not in response
    assert counters(shared_gallery) == (0, 0, 0)
