"""The database itself enforces the spec's schema: tables, NOT NULLs, defaults, indexes, cascades."""

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from galleries.models import Gallery, Photo, PhotoSet
from galleries.tests.factories import GalleryFactory, PhotoFactory
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db


def columns(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_name = %s",
            [table],
        )
        return {
            name: (data_type, nullable == "YES", default) for name, data_type, nullable, default in cursor.fetchall()
        }


def foreign_keys(table):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT kcu.column_name, ccu.table_name, rc.delete_rule
            FROM information_schema.referential_constraints rc
            JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name
            JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.unique_constraint_name
            WHERE kcu.table_name = %s
            """,
            [table],
        )
        return {column: (target, rule) for column, target, rule in cursor.fetchall()}


def indexed_columns(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [row[0] for row in cursor.fetchall()]


def test_database_is_postgresql():
    assert connection.vendor == "postgresql"


@pytest.mark.parametrize(
    "table, expected",
    [
        (
            "users",
            {
                "id": ("uuid", False),
                "email": ("character varying", False),
                "password_hash": ("character varying", False),
                "display_name": ("character varying", True),
                "created_at": ("timestamp with time zone", False),
            },
        ),
        (
            "galleries",
            {
                "id": ("uuid", False),
                "owner_id": ("uuid", False),
                "name": ("character varying", False),
                "cover_photo_id": ("uuid", True),
                "created_at": ("timestamp with time zone", False),
                "updated_at": ("timestamp with time zone", False),
            },
        ),
        (
            "photos",
            {
                "id": ("uuid", False),
                "gallery_id": ("uuid", False),
                "object_key": ("character varying", False),
                "thumbnail_object_key": ("character varying", False),
                "file_size": ("integer", False),
                "width": ("integer", True),
                "height": ("integer", True),
                "uploaded_at": ("timestamp with time zone", False),
            },
        ),
        (
            "share_links",
            {
                "id": ("uuid", False),
                "gallery_id": ("uuid", False),
                "expires_at": ("timestamp with time zone", True),
                "views": ("integer", False),
                "zip_downloads": ("integer", False),
                "single_downloads": ("integer", False),
                "created_at": ("timestamp with time zone", False),
            },
        ),
    ],
)
def test_tables_have_the_spec_columns(table, expected):
    actual = columns(table)
    for name, (data_type, nullable) in expected.items():
        assert actual[name][:2] == (data_type, nullable), name


def test_counters_and_timestamps_have_database_defaults():
    gallery = GalleryFactory()
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO share_links (id, gallery_id) VALUES (%s, %s)", [uuid.uuid4(), gallery.pk])
    link = ShareLink.objects.get(gallery=gallery)
    assert (link.views, link.zip_downloads, link.single_downloads) == (0, 0, 0)
    assert link.created_at is not None


def test_foreign_keys_cascade_in_the_database():
    assert foreign_keys("galleries") == {"owner_id": ("users", "CASCADE"), "cover_photo_id": ("photos", "SET NULL")}
    assert foreign_keys("photos") == {
        "gallery_id": ("galleries", "CASCADE"),
        "photo_set_id": ("photo_sets", "SET NULL"),
    }
    assert foreign_keys("photo_sets") == {"gallery_id": ("galleries", "CASCADE")}
    assert foreign_keys("share_links") == {"gallery_id": ("galleries", "CASCADE")}


def test_deleting_a_set_with_raw_sql_keeps_its_photos_in_no_set():
    photo_set = PhotoSet.objects.create(gallery=GalleryFactory(), name="Ceremony")
    photo = PhotoFactory(gallery=photo_set.gallery, photo_set=photo_set)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM photo_sets WHERE id = %s", [photo_set.pk])
    photo.refresh_from_db()
    assert photo.photo_set_id is None


def test_set_names_are_unique_in_a_gallery_whatever_their_case():
    photo_set = PhotoSet.objects.create(gallery=GalleryFactory(), name="Ceremony")
    PhotoSet.objects.create(gallery=GalleryFactory(), name="Ceremony")  # another gallery's
    with pytest.raises(IntegrityError):
        PhotoSet.objects.create(gallery=photo_set.gallery, name="CEREMONY")


def test_deleting_a_user_with_raw_sql_cascades_to_everything():
    link = ShareLinkFactory()
    photo = PhotoFactory(gallery=link.gallery)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM users WHERE id = %s", [link.gallery.owner_id])
    assert not Gallery.objects.filter(pk=link.gallery_id).exists()
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert not ShareLink.objects.filter(pk=link.pk).exists()


def test_deleting_the_cover_photo_with_raw_sql_sets_the_cover_to_null():
    photo = PhotoFactory()
    Gallery.objects.filter(pk=photo.gallery_id).update(cover_photo=photo)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM photos WHERE id = %s", [photo.pk])
    assert Gallery.objects.get(pk=photo.gallery_id).cover_photo_id is None


def test_email_is_unique_whatever_its_case():
    UserFactory(email="Ada@Example.com")
    with pytest.raises(IntegrityError):
        User.objects.create_user("ada@example.com", "x")


@pytest.mark.parametrize(
    "table, column",
    [("users", "email"), ("galleries", "owner_id"), ("photos", "gallery_id"), ("share_links", "gallery_id")],
)
def test_spec_indexes_exist(table, column):
    assert any(f"({column})" in definition or f"({column} " in definition for definition in indexed_columns(table))


def test_active_share_links_excludes_expired_ones():
    never = ShareLinkFactory(expires_at=None)
    later = ShareLinkFactory(expires_at=timezone.now() + timedelta(days=1))
    expired = ShareLinkFactory(expires_at=timezone.now() - timedelta(seconds=1))
    assert set(ShareLink.objects.active()) == {never, later}
    assert set(ShareLink.objects.expired()) == {expired}
