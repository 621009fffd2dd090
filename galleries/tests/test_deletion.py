"""Deleting photos, galleries and users removes their objects from storage too, after commit."""

import pytest
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from galleries.models import PendingDeletion, Photo
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery(client, photo_storage):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    for n in range(3):
        store_photo(gallery, jpeg_upload(f"IMG_{n}.jpg"))
    return gallery


def test_deleting_a_gallery_leaves_its_storage_prefix_empty(client, gallery, stored_keys, django_capture_on_commit_callbacks):
    assert len(stored_keys(f"{gallery.pk}/")) == 9
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("galleries:gallery_delete", args=[gallery.pk]))
    assert stored_keys(f"{gallery.pk}/") == []


def test_deleting_selected_photos_removes_their_original_thumbnail_and_preview(
    client, gallery, stored_keys, django_capture_on_commit_callbacks
):
    doomed, kept = gallery.photos.in_display_order()[:2]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("galleries:photo_delete", args=[gallery.pk]), {"photo_ids": [str(doomed.pk)]})
    keys = stored_keys(f"{gallery.pk}/")
    assert doomed.object_key not in keys and doomed.thumbnail_object_key not in keys
    assert doomed.preview_object_key not in keys
    assert kept.object_key in keys and len(keys) == 6


def test_deleting_a_user_removes_all_their_photos_from_storage(gallery, stored_keys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        gallery.owner.delete()
    assert stored_keys(f"{gallery.pk}/") == []
    assert not Photo.objects.filter(gallery_id=gallery.pk).exists()


def test_nothing_is_deleted_from_storage_when_the_transaction_rolls_back(gallery, stored_keys, django_capture_on_commit_callbacks):
    prefix = f"{gallery.pk}/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        gallery.delete()
    assert callbacks  # scheduled for after commit, not run yet
    assert len(stored_keys(prefix)) == 9


def test_a_failed_storage_delete_is_remembered_and_retried(gallery, stored_keys, monkeypatch, django_capture_on_commit_callbacks):
    storage = storages["default"]

    def broken(*args, **kwargs):
        raise ConnectionError("storage is down")

    monkeypatch.setattr(storage, "delete", broken)
    if hasattr(storage, "delete_many"):
        monkeypatch.setattr(storage, "delete_many", lambda keys: dict.fromkeys(keys, "storage is down"))

    prefix = f"{gallery.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        gallery.delete()

    assert PendingDeletion.objects.count() == 9
    assert len(stored_keys(prefix)) == 9

    with pytest.raises(SystemExit):
        call_command("retry_storage_deletes")
    assert PendingDeletion.objects.get(object_key__endswith="IMG_0.jpg").attempts == 2

    monkeypatch.undo()
    call_command("retry_storage_deletes")
    assert PendingDeletion.objects.count() == 0
    assert stored_keys(prefix) == []


def test_check_storage_reports_and_deletes_orphans_and_reports_missing_objects(gallery, stored_keys, capsys):
    photo = gallery.photos.first()
    default_storage.delete(photo.object_key)
    with connection.cursor() as cursor:  # a row deleted behind Django's back leaves its objects
        cursor.execute("DELETE FROM photos WHERE id = %s", [gallery.photos.last().pk])
    orphans = [key for key in stored_keys(f"{gallery.pk}/") if not Photo.objects.filter(object_key=key).exists()
               and not Photo.objects.filter(thumbnail_object_key=key).exists()
               and not Photo.objects.filter(preview_object_key=key).exists()]
    assert len(orphans) == 3

    call_command("check_storage")
    output = capsys.readouterr().out
    assert f"missing object: photo {photo.pk} → {photo.object_key}" in output
    for key in orphans:
        assert f"orphan object: {key}" in output
    assert len(stored_keys(f"{gallery.pk}/")) == 8  # reporting deletes nothing

    call_command("check_storage", "--delete-orphans")
    assert set(orphans) <= set(stored_keys(f"{gallery.pk}/")), "an upload in progress may own young orphans"

    call_command("check_storage", "--delete-orphans", "--min-age", "0")
    assert not set(orphans) & set(stored_keys(f"{gallery.pk}/"))


def upload_json(client, gallery, file):
    return client.post(
        reverse("galleries:photo_upload", args=[gallery.pk]), {"photos": [file]}, headers={"Accept": "application/json"}
    )


def test_a_retried_delete_never_removes_a_photo_uploaded_after_a_failed_attempt(client, gallery, photo_storage, monkeypatch):
    """A failed upload leaves its half-written original waiting to be deleted; the same file
    uploaded again must not land on that key, or the next retry would delete it."""
    real_save = default_storage.save

    def save_failing_the_original(name, content, *args, **kwargs):
        if name.endswith("REPEAT.jpg"):
            raise ConnectionError("storage went away mid-upload")
        return real_save(name, content, *args, **kwargs)

    monkeypatch.setattr(default_storage, "save", save_failing_the_original)
    assert upload_json(client, gallery, jpeg_upload("REPEAT.jpg")).status_code == 503
    assert PendingDeletion.objects.filter(object_key__endswith="REPEAT.jpg").exists()

    monkeypatch.undo()
    response = upload_json(client, gallery, jpeg_upload("REPEAT.jpg", color=(1, 2, 3)))
    assert response.status_code == 200
    photo = Photo.objects.get(pk=response.json()["photos"][0]["id"])

    call_command("retry_storage_deletes")
    assert default_storage.exists(photo.object_key)
    assert photo.object_key not in PendingDeletion.objects.values_list("object_key", flat=True)


def test_a_pending_delete_of_a_key_a_photo_references_is_dropped_not_carried_out(gallery):
    photo = gallery.photos.first()
    for key in photo.storage_keys:
        PendingDeletion.objects.create(object_key=key, last_error="left over")

    call_command("retry_storage_deletes")
    assert all(default_storage.exists(key) for key in photo.storage_keys)
    assert PendingDeletion.objects.count() == 0
