"""backup_photos and restore_photos, on S3 and on local storage: a copy of every object in a
folder, taken again only for what is new, and put back into empty storage byte for byte."""

import os
import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from galleries.tests.factories import jpeg_upload
from galleries.uploads import store_photo
from testing.services import create_bucket


@pytest.fixture
def own_storage(photo_storage, settings, stored_keys):
    """Photo storage that holds this test's objects only: a bucket of its own on the S3 server
    (the test empties it), or local storage's folder of this test."""
    if photo_storage == "s3":
        bucket = create_bucket(os.environ["VIEWPORT_TEST_S3_ENDPOINT_URL"], f"viewport-backup-{uuid.uuid4().hex[:8]}")
        storages = {**settings.STORAGES, "default": {**settings.STORAGES["default"]}}
        storages["default"]["OPTIONS"] = {**storages["default"]["OPTIONS"], "bucket_name": bucket}
        settings.STORAGES = storages
    return stored_keys


def contents(keys):
    return {key: b"".join(default_storage.iter_chunks(key)) for key in keys}


def test_photos_are_backed_up_incrementally_and_restored_into_empty_storage(gallery, own_storage, tmp_path, capsys):
    stored_keys = own_storage
    first = store_photo(gallery, jpeg_upload("IMG_0001.jpg"))
    second = store_photo(gallery, jpeg_upload("IMG_0002.jpg", width=200, height=300))
    before = contents(stored_keys())
    count = len(first.storage_keys) + len(second.storage_keys)  # the original, its renditions and sizes
    assert len(before) == count

    call_command("backup_photos", tmp_path / "backup")
    assert f"Copied {count} new objects" in capsys.readouterr().out
    third = store_photo(gallery, jpeg_upload("IMG_0003.jpg"))
    call_command("backup_photos", str(tmp_path / "backup"))  # again: only the new photo's objects
    output = capsys.readouterr().out
    assert f"Copied {len(third.storage_keys)} new objects" in output and f"{count} were there" in output
    everything = contents(stored_keys())

    default_storage.delete_many(stored_keys())
    assert stored_keys() == []
    call_command("restore_photos", str(tmp_path / "backup"))
    assert contents(stored_keys()) == everything and set(before) < set(everything)
    call_command("restore_photos", str(tmp_path / "backup"))  # nothing left to do
    assert capsys.readouterr().out.splitlines()[-1].startswith("Restored 0 objects")


@pytest.mark.django_db
def test_restore_refuses_what_is_no_backup(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("restore_photos", str(tmp_path / "nothing-here"))
