"""Pages that list photos run a fixed number of queries, with sets, for 1, 100 and 2,000 photos:
to guard against N+1 (a query per photo, per set or per page of photos). Drawn again while the
gallery is unchanged, their tiles and counts come from the cache: no query reads a photo."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from galleries.models import Photo, PhotoQuerySet, PhotoSet, UploadStatus
from galleries.ordering import Sort
from galleries.tests.factories import GalleryFactory, UploadFactory
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db

SETS = ["Getting ready", "Ceremony", "Portraits", "Party"]


def gallery_with_sets(count, sort=Sort.CAPTURE_TIME):
    """A gallery of `count` photo rows (no pixels), a fifth of them in no set, the rest spread over four sets."""
    gallery = GalleryFactory(sort=sort)
    photo_sets = [PhotoSet.objects.create(gallery=gallery, name=name) for name in SETS]
    Photo.objects.bulk_create(
        Photo(
            gallery=gallery,
            original_filename=f"IMG_{n:04d}.jpg",
            sort_key=f"img_{n:020d}.jpg",
            object_key=f"{gallery.pk}/{n}.jpg",
            thumbnail_object_key=f"{gallery.pk}/t/{n}.jpg",
            file_size=1000,
            width=3000,
            height=2000,
            photo_set=None if n % 5 == 0 else photo_sets[n % 4],
            position=n,
        )
        for n in range(count)
    )
    return gallery


def reads_photos(queries):
    return [query["sql"] for query in queries.captured_queries if '"photos"' in query["sql"]]


@pytest.mark.parametrize("count", [1, 100, 2000])
@pytest.mark.parametrize("sort", [Sort.CAPTURE_TIME, Sort.MANUAL])
def test_the_photographers_gallery_page_queries_do_not_grow(client, django_assert_num_queries, count, sort):
    gallery = gallery_with_sets(count, sort)
    client.force_login(gallery.owner)
    client.get(gallery.get_absolute_url())  # the session's first request loads more (content types)
    cache.clear()
    # The session and its user; the gallery (and whether files uploaded to it are not photos yet);
    # its photo count and size, its sets with their counts and its first photo (the cover); the
    # page's photos (share links and favourites are in the sharing view).
    with django_assert_num_queries(7):
        response = client.get(gallery.get_absolute_url())
    assert len(response.context["page"].object_list) == min(count, PhotoQuerySet.PER_PAGE)
    with django_assert_num_queries(3) as queries:  # again: the tiles and counts come from the cache
        client.get(gallery.get_absolute_url())
    assert reads_photos(queries) == []
    # With files uploaded but not photos yet, one more: their tiles.
    UploadFactory(gallery=gallery, file_name="IMG_9.jpg", status=UploadStatus.PROCESSING)
    with django_assert_num_queries(4):
        assert "data-upload-tile" in client.get(gallery.get_absolute_url()).text
    # A later page of tiles: the session, its user, the gallery, and that page's photos (unless
    # there is no second page: then the first, from the cache).
    with django_assert_num_queries(4 if count > PhotoQuerySet.PER_PAGE else 3):
        client.get(gallery.get_absolute_url(), {"page": 2, "partial": 1})


def without_nonce(html):
    """The page without its CSP nonce (a new one each time)."""
    return re.sub(r'nonce="[^"]+"', "", html)


@pytest.mark.parametrize("count", [1, 100, 2000])
def test_the_public_gallery_page_queries_do_not_grow(client, django_assert_num_queries, count):
    link = ShareLinkFactory(gallery=gallery_with_sets(count))
    cache.clear()
    # The link with its gallery and owner; the gallery's photo count and size, its sets with their
    # counts and its first photo (the cover); the page's photos; the view counter, the visitor's
    # hash and the day's row.
    with django_assert_num_queries(8):
        response = client.get(link.get_absolute_url())
    assert len(response.context["page"].object_list) == min(count, PhotoQuerySet.PER_PAGE)
    assert response.text.count('class="set-menu__tab"') == min(count - 1, 4)
    with django_assert_num_queries(4) as queries:  # again: only the link and the counting
        again = client.get(link.get_absolute_url())
    assert reads_photos(queries) == [] and without_nonce(again.text) == without_nonce(response.text)
    # A later page: the link, and that page's photos (none when there is no second page).
    with django_assert_num_queries(2 if count > PhotoQuerySet.PER_PAGE else 1):
        client.get(link.get_absolute_url(), {"page": 2, "partial": 1})


@pytest.mark.parametrize("count", [1, 100, 2000])
def test_the_one_photo_page_finds_its_neighbours_with_small_queries(client, django_assert_num_queries, count):
    gallery = gallery_with_sets(count)
    link = ShareLinkFactory(gallery=gallery)
    photo = gallery.ordered_photos()[count // 2]
    # The link with its gallery and photographer; the photo (access); the photo with its set and
    # keys; its position, the count, the previous and the next photo.
    with django_assert_num_queries(7):
        response = client.get(reverse("sharing:public_photo", args=[link.pk, photo.pk]))
    assert response.context["position"] == count // 2 + 1
