"""Daily statistics under real concurrency: 50 requests at once to gunicorn (production's
settings) on PostgreSQL, for each kind of count. The day's row must be exact, equal the link's
counters, and count each visitor (address and browser) once."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.urls import reverse

from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.models import LinkDay, VisitorHash
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import AppServer, production_env, running_database_url

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True)]

PARALLEL = 50
BROWSERS = 10


@pytest.fixture
def link():
    gallery = GalleryFactory()
    store_photo(gallery, jpeg_upload(width=320, height=240))
    return ShareLinkFactory(gallery=gallery)


@pytest.fixture
def app(static_root):
    env = production_env(
        DATABASE_URL=running_database_url(),
        VIEWPORT_STATIC_ROOT=str(static_root),
        VIEWPORT_ZIP_STREAMS="8",
        VIEWPORT_ZIP_STREAMS_PER_NETWORK=str(PARALLEL),  # all from 127.0.0.1
        VIEWPORT_ZIP_STREAMS_PER_WIDE_NETWORK=str(PARALLEL),
    )
    server = AppServer(env, workers=2, threads=8).start()
    yield server
    server.stop()


def get_all(app, path):
    """PARALLEL GETs at once, from BROWSERS different browsers (User-Agents)."""

    def get(n):
        status, _, _ = app.get(path, headers={"User-Agent": f"Browser/{n % BROWSERS}"}, timeout=30)
        return status

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(get, range(PARALLEL)))


def test_fifty_concurrent_requests_count_exactly_in_the_days_row(app, link):
    photo = link.gallery.photos.get()
    assert get_all(app, link.get_absolute_url()) == [200] * PARALLEL
    assert get_all(app, reverse("sharing:photo_download", args=[link.pk, photo.pk])) == [200] * PARALLEL
    assert get_all(app, reverse("sharing:zip_download", args=[link.pk])) == [200] * PARALLEL

    link.refresh_from_db()
    [day] = LinkDay.objects.filter(link=link)
    # Views count every time; a download once per visitor (browser) and version a day.
    assert (day.views, day.zip_downloads, day.single_downloads) == (PARALLEL, BROWSERS, BROWSERS)
    assert (link.views, link.zip_downloads, link.single_downloads) == (PARALLEL, BROWSERS, BROWSERS)
    assert day.unique_visitors == BROWSERS  # all from 127.0.0.1, ten browsers
    assert VisitorHash.objects.filter(link=link).count() == BROWSERS
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {VisitorHash._meta.db_table}")
        assert "127.0.0.1" not in repr(cursor.fetchall())
