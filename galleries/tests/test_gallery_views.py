import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from galleries.models import Gallery, Photo, PhotoQuerySet, PhotoSet
from galleries.tests.factories import GalleryFactory, PhotoFactory

pytestmark = pytest.mark.django_db


OWNER_URLS = [
    ("get", "galleries:gallery_detail", False),
    ("get", "galleries:gallery_sharing", False),
    ("get", "galleries:gallery_settings", False),
    ("get", "galleries:gallery_delete", False),
    ("post", "galleries:gallery_delete", False),
    ("post", "galleries:gallery_rename", False),
    ("post", "galleries:gallery_cover", False),
    ("post", "galleries:photo_upload", False),
    ("post", "galleries:photo_delete", False),
    ("get", "galleries:photo_thumbnail", True),
    ("get", "galleries:photo_preview", True),
    ("get", "galleries:photo_download", True),
]


@pytest.mark.parametrize("method, name, takes_photo", OWNER_URLS)
def test_anonymous_visitors_are_sent_to_login(client, method, name, takes_photo):
    photo = PhotoFactory()
    args = [photo.gallery_id, photo.pk] if takes_photo else [photo.gallery_id]
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login") + "?next=")


@pytest.mark.parametrize("method, name, takes_photo", OWNER_URLS)
def test_another_photographers_gallery_is_a_404(client, method, name, takes_photo):
    photo = PhotoFactory()
    client.force_login(UserFactory())
    args = [photo.gallery_id, photo.pk] if takes_photo else [photo.gallery_id]
    response = getattr(client, method)(reverse(name, args=args), {"name": "mine now", "photo_ids": [str(photo.pk)]})
    assert response.status_code == 404
    assert Gallery.objects.filter(pk=photo.gallery_id, name=photo.gallery.name).exists()


def test_gallery_list_shows_only_own_galleries_newest_first_with_stats(client, gallery):
    older = GalleryFactory(owner=gallery.owner, name="Older", created_at=gallery.created_at.replace(year=2020))
    PhotoFactory(gallery=gallery, file_size=1_000_000)
    PhotoFactory(gallery=gallery, file_size=500_000)
    GalleryFactory(name="Someone else's")

    response = client.get(reverse("galleries:gallery_list"))

    assert response.status_code == 200
    assert [g.name for g in response.context["page"]] == ["Smith wedding", "Older"]
    first = response.context["page"][0]
    assert (first.photo_count, first.total_size) == (2, 1_500_000)
    assert "Someone else" not in response.text
    assert older.name in response.text


def test_gallery_list_cover_is_the_cover_photo_else_the_first_photo(client, gallery):
    second = PhotoFactory(gallery=gallery, original_filename="IMG_10.jpg")
    first = PhotoFactory(gallery=gallery, original_filename="IMG_2.jpg")
    response = client.get(reverse("galleries:gallery_list"))
    assert response.context["page"][0].cover_id == first.pk
    gallery.cover_photo = second
    gallery.save()
    response = client.get(reverse("galleries:gallery_list"))
    assert response.context["page"][0].cover_id == second.pk


def test_gallery_list_is_paginated(client, gallery):
    GalleryFactory.create_batch(30, owner=gallery.owner)
    response = client.get(reverse("galleries:gallery_list"))
    assert len(response.context["page"]) == 24
    response = client.get(reverse("galleries:gallery_list"), {"page": 2})
    assert len(response.context["page"]) == 7


def test_empty_dashboard_explains_create_upload_share(client):
    client.force_login(UserFactory())
    response = client.get(reverse("galleries:gallery_list"))
    assert "Deliver your first gallery in three steps" in response.text
    for step in ("Create a gallery", "Upload your photos", "Share it"):
        assert f"<h3>{step}</h3>" in response.text


def test_creating_a_gallery_redirects_to_its_page(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("galleries:gallery_list"), {"name": "  Beach day  "})
    gallery = Gallery.objects.get(owner=user)
    assert gallery.name == "Beach day"
    assert response.status_code == 302
    assert response.url == f"/galleries/{gallery.pk}/"


def test_creating_a_gallery_without_a_name_shows_the_error(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("galleries:gallery_list"), {"name": ""})
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert not Gallery.objects.filter(owner=user).exists()


def test_gallery_page_lists_photos_in_natural_order(client, gallery):
    for name in ["IMG_10.jpg", "img_2.jpg", "IMG_1.jpg", "IMG_100.jpg"]:
        PhotoFactory(gallery=gallery, original_filename=name)
    response = client.get(gallery.get_absolute_url())
    assert [p.original_filename for p in response.context["page"].object_list] == [
        "IMG_1.jpg",
        "img_2.jpg",
        "IMG_10.jpg",
        "IMG_100.jpg",
    ]
    assert 'loading="lazy"' in response.text
    assert 'width="640" height="427"' in response.text


def test_gallery_page_states_the_upload_limit_in_whole_megabytes(client, gallery, settings):
    settings.VIEWPORT_MAX_UPLOAD_SIZE = 50 * 1024 * 1024
    response = client.get(gallery.get_absolute_url())
    assert "up to 50 MB each" in response.text


def test_gallery_page_runs_the_same_number_of_queries_for_1_and_500_photos(client, gallery):
    PhotoFactory(gallery=gallery)
    client.get(gallery.get_absolute_url())  # warm up: session, content types
    PhotoFactory(gallery=gallery)  # a change: the page is drawn afresh
    with CaptureQueriesContext(connection) as one:
        client.get(gallery.get_absolute_url())
    PhotoFactory.create_batch(499, gallery=gallery)
    with CaptureQueriesContext(connection) as many:
        response = client.get(gallery.get_absolute_url())
    assert len(response.context["page"].object_list) == PhotoQuerySet.PER_PAGE
    assert response.context["photo_count"] == 501
    assert len(many) == len(one)


def test_gallery_page_brings_in_later_photos_page_by_page(client, gallery):
    photos = [
        PhotoFactory(gallery=gallery, original_filename=f"IMG_{n:03d}.jpg") for n in range(PhotoQuerySet.PER_PAGE + 5)
    ]
    first = client.get(gallery.get_absolute_url())
    assert 'href="?page=2" data-more-photos' in first.text

    tiles = client.get(gallery.get_absolute_url(), {"page": 2, "partial": 1})
    assert tiles.status_code == 200
    assert "<html" not in tiles.text and "data-more-photos" not in tiles.text
    assert [p.pk for p in tiles.context["page"].object_list] == [p.pk for p in photos[PhotoQuerySet.PER_PAGE :]]
    assert tiles.text.count('<li class="photo-tile') == 5

    without_javascript = client.get(gallery.get_absolute_url(), {"page": 2})
    assert "← Earlier photos" in without_javascript.text and "<html" in without_javascript.text


def test_rename_gallery(client, gallery):
    response = client.post(reverse("galleries:gallery_rename", args=[gallery.pk]), {"name": "Jones wedding"})
    assert response.status_code == 302
    gallery.refresh_from_db()
    assert gallery.name == "Jones wedding"


def test_delete_confirmation_says_how_many_photos_will_go(client, gallery):
    PhotoFactory.create_batch(3, gallery=gallery)
    response = client.get(reverse("galleries:gallery_delete", args=[gallery.pk]))
    assert "3 photos" in response.text


def test_deleting_a_gallery_redirects_to_the_list(client, gallery):
    response = client.post(reverse("galleries:gallery_delete", args=[gallery.pk]))
    assert response.status_code == 302
    assert response.url == reverse("galleries:gallery_list")
    assert not Gallery.objects.filter(pk=gallery.pk).exists()


def test_set_and_clear_cover_photo(client, gallery):
    photo = PhotoFactory(gallery=gallery)
    url = reverse("galleries:gallery_cover", args=[gallery.pk])
    client.post(url, {"photo_id": str(photo.pk)})
    gallery.refresh_from_db()
    assert gallery.cover_photo == photo
    client.post(url, {"photo_id": ""})
    gallery.refresh_from_db()
    assert gallery.cover_photo is None


def test_cover_must_be_a_photo_of_the_same_gallery(client, gallery):
    foreign = PhotoFactory()
    client.post(reverse("galleries:gallery_cover", args=[gallery.pk]), {"photo_id": str(foreign.pk)})
    gallery.refresh_from_db()
    assert gallery.cover_photo is None


def test_bulk_delete_removes_only_selected_photos_of_this_gallery(client, gallery):
    keep, drop1, drop2 = PhotoFactory.create_batch(3, gallery=gallery)
    foreign = PhotoFactory()
    response = client.post(
        reverse("galleries:photo_delete", args=[gallery.pk]), {"photo_ids": [str(drop1.pk), str(drop2.pk)]}
    )
    assert response.status_code == 302
    assert list(gallery.photos.all()) == [keep]
    client.post(reverse("galleries:photo_delete", args=[gallery.pk]), {"photo_ids": [str(foreign.pk)]})
    assert Photo.objects.filter(pk=foreign.pk).exists()


def test_gallery_page_is_compressed_for_browsers_that_accept_gzip(client, gallery):
    response = client.get(gallery.get_absolute_url(), headers={"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"


# Every write to a gallery's photos or sets moves its version, which keys its cached grids.

VERSION_CHANGES = {
    "photo saved": lambda gallery, photo, photo_set: photo.save(),
    "photo deleted": lambda gallery, photo, photo_set: photo.delete(),
    "photos updated": lambda gallery, photo, photo_set: gallery.photos.update(position=7),
    "photos deleted": lambda gallery, photo, photo_set: gallery.photos.all().delete(),
    "photos bulk-updated": lambda gallery, photo, photo_set: Photo.objects.bulk_update([photo], ["position"]),
    "photos bulk-created": lambda gallery, photo, photo_set: Photo.objects.bulk_create(
        [PhotoFactory.build(gallery=gallery)]
    ),
    "set saved": lambda gallery, photo, photo_set: photo_set.save(),
    "set deleted": lambda gallery, photo, photo_set: photo_set.delete(),
    "sets updated": lambda gallery, photo, photo_set: gallery.sets.update(name="Renamed"),
    "gallery saved": lambda gallery, photo, photo_set: Gallery.objects.get(pk=gallery.pk).save(),
}


@pytest.mark.parametrize("change", VERSION_CHANGES)
def test_every_write_to_a_gallerys_photos_or_sets_moves_its_version(change):
    gallery = GalleryFactory()
    photo = PhotoFactory(gallery=gallery)
    photo_set = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    other = GalleryFactory()
    before, other_before = Gallery.objects.get(pk=gallery.pk).version, Gallery.objects.get(pk=other.pk).version

    VERSION_CHANGES[change](gallery, photo, photo_set)

    assert Gallery.objects.get(pk=gallery.pk).version != before
    assert Gallery.objects.get(pk=other.pk).version == other_before
