"""The photographer's gallery in three views (photos, sharing, settings), and the selection's
actions as a script does them in place (JSON) and as a page without JavaScript does them."""

import io
import re
import zipfile
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from accounts.tests.factories import UserFactory
from galleries.models import Gallery, Photo, UploadStatus
from galleries.templatetags.galleries_tags import photo_url
from galleries.tests.factories import PhotoFactory, UploadFactory
from galleries.uploads import store_photo
from testing.photos import jpeg_upload

pytestmark = pytest.mark.django_db
JSON = {"headers": {"Accept": "application/json"}, "content_type": "application/json"}


def test_the_photos_view_starts_with_the_photos_and_the_others_hold_the_rest(client, gallery):
    photos = client.get(gallery.get_absolute_url()).text
    assert "data-upload-form" in photos and "data-selection-bar" not in photos  # empty: no selection yet
    assert "Create share link" not in photos and "How clients see it" not in photos
    for name in ("gallery_detail", "gallery_sharing", "gallery_settings"):
        assert f'href="{reverse(f"galleries:{name}", args=[gallery.pk])}"' in photos

    sharing = client.get(reverse("galleries:gallery_sharing", args=[gallery.pk])).text
    assert "Create share link" in sharing and 'aria-current="page">Sharing<' in sharing

    settings = client.get(reverse("galleries:gallery_settings", args=[gallery.pk])).text
    assert "How clients see it" in settings and "Sets and order" in settings and "Delete gallery" in settings
    assert 'aria-current="page">Settings<' in settings


def test_the_cached_tiles_are_each_gallerys_own(client, gallery_with_photos):
    other = Gallery.objects.create(owner=gallery_with_photos.owner, name="Lake")
    photo = store_photo(other, jpeg_upload("IMG_lake.jpg"))
    # One update may touch several galleries at once: the same version, the same CSRF secret.
    Gallery.objects.filter(pk__in=[gallery_with_photos.pk, other.pk]).update(updated_at=timezone.now())

    assert client.get(gallery_with_photos.get_absolute_url()).text.count("data-tile-menu") == 3
    page = client.get(other.get_absolute_url()).text

    assert page.count("data-tile-menu") == 1 and str(photo.pk) in page


def test_settings_changed_without_javascript_come_back_to_the_settings(client, gallery):
    settings_url = reverse("galleries:gallery_settings", args=[gallery.pk])
    response = client.post(reverse("galleries:gallery_rename", args=[gallery.pk]), {"name": "Lake"})
    assert response.status_code == 302 and response["Location"] == settings_url
    response = client.post(reverse("galleries:set_create", args=[gallery.pk]), {"name": "Ceremony"})
    assert response["Location"] == settings_url


def test_the_photo_tiles_have_a_menu_and_a_box_instead_of_hover_controls(client, gallery_with_photos):
    page = client.get(gallery_with_photos.get_absolute_url()).text
    assert page.count("data-tile-menu") == 3 and page.count("data-select>") == 3
    assert "photo-tile__bar" not in page
    assert "data-selection-bar" in page


def test_set_as_cover_in_place_and_from_a_selection(client, gallery_with_photos):
    gallery = gallery_with_photos
    first, second, third = gallery.ordered_photos()
    url = reverse("galleries:gallery_cover", args=[gallery.pk])
    response = client.post(url, {"photo_id": str(second.pk)}, **JSON)
    assert response.status_code == 200 and response.json() == {"cover_photo_id": str(second.pk)}
    gallery.refresh_from_db()
    assert gallery.cover_photo == second

    # The selection's "Set as cover", posted without JavaScript: its one photo.
    response = client.post(url, {"photo_ids": [str(third.pk)]})
    assert response.status_code == 302 and response["Location"] == gallery.get_absolute_url()
    gallery.refresh_from_db()
    assert gallery.cover_photo == third

    response = client.post(url, {"photo_ids": [str(first.pk), str(second.pk)]}, **JSON)
    assert response.status_code == 400
    assert response.json()["error"] == "Select just one photo to make it the cover."
    gallery.refresh_from_db()
    assert gallery.cover_photo == third

    assert client.post(url, {"photo_id": ""}, **JSON).json() == {"cover_photo_id": None}


def test_delete_in_place_says_what_is_left(client, gallery_with_photos):
    gallery = gallery_with_photos
    first, second, _ = gallery.ordered_photos()
    response = client.post(
        reverse("galleries:photo_delete", args=[gallery.pk]), {"photo_ids": [str(first.pk), str(second.pk)]}, **JSON
    )
    assert response.status_code == 200
    assert response.json()["deleted"] == 2 and response.json()["photo_count"] == 1
    assert response.json()["total_size"] == gallery.photos.get().file_size

    response = client.post(reverse("galleries:photo_delete", args=[gallery.pk]), {"photo_ids": []}, **JSON)
    assert response.status_code == 400 and response.json()["error"] == "Select at least one photo."


def test_download_of_the_selection_is_one_zip_of_the_originals(client, gallery_with_photos):
    gallery = gallery_with_photos
    first, _, third = gallery.ordered_photos()
    url = reverse("sharing:photos_zip", args=[gallery.pk])
    response = client.get(url, {"photo_ids": [str(third.pk), str(first.pk)]})
    assert response.status_code == 200
    assert 'filename="Smith wedding - 2 photos.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["IMG_0.jpg", "IMG_2.jpg"]
    with default_storage.open(first.object_key) as original:
        assert archive.read("IMG_0.jpg") == original.read()

    assert client.get(url).status_code == 400
    client.force_login(UserFactory())
    assert client.get(url, {"photo_ids": [str(first.pk)]}).status_code == 404
    assert Photo.objects.count() == 3


# The photos view's tiles and what surrounds them are drawn once per version of the gallery
# (gallery_detail.html caches them): every change the photographer makes shows on the next load,
# exactly as a fresh render draws it.


def workspace(client, gallery):
    """The photos view without what differs between two renders of the same gallery: the
    messages of the last change, and the masked CSRF tokens (the cached tiles keep theirs)."""
    page = client.get(gallery.get_absolute_url()).text
    page = re.sub(r'<ul class="messages".*?</ul>', "", page, flags=re.S)
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return re.sub(r"\s+", " ", page)


def post(client, name, gallery, data):
    response = client.post(reverse(f"galleries:{name}", args=[gallery.pk]), data)
    assert response.status_code == 302, response.content


def made_sizes(gallery, photo):
    """What the worker does when a photo's sizes are made after its upload."""
    Photo.objects.filter(pk=photo.pk).update(size_keys={"320.webp": f"{gallery.pk}/320.webp"})


WORKSPACE_CHANGES = {
    "upload": lambda client, gallery, first, second: store_photo(gallery, jpeg_upload("IMG_9.jpg")),
    "delete": lambda client, gallery, first, second: post(client, "photo_delete", gallery, {"photo_ids": [first.pk]}),
    "reorder": lambda client, gallery, first, second: post(
        client, "photo_order", gallery, {"photo_id": second.pk, "position": 1}
    ),
    "set": lambda client, gallery, first, second: (
        post(client, "set_create", gallery, {"name": "Party"}),
        post(client, "photo_move", gallery, {"photo_ids": [first.pk], "set_id": gallery.sets.get().pk}),
    ),
    "cover": lambda client, gallery, first, second: post(client, "gallery_cover", gallery, {"photo_id": second.pk}),
    "rename": lambda client, gallery, first, second: post(client, "gallery_rename", gallery, {"name": "Lake"}),
    "sizes made later": lambda client, gallery, first, second: made_sizes(gallery, first),
    "a file that failed": lambda client, gallery, first, second: UploadFactory(
        gallery=gallery, file_name="notes.txt", status=UploadStatus.FAILED, error="This file is not a photo."
    ),
}


@pytest.mark.parametrize("change", WORKSPACE_CHANGES)
def test_a_change_to_the_gallery_shows_at_once_in_the_workspace(client, gallery, change):
    first = PhotoFactory(gallery=gallery, original_filename="IMG_1.jpg", sort_key="img_1.jpg")
    second = PhotoFactory(gallery=gallery, original_filename="IMG_2.jpg", sort_key="img_2.jpg")
    before = workspace(client, gallery)
    assert workspace(client, gallery) == before  # the second from the cache

    WORKSPACE_CHANGES[change](client, gallery, first, second)

    after = workspace(client, gallery)
    assert after != before, change
    cache.clear()
    assert workspace(client, gallery) == after  # exactly what a fresh render draws


def test_the_tiles_urls_are_those_reverse_gives(client, gallery, settings):
    photo = PhotoFactory(gallery=gallery, size_keys={"320.webp": "k/320.webp", "480.webp": "k/480.webp"})
    page = client.get(gallery.get_absolute_url()).text
    for name in ("photo_thumbnail", "photo_preview", "photo_download"):
        assert f'"{reverse(f"galleries:{name}", args=[gallery.pk, photo.pk])}"' in page
    for size in ("320.webp", "480.webp"):
        assert f"{reverse('galleries:photo_size', args=[gallery.pk, photo.pk, size])} " in page
    assert f'action="{reverse("galleries:photo_order", args=[gallery.pk])}"' in page

    # Under a script prefix (the site served below a path), and with arguments that need quoting.
    set_script_prefix("/photos/")
    try:
        for viewname, args in (
            ("galleries:photo_download", [gallery.pk, photo.pk]),
            ("galleries:photo_order", [gallery.pk]),
            ("galleries:photo_size", [gallery.pk, photo.pk, "a b?c#d%é.webp"]),
        ):
            assert photo_url(viewname, *args) == reverse(viewname, args=args)
            assert photo_url(viewname, *args).startswith("/photos/galleries/")
    finally:
        set_script_prefix("/")


def test_the_cached_head_follows_the_photographers_time_zone(client, gallery):
    PhotoFactory(gallery=gallery)
    Gallery.objects.filter(pk=gallery.pk).update(created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    assert "created 1 Mar 2026" in client.get(gallery.get_absolute_url()).text

    gallery.owner.time_zone = "Pacific/Auckland"
    gallery.owner.save()

    assert "created 2 Mar 2026" in client.get(gallery.get_absolute_url()).text
