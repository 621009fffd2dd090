"""The sizes a browser picks from (srcset), the placeholder, link previews in chat apps, and
robots.txt; and that the cached tiles of the public page never outlive a change. On S3 and on
local storage where files are read."""

import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from galleries.models import Photo, PhotoSet
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory
from testing.http import fetch

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera_link(photo_storage):
    """A link to a gallery of a 3000 x 2000 photo (every size) and a 500 x 400 one (two sizes)."""
    gallery = GalleryFactory(name="Alps & lakes")
    big = store_photo(gallery, jpeg_upload("DSC_0001.jpg", width=3000, height=2000))
    store_photo(gallery, jpeg_upload("DSC_0002.jpg", width=500, height=400, color=(20, 120, 200)))
    gallery.cover_photo = big
    gallery.save()
    return ShareLinkFactory(gallery=gallery)


def meta(page, name):
    found = re.findall(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', page)
    return unescape(found[0]) if found else None


def test_each_size_is_served_under_the_links_rules_with_its_type_and_an_etag(client, camera_link):
    big, small = camera_link.gallery.ordered_photos()
    small_sizes = ["160.webp", "240.webp", "320.webp", "400.webp", "480.webp", "600.webp"]
    assert set(big.size_keys) == {*small_sizes, "720.webp", "960.webp", "1080.webp", "1080.jpg"}
    assert set(small.size_keys) == set(small_sizes)
    for name, size, kind in [
        ("320.webp", (320, 213), "WEBP"),
        ("1080.webp", (1080, 720), "WEBP"),
        ("1080.jpg", (1080, 720), "JPEG"),
    ]:
        response = client.get(reverse("sharing:public_size", args=[camera_link.pk, big.pk, name]))
        body, headers = fetch(response)
        assert response.status_code == 200 and headers["Content-Type"] == f"image/{kind.lower()}"
        assert headers["Cache-Control"] == "private, max-age=60" and response["ETag"]
        assert (Image.open(io.BytesIO(body)).format, Image.open(io.BytesIO(body)).size) == (kind, size)
    for name in ["1080.webp", "2048.webp", "thumbnail.jpg", "..%2Foriginal"]:
        assert client.get(reverse("sharing:public_size", args=[camera_link.pk, small.pk, name])).status_code == 404
    other_gallery_photo = store_photo(GalleryFactory(), jpeg_upload())
    url = reverse("sharing:public_size", args=[camera_link.pk, other_gallery_photo.pk, "320.webp"])
    assert client.get(url).status_code == 404


def test_the_photographer_sees_their_sizes_and_no_one_else_does(client, camera_link, django_user_model):
    big = camera_link.gallery.ordered_photos().first()
    url = reverse("galleries:photo_size", args=[big.gallery_id, big.pk, "720.webp"])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user(email="other@example.com", password="x" * 12))
    assert client.get(url).status_code == 404
    client.force_login(big.gallery.owner)
    body, headers = fetch(client.get(url))
    assert headers["Content-Type"] == "image/webp" and Image.open(io.BytesIO(body)).size == (720, 480)


def test_the_grid_offers_webp_sizes_and_jpeg_with_widths_and_a_placeholder(client, camera_link):
    page = client.get(camera_link.get_absolute_url()).text
    big, small = camera_link.gallery.ordered_photos()
    base = f"/s/{camera_link.pk}/photos/{big.pk}/"
    webp = ", ".join(f"{base}{width}.webp {width}w" for width in (160, 240, 320, 400, 480, 600, 720, 960, 1080))
    assert f'<source type="image/webp" srcset="{webp}" sizes="auto,' in page
    assert f'srcset="{base}thumbnail/ 640w, {base}1080.jpg 1080w"' in page
    small_base = f"/s/{camera_link.pk}/photos/{small.pk}/"
    small_webp = ", ".join(
        f"{small_base}{name}.webp {width}w"
        for name, width in [(160, 160), (240, 240), (320, 320), (400, 400), (480, 480), (600, 500)]
    )
    assert f'srcset="{small_webp}"' in page  # the last is the photo itself, not enlarged
    placeholders = re.findall(r'<img class="photo-placeholder" src="data:image/webp;base64,([^"]+)" alt="">', page)
    assert len(placeholders) == 2
    assert all(Image.open(io.BytesIO(Photo(placeholder=p).placeholder)).format == "WEBP" for p in [big.placeholder])


def test_a_pasted_link_previews_the_gallery_name_size_and_cover(client, camera_link, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "photos.example.com"]
    page = client.get(camera_link.get_absolute_url(), HTTP_HOST="photos.example.com").text
    cover = camera_link.gallery.cover_photo
    assert meta(page, "og:title") == "Alps & lakes"
    assert meta(page, "og:description") == f"2 photos by {camera_link.gallery.owner.name}"
    assert meta(page, "og:url") == f"http://photos.example.com/s/{camera_link.pk}/"
    image = meta(page, "og:image")
    assert image == f"http://photos.example.com/s/{camera_link.pk}/photos/{cover.pk}/1080.jpg"
    assert (meta(page, "og:image:width"), meta(page, "og:image:height")) == ("1080", "720")
    assert meta(page, "twitter:card") == "summary_large_image"
    body, headers = fetch(client.get(image.removeprefix("http://photos.example.com")))
    assert headers["Content-Type"] == "image/jpeg" and Image.open(io.BytesIO(body)).size == (1080, 720)

    # A cover layout that shows no photo on the page still shows it in chat apps.
    camera_link.gallery.cover_layout = "minimal"
    camera_link.gallery.save()
    page = client.get(camera_link.get_absolute_url(), HTTP_HOST="photos.example.com").text
    assert 'class="gallery-cover__image' not in page and meta(page, "og:image") == image

    # The preview's image obeys the link: once it expires, it is gone.
    ShareLink.objects.filter(pk=camera_link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(image.removeprefix("http://photos.example.com")).status_code == 410


@pytest.mark.parametrize("state", ["locked", "paused", "expired"])
def test_a_closed_link_previews_only_its_photographers_name(client, camera_link, state):
    if state == "locked":
        camera_link.set_password("open sesame")
    elif state == "paused":
        camera_link.is_active = False
    else:
        camera_link.expires_at = timezone.now() - timedelta(days=1)
    camera_link.save()
    page = client.get(camera_link.get_absolute_url()).text
    assert meta(page, "og:title") == camera_link.gallery.owner.name
    assert meta(page, "twitter:card") == "summary"
    assert "og:image" not in page and "og:description" not in page and "Alps" not in page


def test_robots_txt_keeps_crawlers_out_of_shared_galleries_but_lets_link_previews_in(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    groups = [group for group in response.text.split("\n\n") if "User-agent" in group]
    everyone = next(group for group in groups if "User-agent: *" in group)
    assert "Disallow: /s/" in everyone.splitlines()
    previews = next(group for group in groups if "User-agent: facebookexternalhit" in group)
    assert "User-agent: Twitterbot" in previews and "Allow: /s/" in previews


# The public page's tiles are drawn once per version of the gallery: every change shows at once.


def tiles(client, link):
    page = client.get(link.get_absolute_url()).text
    page = re.sub(r'nonce="[^"]+"', "", page)  # a new one each time
    return re.findall(r'data-name="([^"]+)"', page), page


CHANGES = {
    "upload": lambda gallery: store_photo(gallery, jpeg_upload("IMG_0003.jpg")),
    "delete": lambda gallery: gallery.photos.filter(original_filename="IMG_0001.jpg").delete(),
    "rename (admin-like save)": lambda gallery: _rename(gallery.photos.get(original_filename="IMG_0001.jpg")),
    "bulk update": lambda gallery: gallery.photos.filter(original_filename="IMG_0002.jpg").update(
        original_filename="B.jpg"
    ),
    "new set": lambda gallery: gallery.photos.update(photo_set=PhotoSet.objects.create(gallery=gallery, name="Party")),
}


def _rename(photo):
    photo.original_filename = "A.jpg"
    photo.save()


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_to_the_gallery_shows_at_once(client, change):
    gallery = GalleryFactory(show_filenames=True)
    store_photo(gallery, jpeg_upload("IMG_0001.jpg"))
    store_photo(gallery, jpeg_upload("IMG_0002.jpg"))
    link = ShareLinkFactory(gallery=gallery)
    before, _ = tiles(client, link)
    assert tiles(client, link)[0] == before == ["IMG_0001.jpg", "IMG_0002.jpg"]  # the second from the cache

    CHANGES[change](gallery)

    after, page = tiles(client, link)
    assert after != before or "Party" in page, change
    cache.clear()
    assert tiles(client, link) == (after, page)  # exactly what a fresh render draws


def test_a_change_to_the_links_settings_shows_at_once(client):
    gallery = GalleryFactory()
    photo = store_photo(gallery, jpeg_upload("IMG_0001.jpg"))
    link = ShareLinkFactory(gallery=gallery)
    download = reverse("sharing:photo_download", args=[link.pk, photo.pk])
    assert download in tiles(client, link)[1]
    ShareLink.objects.filter(pk=link.pk).update(allow_single=False)
    assert download not in tiles(client, link)[1]
