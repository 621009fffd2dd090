"""Deleting photos, galleries and users removes their objects from storage too, after commit."""

import pytest
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from galleries.models import PendingDeletion, Photo
from galleries.tests.factories import jpeg_upload
from testing.http import upload

pytestmark = pytest.mark.django_db


def test_deleting_a_gallery_leaves_its_storage_prefix_empty(
    client, gallery_with_photos, stored_keys, django_capture_on_commit_callbacks
):
    assert len(stored_keys(f"{gallery_with_photos.pk}/")) == 27
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("galleries:gallery_delete", args=[gallery_with_photos.pk]))
    assert stored_keys(f"{gallery_with_photos.pk}/") == []


def test_deleting_selected_photos_removes_their_original_thumbnail_preview_and_sizes(
    client, gallery_with_photos, stored_keys, django_capture_on_commit_callbacks
):
    doomed, kept = gallery_with_photos.photos.in_display_order()[:2]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("galleries:photo_delete", args=[gallery_with_photos.pk]), {"photo_ids": [str(doomed.pk)]})
    keys = stored_keys(f"{gallery_with_photos.pk}/")
    assert doomed.object_key not in keys and doomed.thumbnail_object_key not in keys
    assert doomed.preview_object_key not in keys
    assert len(doomed.size_keys) == 6 and not set(doomed.size_keys.values()) & set(keys)
    assert kept.object_key in keys and set(kept.size_keys.values()) <= set(keys) and len(keys) == 18


def test_deleting_a_user_removes_all_their_photos_from_storage(
    gallery_with_photos, stored_keys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        gallery_with_photos.owner.delete()
    assert stored_keys(f"{gallery_with_photos.pk}/") == []
    assert not Photo.objects.filter(gallery_id=gallery_with_photos.pk).exists()


def test_nothing_is_deleted_from_storage_when_the_transaction_rolls_back(
    gallery_with_photos, stored_keys, django_capture_on_commit_callbacks
):
    prefix = f"{gallery_with_photos.pk}/"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        gallery_with_photos.delete()
    assert callbacks  # scheduled for after commit, not run yet
    assert len(stored_keys(prefix)) == 27


def test_a_failed_storage_delete_is_remembered_and_retried(
    gallery_with_photos, stored_keys, monkeypatch, django_capture_on_commit_callbacks
):
    storage = storages["default"]

    def broken(*args, **kwargs):
        raise ConnectionError("storage is down")

    monkeypatch.setattr(storage, "delete", broken)
    if hasattr(storage, "delete_many"):
        monkeypatch.setattr(storage, "delete_many", lambda keys: dict.fromkeys(keys, "storage is down"))

    prefix = f"{gallery_with_photos.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        gallery_with_photos.delete()

    assert PendingDeletion.objects.count() == 27
    assert len(stored_keys(prefix)) == 27

    with pytest.raises(SystemExit):
        call_command("retry_storage_deletes")
    assert PendingDeletion.objects.get(object_key__endswith="IMG_0.jpg").attempts == 2

    monkeypatch.undo()
    call_command("retry_storage_deletes")
    assert PendingDeletion.objects.count() == 0
    assert stored_keys(prefix) == []


def test_check_storage_reports_and_deletes_orphans_and_reports_missing_objects(
    gallery_with_photos, stored_keys, capsys
):
    photo = gallery_with_photos.photos.first()
    default_storage.delete(photo.object_key)
    with connection.cursor() as cursor:  # a row deleted behind Django's back leaves its objects
        cursor.execute("DELETE FROM photos WHERE id = %s", [gallery_with_photos.photos.last().pk])
    referenced = set(Photo.objects.object_keys())
    orphans = [key for key in stored_keys(f"{gallery_with_photos.pk}/") if key not in referenced]
    assert len(orphans) == 9 and sum("/sizes/" in key for key in orphans) == 6

    call_command("check_storage")
    output = capsys.readouterr().out
    assert f"missing object: photo {photo.pk} → {photo.object_key}" in output
    for key in orphans:
        assert f"orphan object: {key}" in output
    assert len(stored_keys(f"{gallery_with_photos.pk}/")) == 26  # reporting deletes nothing

    call_command("check_storage", "--delete-orphans")
    assert set(orphans) <= set(stored_keys(f"{gallery_with_photos.pk}/")), "an upload in progress may own young orphans"

    call_command("check_storage", "--delete-orphans", "--min-age", "0")
    assert not set(orphans) & set(stored_keys(f"{gallery_with_photos.pk}/"))


def test_a_retried_delete_never_removes_a_photo_uploaded_after_a_failed_attempt(
    client, gallery_with_photos, photo_storage, monkeypatch
):
    """A failed upload leaves its half-written original waiting to be deleted; the same file
    uploaded again must not land on that key, or the next retry would delete it."""
    real_save = default_storage.save

    def save_failing_the_original(name, content, *args, **kwargs):
        if name.endswith("REPEAT.jpg"):
            raise ConnectionError("storage went away mid-upload")
        return real_save(name, content, *args, **kwargs)

    monkeypatch.setattr(default_storage, "save", save_failing_the_original)
    assert upload(client, gallery_with_photos, jpeg_upload("REPEAT.jpg", color=(4, 5, 6))).status_code == 503
    assert PendingDeletion.objects.filter(object_key__endswith="REPEAT.jpg").exists()

    monkeypatch.undo()
    response = upload(client, gallery_with_photos, jpeg_upload("REPEAT.jpg", color=(1, 2, 3)))
    assert response.status_code == 200
    photo = Photo.objects.get(pk=response.json()["photos"][0]["id"])

    call_command("retry_storage_deletes")
    assert default_storage.exists(photo.object_key)
    assert photo.object_key not in PendingDeletion.objects.values_list("object_key", flat=True)


def test_a_pending_delete_of_a_key_a_photo_references_is_dropped_not_carried_out(gallery_with_photos):
    photo = gallery_with_photos.photos.first()
    for key in photo.storage_keys:
        PendingDeletion.objects.create(object_key=key, last_error="left over")

    call_command("retry_storage_deletes")
    assert all(default_storage.exists(key) for key in photo.storage_keys)
    assert PendingDeletion.objects.count() == 0
