import gzip as gzip_module
import re
import urllib.parse
import uuid
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.test.utils import override_script_prefix
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from galleries.models import PhotoQuerySet
from galleries.tests.factories import GalleryFactory, PhotoFactory
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory
from sharing.tests.helpers import counters, public_urls
from sharing.views.public import EAGER_TILES
from testing.http import fetch

pytestmark = pytest.mark.django_db


def test_client_pages_carry_the_stylesheet_inline_with_the_csp_nonce(client):
    link = ShareLinkFactory(gallery=PhotoFactory().gallery)
    for url in (link.get_absolute_url(), reverse("sharing:public_gallery", args=[UNKNOWN])):
        response = client.get(url)
        content = response.content.decode()
        nonce = re.search(r"style-src 'self' 'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        style = re.search(rf'<style nonce="{nonce}">(.*?)</style>', content, re.S).group(1)
        assert ".gallery-cover" in style and "prefers-color-scheme: dark" in style
        assert "viewport.css" not in content  # no second request before the first paint
        # The fonts' URLs, read from the page's address now, are the static files' own.
        fonts = re.findall(r'url\("([^"]+\.woff2)"\)', style)
        assert fonts and all(font.startswith("/static/fonts/") for font in fonts)
        assert finders.find(fonts[0].removeprefix("/static/"))


def test_without_a_cover_the_first_tiles_load_at_once_and_the_rest_lazily(client):
    gallery = GalleryFactory(cover_layout="minimal")
    PhotoFactory.create_batch(EAGER_TILES + 2, gallery=gallery, width=3000, height=2000)
    link = ShareLinkFactory(gallery=gallery)

    content = client.get(link.get_absolute_url()).content.decode()
    tiles = re.findall(r'<li class="tile.*?</li>', content, re.S)
    assert ['loading="lazy"' in tile for tile in tiles] == [False] * EAGER_TILES + [True] * 2
    # Chosen before layout: `sizes` says how wide the tile is ("auto" only works lazily).
    assert 'sizes="(max-width: 40rem) 54vw, 24vw"' in tiles[0] and "auto" not in tiles[0]
    assert 'sizes="auto, ' in tiles[-1]
    partial = client.get(link.get_absolute_url(), {"page": 1, "partial": 1}).content.decode()
    assert partial.count('loading="lazy"') == EAGER_TILES + 2  # fetched as the visitor scrolls


UNKNOWN = "00000000-0000-4000-8000-000000000000"


def test_public_gallery_shows_name_photographer_cover_count_size_and_lazy_thumbnails(client):
    gallery = GalleryFactory(name="Smith wedding", owner__display_name="Ana Lens")
    first = PhotoFactory(gallery=gallery, original_filename="a.jpg", file_size=1_500_000, width=3000, height=2000)
    second = PhotoFactory(gallery=gallery, original_filename="b.jpg", file_size=2_500_000, width=2000, height=3000)
    link = ShareLinkFactory(gallery=gallery)
    response = client.get(link.get_absolute_url())
    assert response.status_code == 200
    assert response.templates[0].name == "sharing/public_gallery.html"
    assert "public_base.html" in [t.name for t in response.templates]
    content = response.content.decode()
    assert "Smith wedding" in content and "Ana Lens" in content
    assert "2 photos" in content and "3.8\xa0MB" in content
    assert response.context["cover"] == first
    assert list(response.context["page"].object_list) == [first, second]
    for photo in (first, second):
        thumbnail = reverse("sharing:public_thumbnail", args=[link.pk, photo.pk])
        assert f'src="{thumbnail}"' in content
        assert reverse("sharing:public_photo", args=[link.pk, photo.pk]) in content  # the no-JS link
        assert reverse("sharing:photo_download", args=[link.pk, photo.pk]) in content
    assert 'width="640" height="427" loading="lazy" decoding="async"' in content  # under the full cover
    assert 'class="tile r30"' in content and 'class="tile r13"' in content  # aspect ratios 1.5 and 0.67
    assert reverse("sharing:zip_download", args=[link.pk]) in content
    assert "js/viewer.js" in content
    assert 'aria-modal="true"' in content
    assert " style=" not in content  # the CSP allows no inline styles
    assert "<script>" not in content


def test_public_gallery_uses_the_chosen_cover_photo(client):
    gallery = GalleryFactory()
    PhotoFactory(gallery=gallery, original_filename="a.jpg")
    cover = PhotoFactory(gallery=gallery, original_filename="z.jpg")
    gallery.cover_photo = cover
    gallery.save()
    link = ShareLinkFactory(gallery=gallery)
    response = client.get(link.get_absolute_url())
    assert response.context["cover"] == cover
    assert reverse("sharing:public_preview", args=[link.pk, cover.pk]) in response.content.decode()


def test_public_gallery_lists_photos_in_display_order(client):
    gallery = GalleryFactory()
    names = ["IMG_10.jpg", "IMG_2.jpg", "img_1.jpg"]
    for name in names:
        PhotoFactory(gallery=gallery, original_filename=name)
    link = ShareLinkFactory(gallery=gallery)
    response = client.get(link.get_absolute_url())
    assert [p.original_filename for p in response.context["page"].object_list] == [
        "img_1.jpg",
        "IMG_2.jpg",
        "IMG_10.jpg",
    ]


def test_empty_public_gallery_renders_without_download_all(client):
    link = ShareLinkFactory()
    response = client.get(link.get_absolute_url())
    assert response.status_code == 200
    assert "No photos yet" in response.content.decode()
    assert reverse("sharing:zip_download", args=[link.pk]) not in response.content.decode()


@pytest.mark.parametrize("photo_count", [1, 50])
def test_public_gallery_query_count_does_not_grow_with_photos(client, django_assert_num_queries, photo_count):
    # To guard against N+1: the link with its gallery and owner; the gallery's photo count and
    # size, its sets and its first photo as the cover; the page's photos; the view counter, the
    # visitor's keyed hash and the day's row.
    gallery = GalleryFactory()
    PhotoFactory.create_batch(photo_count, gallery=gallery)
    link = ShareLinkFactory(gallery=gallery)
    cache.clear()
    with django_assert_num_queries(8):
        response = client.get(link.get_absolute_url())
    assert len(response.context["page"].object_list) == photo_count


def test_public_gallery_counts_a_view_per_visit(client):
    link = ShareLinkFactory()
    client.get(link.get_absolute_url())
    client.get(link.get_absolute_url())
    assert counters(link) == (2, 0, 0)


def test_public_pages_are_not_indexed_and_send_no_referrer(client):
    photo = PhotoFactory()
    link = ShareLinkFactory(gallery=photo.gallery)
    for url in [link.get_absolute_url(), reverse("sharing:public_photo", args=[link.pk, photo.pk])]:
        response = client.get(url)
        assert response.status_code == 200
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert response["Referrer-Policy"] == "same-origin"
        assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()


def test_public_photo_page_shows_preview_with_previous_and_next_links(client):
    gallery = GalleryFactory()
    first, second, third = (PhotoFactory(gallery=gallery, original_filename=f"IMG_{n}.jpg") for n in (1, 2, 3))
    link = ShareLinkFactory(gallery=gallery)
    response = client.get(reverse("sharing:public_photo", args=[link.pk, second.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "2 of 3" in content
    assert reverse("sharing:public_preview", args=[link.pk, second.pk]) in content
    assert f'rel="prev" href="{reverse("sharing:public_photo", args=[link.pk, first.pk])}"' in content
    assert f'rel="next" href="{reverse("sharing:public_photo", args=[link.pk, third.pk])}"' in content
    assert reverse("sharing:photo_download", args=[link.pk, second.pk]) in content
    assert counters(link) == (0, 0, 0)


@pytest.mark.parametrize("endpoint", public_urls(UNKNOWN, UNKNOWN))
def test_unknown_link_returns_404_on_every_public_endpoint(client, endpoint):
    photo = PhotoFactory()
    response = client.get(public_urls(UNKNOWN, photo.pk)[endpoint])
    assert response.status_code == 404
    assert response["X-Robots-Tag"] == "noindex, nofollow"


@pytest.mark.parametrize("endpoint", public_urls(UNKNOWN, UNKNOWN))
def test_expired_link_returns_410_on_every_public_endpoint_and_counts_nothing(client, endpoint):
    photo = PhotoFactory()
    link = ShareLinkFactory(gallery=photo.gallery, expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get(public_urls(link.pk, photo.pk)[endpoint])
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert f"contact {escape(link.gallery.owner.name)}" in response.content.decode()
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert counters(link) == (0, 0, 0)


def test_expired_link_returns_410_even_for_a_photo_it_never_had(client):
    link = ShareLinkFactory(expires_at=timezone.now() - timedelta(days=1))
    assert client.get(reverse("sharing:public_thumbnail", args=[link.pk, UNKNOWN])).status_code == 410


def test_image_urls_handed_out_before_expiry_stop_working_after_it(client):
    photo = PhotoFactory()
    link = ShareLinkFactory(gallery=photo.gallery, expires_at=timezone.now() + timedelta(hours=1))
    thumbnail = reverse("sharing:public_thumbnail", args=[link.pk, photo.pk])
    assert thumbnail in client.get(link.get_absolute_url()).content.decode()
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(thumbnail).status_code == 410


@pytest.mark.parametrize("endpoint", ["photo page", "thumbnail", "preview", "download"])
def test_photo_of_another_gallery_through_a_link_is_404(client, endpoint):
    link = ShareLinkFactory()
    elsewhere = PhotoFactory()  # another gallery, maybe with its own link
    ShareLinkFactory(gallery=elsewhere.gallery)
    response = client.get(public_urls(link.pk, elsewhere.pk)[endpoint])
    assert response.status_code == 404
    assert counters(link) == (0, 0, 0)


@pytest.mark.parametrize("name", ["public_thumbnail", "public_preview"])
def test_thumbnail_and_preview_are_served_and_count_nothing(client, shared_gallery, name):
    photo = shared_gallery.gallery.photos.in_display_order().first()
    response = client.get(reverse(f"sharing:{name}", args=[shared_gallery.pk, photo.pk]))
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    body, headers = fetch(response)
    assert body[:3] == b"\xff\xd8\xff"  # a JPEG rendition
    assert headers["Content-Type"] == "image/jpeg"
    assert counters(shared_gallery) == (0, 0, 0)


def test_thumbnail_takes_two_small_queries(client, shared_gallery, django_assert_num_queries):
    photo = shared_gallery.gallery.photos.first()
    with django_assert_num_queries(2):  # the link by its key, then the photo of its gallery
        response = client.get(reverse("sharing:public_thumbnail", args=[shared_gallery.pk, photo.pk]))
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        response.close()


def test_thumbnail_of_a_soon_expiring_link_is_not_cached_beyond_expiry(client, shared_gallery):
    ShareLink.objects.filter(pk=shared_gallery.pk).update(expires_at=timezone.now() + timedelta(minutes=5))
    photo = shared_gallery.gallery.photos.first()
    response = client.get(reverse("sharing:public_thumbnail", args=[shared_gallery.pk, photo.pk]))
    if response.status_code == 302:  # S3: the redirect is never cached, the signed URL's answer briefly
        assert response["Cache-Control"] == "private, no-cache"
        cache_control = urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)[
            "response-cache-control"
        ][0]
    else:
        cache_control = response["Cache-Control"]
        response.close()
    max_age = int(re.search(r"max-age=(\d+)", cache_control).group(1))
    assert 0 < max_age <= 300


def test_each_link_of_a_gallery_obeys_its_own_expiry(client, shared_gallery):
    photo = shared_gallery.gallery.photos.first()
    active = ShareLinkFactory(gallery=photo.gallery)
    expired = ShareLinkFactory(gallery=photo.gallery, expires_at=timezone.now() - timedelta(days=1))
    ShareLinkFactory(gallery=photo.gallery, expires_at=timezone.now() + timedelta(days=1))
    assert client.get(reverse("sharing:public_thumbnail", args=[expired.pk, photo.pk])).status_code == 410
    assert client.get(reverse("sharing:public_thumbnail", args=[active.pk, photo.pk])).status_code == 200
    assert client.get(reverse("sharing:public_gallery", args=[expired.pk])).status_code == 410


def test_public_page_is_compressed_for_browsers_that_accept_gzip(client, shared_gallery):
    response = client.get(shared_gallery.get_absolute_url(), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"


def test_closed_links_pages_carrying_the_stylesheet_are_compressed_and_downloads_are_not(client, shared_gallery):
    """Each client page carries the whole stylesheet inline: an unknown link's 404 or a locked
    one's password form sent whole would give anyone ~78 KB for a 200-byte request."""
    gzip = {"Accept-Encoding": "gzip"}
    zip_download = client.get(reverse("sharing:zip_download", args=[shared_gallery.pk]), headers=gzip)
    assert zip_download.status_code == 200 and not zip_download.has_header("Content-Encoding")
    b"".join(zip_download.streaming_content)

    unknown = client.get(f"/s/{uuid.uuid4()}/", headers=gzip)
    shared_gallery.set_password("correct horse battery staple")
    shared_gallery.save()
    locked = client.get(shared_gallery.get_absolute_url(), headers=gzip)
    for response, status in ((unknown, 404), (locked, 401)):
        assert response.status_code == status
        assert response["Content-Encoding"] == "gzip"
        assert len(response.content) < 30_000 < len(gzip_module.decompress(response.content))


def test_later_photos_arrive_as_tiles_without_counting_a_view(client):
    gallery = GalleryFactory()
    photos = [
        PhotoFactory(gallery=gallery, original_filename=f"IMG_{n:03d}.jpg") for n in range(PhotoQuerySet.PER_PAGE + 3)
    ]
    link = ShareLinkFactory(gallery=gallery)
    page = client.get(link.get_absolute_url())
    assert f'data-photo-count="{PhotoQuerySet.PER_PAGE + 3}"' in page.text
    assert 'href="?page=2" data-more-photos' in page.text

    tiles = client.get(link.get_absolute_url(), {"page": 2, "partial": 1})
    assert tiles.status_code == 200
    assert "<html" not in tiles.text
    assert [p.pk for p in tiles.context["page"].object_list] == [p.pk for p in photos[PhotoQuerySet.PER_PAGE :]]
    assert tiles["X-Robots-Tag"] == "noindex, nofollow"
    assert counters(link) == (1, 0, 0)


def test_later_photos_of_an_expired_link_are_gone_too(client):
    link = ShareLinkFactory(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(link.get_absolute_url(), {"page": 2, "partial": 1}).status_code == 410


def test_tiles_drawn_under_another_script_prefix_are_not_served_to_other_visitors(client, shared_gallery):
    """gunicorn takes SCRIPT_NAME from a trusted peer: one request under another prefix must not
    leave tiles whose every link is a 404 in the cache for everyone else."""
    url = shared_gallery.get_absolute_url()
    with override_script_prefix("/elsewhere/"):  # as Django's WSGI handler sets it from SCRIPT_NAME
        assert "/elsewhere/s/" in client.get(url).text
    page = client.get(url)
    assert f'href="/s/{shared_gallery.pk}/photos/' in page.text and "/elsewhere/s/" not in page.text
