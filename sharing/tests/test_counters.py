"""Counters under real concurrency: parallel HTTP requests to a live server on PostgreSQL."""

import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse

from galleries.tests.factories import GalleryFactory, jpeg_upload
from sharing.tests.factories import ShareLinkFactory
from galleries.uploads import store_photo

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 50


def get_all(url):
    def get(_):
        # The live server's middleware was built before the tests' settings: say we came over TLS.
        request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(get, range(PARALLEL)))


@pytest.fixture
def live_link(settings, tmp_path):
    # Counting is the same whatever holds the bytes: local storage, so 50 parallel ZIPs do not
    # also queue on the S3 server the whole suite shares.
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "galleries.storage.LocalPhotoStorage", "OPTIONS": {"location": tmp_path / "photos"},
    }}
    gallery = GalleryFactory()
    photo = store_photo(gallery, jpeg_upload(width=320, height=240))
    return ShareLinkFactory(gallery=gallery), photo


def test_parallel_downloads_count_exactly(live_server, live_link):
    link, photo = live_link
    statuses = get_all(live_server.url + reverse("sharing:photo_download", args=[link.pk, photo.pk]))
    assert statuses == [200] * PARALLEL
    link.refresh_from_db()
    assert (link.views, link.zip_downloads, link.single_downloads) == (0, 0, PARALLEL)


def test_parallel_zip_downloads_and_views_count_exactly(live_server, live_link, settings):
    settings.VIEWPORT_ZIP_STREAMS = PARALLEL  # all at once, none refused as busy
    link, _ = live_link
    assert get_all(live_server.url + reverse("sharing:zip_download", args=[link.pk])) == [200] * PARALLEL
    assert get_all(live_server.url + link.get_absolute_url()) == [200] * PARALLEL
    link.refresh_from_db()
    assert (link.views, link.zip_downloads, link.single_downloads) == (PARALLEL, PARALLEL, 0)
