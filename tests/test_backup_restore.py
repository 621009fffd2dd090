"""Backups that restore, as the README's procedure takes them: the database with pg_dump, the
bucket with `manage.py backup_photos`; restored into a PostgreSQL server that never saw the site
and an empty bucket, with pg_restore and `manage.py restore_photos`. Everything is there after,
and a client downloads the same bytes."""

import io
import os
import subprocess
import uuid
import zipfile

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from accounts.tests.factories import UserFactory
from favourites.models import FavouriteList
from galleries.models import PhotoSet
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import AppServer, manage, production_env, running_database_url
from testing.http import get
from testing.services import PostgresServer, create_bucket
from tests.test_accounts_behind_proxy import ClientBehindProxy

pytestmark = pytest.mark.django_db(transaction=True)

LINK_PASSWORD = "garden-party"


@pytest.fixture
def source_bucket(settings):
    """This test's photos in a bucket of their own, so that the backup holds them alone."""
    bucket = create_bucket(os.environ["VIEWPORT_TEST_S3_ENDPOINT_URL"], f"viewport-backup-{uuid.uuid4().hex[:8]}")
    storages = {**settings.STORAGES, "default": {**settings.STORAGES["default"]}}
    storages["default"]["OPTIONS"] = {**storages["default"]["OPTIONS"], "bucket_name": bucket}
    settings.STORAGES = storages
    return bucket


@pytest.fixture
def fresh_postgres():
    server = PostgresServer().start()
    yield server
    server.cleanup()


def tables():
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor))


def rows(database_url, table):
    with psycopg.connect(database_url, options="-c TimeZone=UTC") as db:
        return sorted(map(repr, db.execute(f'SELECT * FROM "{table}"').fetchall()))


def test_a_backup_restores_into_a_fresh_database_and_bucket(
    source_bucket, fresh_postgres, static_root, tmp_path, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # one the app knows
    settings.SECRET_KEY = production_env()["DJANGO_SECRET_KEY"]  # it keys link passwords: a restore keeps it
    owner = UserFactory(display_name="Lena Hart")
    gallery = GalleryFactory(owner=owner, name="Smith wedding")
    ceremony = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    originals = {
        "IMG_0001.jpg": jpeg_upload("IMG_0001.jpg", width=320, height=240),
        "IMG_0002.jpg": jpeg_upload("IMG_0002.jpg", width=240, height=320, color=(20, 120, 60)),
    }
    photos = [
        store_photo(gallery, originals["IMG_0001.jpg"]),
        store_photo(gallery, originals["IMG_0002.jpg"], ceremony),
    ]
    originals = {name: upload.open().read() for name, upload in originals.items()}
    link = ShareLinkFactory(gallery=gallery, label="Parents")
    link.set_password(LINK_PASSWORD)
    link.save()
    choice = FavouriteList(link=link, name="Anna", email="anna@example.com")
    choice.new_token()
    choice.save()
    choice.add(photos[1], comment="For the album")
    link.increment("views", visitor_digest="a" * 64)
    link.increment("zip_downloads")

    # Back up, as the README says: the database first, then the bucket.
    bin_dir = fresh_postgres.bin
    dump = tmp_path / "viewport.dump"
    source_url = running_database_url()
    subprocess.run([bin_dir / "pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source_url], check=True)
    source_env = production_env(DATABASE_URL=source_url, AWS_STORAGE_BUCKET_NAME=source_bucket)
    backup = manage("backup_photos", str(tmp_path / "photos"), env=source_env)
    assert backup.returncode == 0, backup.stderr
    stored = sum(len(photo.rendition_keys) for photo in photos)  # originals, renditions and their sizes
    assert f"Copied {stored} new objects" in backup.stdout

    # Restore into a PostgreSQL that never saw the site, and an empty bucket.
    with psycopg.connect(fresh_postgres.url, autocommit=True) as db:
        db.execute("CREATE DATABASE viewport")
    restored_url = fresh_postgres.url.rsplit("/", 1)[0] + "/viewport"
    subprocess.run([bin_dir / "pg_restore", "--no-owner", f"--dbname={restored_url}", dump], check=True)
    restored_bucket = create_bucket(os.environ["VIEWPORT_TEST_S3_ENDPOINT_URL"], f"{source_bucket}-restored")
    restored_env = production_env(
        DATABASE_URL=restored_url, AWS_STORAGE_BUCKET_NAME=restored_bucket, VIEWPORT_STATIC_ROOT=str(static_root)
    )
    restore = manage("restore_photos", str(tmp_path / "photos"), env=restored_env)
    assert restore.returncode == 0, restore.stderr
    check = manage("check_storage", env=restored_env)
    assert check.stdout.splitlines()[-1] == (
        f"{stored} objects, 0 orphaned, 0 photo(s) missing their original, 0 missing renditions."
    ), check.stdout

    # Every row of every table is back: galleries, sets, photos, links, favourites, statistics.
    for table in ("galleries", "photos", "share_links", "favourite_lists", "favourites", "share_link_days"):
        assert table in tables()
    for table in tables():
        assert rows(restored_url, table) == rows(source_url, table), table

    # A client opens the restored link, types its password, and downloads the same bytes.
    app = AppServer(restored_env, workers=1, threads=4).start()
    try:
        client = ClientBehindProxy(app, "203.0.113.10")
        page = reverse("sharing:public_gallery", args=[link.pk])
        assert client.request("GET", page)[0] == 401
        assert client.request("POST", reverse("sharing:unlock", args=[link.pk]), {"password": LINK_PASSWORD})[0] == 302
        assert client.request("GET", page)[0] == 200
        for photo in photos:
            status, headers, _ = client.request("GET", reverse("sharing:photo_download", args=[link.pk, photo.pk]))
            assert status == 302 and f"/{restored_bucket}/" in headers["Location"]
            assert get(headers["Location"])[2] == originals[photo.original_filename]
        status, _, archive = client.request("GET", reverse("sharing:zip_download", args=[link.pk]))
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            in_folders = {"IMG_0001.jpg": originals["IMG_0001.jpg"], "Ceremony/IMG_0002.jpg": originals["IMG_0002.jpg"]}
            assert {name: zipped.read(name) for name in zipped.namelist()} == in_folders  # a set is a folder
    finally:
        app.stop()
