"""`manage.py make_sizes` gives photos stored before sizes and placeholders existed theirs:
resumable, and a second run changes nothing. On S3 and on local storage."""

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from galleries.models import Photo
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo

pytestmark = pytest.mark.django_db


def as_stored_before(photo):
    """The photo as an upload before issue 25 left it: no sizes, no placeholder."""
    for key in photo.size_keys.values():
        default_storage.delete(key)
    Photo.objects.filter(pk=photo.pk).update(size_keys={}, placeholder=b"")


def test_existing_photos_get_their_sizes_and_placeholder_and_a_second_run_does_nothing(photo_storage, capsys):
    gallery = GalleryFactory()
    photos = [
        store_photo(gallery, jpeg_upload("IMG_0001.jpg", width=3000, height=2000, orientation=6)),
        store_photo(gallery, jpeg_upload("IMG_0002.jpg", width=500, height=400)),
        store_photo(gallery, jpeg_upload("IMG_0003.jpg", width=1200, height=800)),
    ]
    made = {photo.pk: dict(photo.size_keys) for photo in photos}
    for photo in photos[:2]:
        as_stored_before(photo)

    call_command("make_sizes")
    assert "2 photos got their sizes and placeholder; 0 could not be read" in capsys.readouterr().out

    for photo in photos:
        photo.refresh_from_db()
        assert photo.size_keys == made[photo.pk] and len(photo.placeholder) > 20
        for key in photo.size_keys.values():
            assert default_storage.exists(key)
    upright = photos[0]  # stored turned (EXIF 6), made from its upright preview
    with default_storage.open(upright.size_keys["720.webp"]) as file:
        image = Image.open(io.BytesIO(file.read()))
    assert image.size == (480, 720)  # stored 3000 x 2000, upright 2000 x 3000

    call_command("make_sizes")
    assert "0 photos got their sizes" in capsys.readouterr().out


def test_a_photo_whose_preview_is_missing_is_reported_and_the_others_are_done(photo_storage, capsys):
    gallery = GalleryFactory()
    broken, fine = (store_photo(gallery, jpeg_upload(f"IMG_{n}.jpg")) for n in range(2))
    for photo in (broken, fine):
        as_stored_before(photo)
    default_storage.delete(broken.preview_object_key)

    call_command("make_sizes", "--gallery", str(gallery.pk))

    output = capsys.readouterr()
    assert "1 photos got their sizes and placeholder; 1 could not be read or stored." in output.out
    assert str(broken.pk) in output.err
    fine.refresh_from_db()
    assert sorted(fine.size_keys, key=lambda name: int(name.split(".")[0])) == [
        "160.webp",
        "240.webp",
        "320.webp",
        "400.webp",
        "480.webp",
        "600.webp",
    ]


def test_photos_with_the_earlier_sizes_get_only_the_sizes_added_since(photo_storage, capsys):
    photo = store_photo(GalleryFactory(), jpeg_upload("IMG_0001.jpg", width=1200, height=800))
    added = ["160.webp", "240.webp", "400.webp", "960.webp"]  # after 320 to 1080 px
    for name in added:
        default_storage.delete(photo.size_keys[name])
    earlier = {name: key for name, key in photo.size_keys.items() if name not in added}
    Photo.objects.filter(pk=photo.pk).update(size_keys=earlier)
    with default_storage.open(earlier["320.webp"]) as file:
        kept = file.read()
    default_storage.delete(earlier["320.webp"])
    default_storage.save(earlier["320.webp"], ContentFile(kept + b"\0"))  # so that a rewrite would show

    call_command("make_sizes")
    assert "1 photos got their sizes" in capsys.readouterr().out

    photo.refresh_from_db()
    assert set(photo.size_keys) == {*earlier, *added}
    for name, width in [("160.webp", 160), ("240.webp", 240), ("400.webp", 400), ("960.webp", 960)]:
        with default_storage.open(photo.size_keys[name]) as file:
            assert Image.open(io.BytesIO(file.read())).size == (width, round(width * 2 / 3))
    with default_storage.open(earlier["320.webp"]) as file:
        assert file.read() == kept + b"\0", "the sizes it had are left as they are"
    call_command("make_sizes")
    assert "0 photos got their sizes" in capsys.readouterr().out
