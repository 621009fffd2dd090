"""Watermarked links: every copy a link with `watermark` on serves (thumbnail, preview, web-size
and JPEG downloads, every ZIP) carries the photographer's watermark in its pixels, and is the
clean copy elsewhere; originals, and the photographer's own copies, stay byte for byte as they
were. Compared pixel by pixel, for every position, on S3 and on local storage."""

import io
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from PIL import Image, ImageChops, ImageFilter

from accounts.models import WatermarkPosition
from favourites.models import FavouritesSettings
from galleries import tasks, watermarks
from galleries.models import PhotoCopy, PhotoSet, WatermarkRun
from galleries.tasks import make_watermarked
from galleries.tests.factories import GalleryFactory
from galleries.uploads import store_photo
from sharing.models import ShareLink
from sharing.tasks import send_reminder
from sharing.tests.factories import ShareLinkFactory
from testing.http import fetch

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}


def gradient_photo(width=1500, height=1000):
    """A JPEG that is dark on the left, light on the right, and tinted: a mark must read on both."""
    ramp = Image.linear_gradient("L").rotate(90).resize((width, height))
    tint = Image.linear_gradient("L").resize((width, height))
    buffer = io.BytesIO()
    Image.merge("RGB", [ramp, tint, ramp.point(lambda v: v // 2 + 60)]).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def gallery(client, photo_storage):
    gallery = GalleryFactory(name="Smith wedding", owner__display_name="Lena Hart")
    store_photo(gallery, SimpleUploadedFile("IMG_0001.jpg", gradient_photo()))
    store_photo(gallery, SimpleUploadedFile("IMG_0002.jpg", gradient_photo(800, 1200)))
    return gallery


@pytest.fixture
def links(gallery):
    """(a clean link, a watermarked link) to the gallery, both handing out web-size downloads."""
    clean = ShareLinkFactory(gallery=gallery, download_size="web")
    return clean, ShareLinkFactory(gallery=gallery, download_size="web", watermark=True)


def set_watermark(client, photographer, **settings):
    client.force_login(photographer)
    response = client.post(reverse("accounts:watermark"), settings, headers=JSON)
    assert response.status_code == 200, response.content
    client.logout()
    photographer.refresh_from_db()


def body(response):
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content


def served(client, link, photo):
    """What the link serves of the photo: {what: JPEG bytes}."""
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(reverse("sharing:zip_download", args=[link.pk])))))
    return {
        "thumbnail": body(client.get(reverse("sharing:public_thumbnail", args=[link.pk, photo.pk]))),
        "preview": body(client.get(reverse("sharing:public_preview", args=[link.pk, photo.pk]))),
        "480 px WebP": body(client.get(reverse("sharing:public_size", args=[link.pk, photo.pk, "480.webp"]))),
        "download": fetch(client.get(reverse("sharing:photo_download", args=[link.pk, photo.pk])))[0],
        "zip entry": archive.read(photo.web_filename),
    }


def compare(clean, watermarked):
    """(where the pixels differ: a bounding box, or None; how many differ; the mean and the
    largest difference away from them). Away: outside the differing pixels grown by 16 px, the
    reach of JPEG's blocks and of the mark's soft shadow."""
    with Image.open(io.BytesIO(clean)) as a, Image.open(io.BytesIO(watermarked)) as b:
        assert a.size == b.size
        diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).convert("L")
    changed = diff.point(lambda v: 255 if v > 40 else 0)
    blocks = changed.reduce(16).point(lambda v: 255 if v else 0).filter(ImageFilter.MaxFilter(3))
    away = ImageChops.invert(blocks.resize(diff.size, Image.Resampling.NEAREST))
    histogram = diff.histogram(mask=away)
    count = sum(histogram) or 1
    mean = sum(value * n for value, n in enumerate(histogram)) / count
    largest = max((value for value, n in enumerate(histogram) if n), default=0)
    return changed.getbbox(), changed.histogram()[255], mean, largest, diff.size


def assert_marked(clean, watermarked, position):
    box, changed, mean, largest, (width, height) = compare(clean, watermarked)
    assert box is not None and changed > width * height * 0.002, "no watermark"
    assert mean < 1.5 and largest < 24, f"the rest of the photo changed too ({mean:.2f} on average, {largest} at most)"
    left, top, right, bottom = box
    if position == "bottom-right":
        assert left > width / 2 and top > height / 2
    elif position == "bottom-left":
        assert right < width / 2 and top > height / 2
    elif position == "center":
        assert abs((left + right) / 2 - width / 2) < width * 0.05
        assert abs((top + bottom) / 2 - height / 2) < height * 0.05
    else:  # tiled: over the whole photo, and still mostly the photo
        assert left < width / 4 and right > width * 3 / 4 and top < height / 4 and bottom > height * 3 / 4
        assert changed < width * height * 0.5


@pytest.mark.parametrize("position", WatermarkPosition.values)
def test_a_watermarked_link_burns_the_mark_into_every_copy_and_nothing_else(client, gallery, links, position):
    clean_link, watermarked_link = links
    set_watermark(client, gallery.owner, watermark_position=position, watermark_opacity=60)
    photo = gallery.photos.get(original_filename="IMG_0001.jpg")

    clean, watermarked = served(client, clean_link, photo), served(client, watermarked_link, photo)

    for what in clean:
        assert_marked(clean[what], watermarked[what], position), what
    assert watermarked["download"] == watermarked["zip entry"] == watermarked["preview"]  # one copy, stored once
    with Image.open(io.BytesIO(watermarked["thumbnail"])) as thumbnail:
        assert thumbnail.size == (640, 427)


def test_an_image_watermark_is_burned_in_too(client, gallery, links):
    clean_link, watermarked_link = links
    mark = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    mark.paste((255, 255, 255, 255), (50, 50, 350, 350))
    buffer = io.BytesIO()
    mark.save(buffer, "PNG")
    client.force_login(gallery.owner)
    upload = SimpleUploadedFile("mark.png", buffer.getvalue())
    assert (
        client.post(reverse("accounts:watermark"), {"watermark_image": upload, "watermark_opacity": 80}).status_code
        == 302
    )
    photo = gallery.photos.get(original_filename="IMG_0002.jpg")  # portrait

    clean = body(client.get(reverse("sharing:public_preview", args=[clean_link.pk, photo.pk])))
    watermarked = body(client.get(reverse("sharing:public_preview", args=[watermarked_link.pk, photo.pk])))

    assert_marked(clean, watermarked, "center")
    box = compare(clean, watermarked)[0]
    assert abs((box[2] - box[0]) - 800 * 0.3) < 8  # 30% of the shorter side (the clear margins trimmed)


def test_originals_and_the_photographers_own_copies_stay_byte_for_byte(client, gallery, links):
    photo = gallery.photos.get(original_filename="IMG_0001.jpg")
    client.force_login(gallery.owner)
    own = {
        name: body(client.get(reverse(f"galleries:photo_{name}", args=[gallery.pk, photo.pk])))
        for name in ("thumbnail", "preview")
    }
    original = default_storage.open(photo.object_key).read()
    client.logout()
    watermarked_link = links[1]
    served(client, watermarked_link, photo)

    watermarked_link.download_size = "original"  # the photographer's choice: delivered clean
    watermarked_link.save()
    assert fetch(client.get(reverse("sharing:photo_download", args=[watermarked_link.pk, photo.pk])))[0] == original
    client.force_login(gallery.owner)
    for name, data in own.items():
        assert body(client.get(reverse(f"galleries:photo_{name}", args=[gallery.pk, photo.pk]))) == data
    assert fetch(client.get(reverse("galleries:photo_download", args=[gallery.pk, photo.pk])))[0] == original
    assert default_storage.open(photo.object_key).read() == original


def test_a_changed_watermark_shows_on_the_next_request_and_the_old_copies_go(
    client, gallery, links, stored_keys, django_capture_on_commit_callbacks
):
    clean_link, watermarked_link = links
    photo = gallery.photos.get(original_filename="IMG_0001.jpg")
    set_watermark(client, gallery.owner, watermark_position="bottom-left")
    url = reverse("sharing:public_thumbnail", args=[watermarked_link.pk, photo.pk])
    first = client.get(url)
    clean = body(client.get(reverse("sharing:public_thumbnail", args=[clean_link.pk, photo.pk])))
    assert_marked(clean, body(first), "bottom-left")
    assert client.get(url, headers={"If-None-Match": first["ETag"]}).status_code == 304
    old_keys = stored_keys(f"{gallery.pk}/watermarked/")
    assert old_keys

    with django_capture_on_commit_callbacks(execute=True):
        set_watermark(client, gallery.owner, watermark_position="bottom-right")

    second = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    assert_marked(clean, body(second), "bottom-right")
    assert not set(old_keys) & set(stored_keys(f"{gallery.pk}/watermarked/"))


def test_a_link_stops_serving_watermarked_copies_as_it_stops_serving_clean_ones(client, gallery, links):
    watermarked_link = links[1]
    photo = gallery.photos.first()
    url = reverse("sharing:public_thumbnail", args=[watermarked_link.pk, photo.pk])
    etag = client.get(url)["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    watermarked_link.is_active = False  # paused
    watermarked_link.save()
    assert client.get(url).status_code == 404
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404
    watermarked_link.is_active, watermarked_link.expires_at = True, timezone.now()
    watermarked_link.save()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 410


def test_watermarked_copies_are_deleted_with_their_photo(
    client, gallery, links, stored_keys, django_capture_on_commit_callbacks
):
    photo = gallery.photos.get(original_filename="IMG_0001.jpg")
    served(client, links[1], photo)
    assert stored_keys(f"{gallery.pk}/watermarked/{photo.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        photo.delete()
    assert stored_keys(f"{gallery.pk}/watermarked/{photo.pk}/") == []


def test_the_link_setting_is_off_by_default_and_says_originals_are_clean(client, gallery):
    client.force_login(gallery.owner)
    created = client.post(
        reverse("sharing:share_link_create", args=[gallery.pk]), "{}", content_type="application/json", headers=JSON
    )
    assert created.json()["watermark"] is False
    url = reverse("sharing:share_link_settings", args=[created.json()["id"]])
    changed = client.post(url, '{"watermark": true}', content_type="application/json", headers=JSON)
    assert changed.status_code == 200 and changed.json()["watermark"] is True
    page = client.get(reverse("sharing:share_link_detail", args=[created.json()["id"]])).content.decode()
    assert "Originals are delivered clean" in page  # the link's settings form


def test_every_zip_of_a_watermarked_link_holds_watermarked_photos(client, gallery, links):
    """The gallery's, a set's and a client's favourites' ZIPs: the same watermarked copies."""
    clean_link, watermarked_link = links
    photo = gallery.photos.get(original_filename="IMG_0001.jpg")
    ceremony = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    gallery.photos.update(photo_set=ceremony)
    FavouritesSettings.objects.create(link=watermarked_link, favourites=True)
    favourites = {"Accept": "application/json"}
    client.post(
        reverse("favourites:favourite_list", args=[watermarked_link.pk]),
        '{"name": "Ana"}',
        content_type="application/json",
        headers=favourites,
    )
    client.post(
        reverse("favourites:favourite_add", args=[watermarked_link.pk, photo.pk]),
        "{}",
        content_type="application/json",
        headers=favourites,
    )
    clean = body(client.get(reverse("sharing:public_preview", args=[clean_link.pk, photo.pk])))

    urls = [
        reverse("sharing:set_zip_download", args=[watermarked_link.pk, ceremony.pk]),
        reverse("favourites:favourite_zip", args=[watermarked_link.pk]),
        reverse("sharing:zip_download", args=[watermarked_link.pk]),
    ]

    entries = []
    for url in urls:  # one after the other: a client streams two at once at most
        archive = zipfile.ZipFile(io.BytesIO(body(client.get(url))))
        entries.append(next(archive.read(name) for name in archive.namelist() if name.endswith(photo.web_filename)))
    for entry in entries:
        assert_marked(clean, entry, "center")
    assert entries[0] == entries[1] == entries[2]


def test_full_size_jpeg_downloads_of_a_watermarked_link_are_watermarked_at_full_size(
    client, gallery, links, django_capture_on_commit_callbacks
):
    """The task worker makes them (a photo decoded whole): when a link starts handing them out,
    and when the watermark changes. One asked for before that is a 503 with Retry-After that
    has the worker make it, never made in the request."""
    watermarked_link = links[1]
    with django_capture_on_commit_callbacks(execute=True):
        watermarked_link.download_size = "jpeg"
        watermarked_link.save()
    photo = gallery.photos.get(original_filename="IMG_0001.jpg")
    original = default_storage.open(photo.object_key).read()
    url = reverse("sharing:photo_download", args=[watermarked_link.pk, photo.pk])
    assert PhotoCopy.objects.filter(photo=photo, kind="watermarked-jpeg").exists()  # by the worker
    assert client.get(url).status_code in (200, 302)  # served (local), or a signed URL (S3)

    set_watermark(client, gallery.owner, watermark_position="bottom-left")  # its tasks not run (no commit)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = client.get(url)
    assert waiting.status_code == 503 and 5 <= int(waiting["Retry-After"]) <= 60
    single = fetch(client.get(url))[0]
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(reverse("sharing:zip_download", args=[watermarked_link.pk])))))

    assert archive.read(photo.web_filename) == single
    with Image.open(io.BytesIO(single)) as picture:
        assert picture.size == (1500, 1000)  # full size
    assert_marked(original, single, "bottom-left")


def test_check_storage_keeps_the_current_watermarked_copies_and_finds_old_ones(client, gallery, links):
    photo = gallery.photos.get(original_filename="IMG_0001.jpg")
    served(client, links[1], photo)
    report = io.StringIO()
    call_command("check_storage", stdout=report)
    assert str(gallery.pk) not in report.getvalue()  # none of its objects is an orphan

    set_watermark(client, gallery.owner, watermark_position="tiled")  # its cleanup not run (no commit here)

    report = io.StringIO()
    call_command("check_storage", stdout=report)
    lines = report.getvalue().splitlines()
    orphans = [line for line in lines if line.startswith("orphan object:") and str(gallery.pk) in line]
    assert orphans and all("/watermarked/" in line for line in orphans)


def test_mails_about_a_watermarked_link_carry_the_watermarked_cover_or_none(client, gallery, links):
    """The link's e-mail and its expiry reminder show the cover as the link does: watermarked
    (made now when it is not yet); when it cannot be made, no cover rather than the clean one."""
    watermarked_link = links[1]
    watermarked_link.expires_at, watermarked_link.remind_days = timezone.now() + timedelta(days=2), 3
    watermarked_link.save()
    set_watermark(client, gallery.owner, watermark_position="bottom-right", watermark_opacity=60)
    cover = gallery.cover_or_first_photo()
    clean = default_storage.open(cover.thumbnail_object_key).read()
    client.force_login(gallery.owner)

    response = client.post(
        reverse("sharing:share_link_send", args=[watermarked_link.pk]), {"emails": "ana@example.com"}
    )
    assert response.status_code == 302
    assert send_reminder.call(str(watermarked_link.pk), "ana@example.com")
    for message in mail.outbox:
        assert_marked(clean, message.inline_images["cover"], "bottom-right")

    set_watermark(client, gallery.owner, watermark_position="tiled")  # a new version, not made yet
    default_storage.delete(cover.preview_object_key)  # what it is made from
    client.force_login(gallery.owner)
    client.post(reverse("sharing:share_link_send", args=[watermarked_link.pk]), {"emails": "ben@example.com"})
    assert mail.outbox[-1].to == ["ben@example.com"] and mail.outbox[-1].inline_images == {}


def test_a_date_revalidation_never_keeps_a_clean_copy_after_the_link_starts_watermarking(client, gallery, links):
    """Watermarked renditions have no Last-Modified: the photo's upload time says nothing about
    when the link was switched or the watermark changed, so an If-Modified-Since alone gets it."""
    clean_link = links[0]
    photo = gallery.photos.get(original_filename="IMG_0001.jpg")
    urls = [
        reverse(name, args=[clean_link.pk, photo.pk, *size])
        for name, *size in [
            ("sharing:public_thumbnail",),
            ("sharing:public_preview",),
            ("sharing:public_size", "480.webp"),
        ]
    ]
    before = [client.get(url) for url in urls]
    clean_link.watermark = True
    clean_link.save()

    for url, clean in zip(urls, before, strict=True):
        after = client.get(url, headers={"If-Modified-Since": clean["Last-Modified"]})
        assert_marked(body(clean), body(after), "center")
        assert "Last-Modified" not in after


def test_a_watermarking_task_queued_for_a_replaced_watermark_does_nothing(client, gallery, links, stored_keys):
    """A photographer who changes their watermark every second queues a task per change: only the
    current version's renders the gallery; the others return at once."""
    replaced = gallery.owner.watermark_version
    set_watermark(client, gallery.owner, watermark_position="tiled")  # its tasks not run (no commit)

    assert make_watermarked.call(str(gallery.pk), None, False, replaced) == 0
    assert stored_keys(f"{gallery.pk}/watermarked/") == []
    assert make_watermarked.call(str(gallery.pk), None, False, gallery.owner.watermark_version) > 0
    assert stored_keys(f"{gallery.pk}/watermarked/")


# One watermarking run per gallery at a time (galleries.tasks.make_watermarked, WatermarkRun)


@pytest.mark.django_db(transaction=True)
def test_two_watermark_runs_at_once_make_every_rendition_exactly_once(gallery, monkeypatch):
    """Two saves of the watermark, or a save while the worker is busy: two whole-gallery runs at
    once on PostgreSQL, each in its own thread and connection. The second finds the first at work
    on the same watermark and returns at once; the first makes everything, once."""
    made = []
    first_at_work, second_done = threading.Event(), threading.Event()
    make = watermarks.make

    def counted(photo, photographer, names):
        made.extend((photo.pk, name) for name in names)
        first_at_work.set()
        second_done.wait(10)
        return make(photo, photographer, names)

    def run():
        try:
            return make_watermarked.call(str(gallery.pk), None, False, gallery.owner.watermark_version)
        finally:
            connection.close()

    monkeypatch.setattr(watermarks, "make", counted)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(run)
        assert first_at_work.wait(10)
        assert pool.submit(run).result(10) == 0
        second_done.set()
        assert first.result(30) == len(made)
    expected = [(photo.pk, name) for photo in gallery.photos.all() for name in watermarks.names_of(photo)]
    assert sorted(made) == sorted(expected) and len(made) > 2
    assert not WatermarkRun.objects.exists()  # released


def test_a_run_the_running_one_does_not_cover_is_queued_again_and_a_dead_run_is_taken_over(
    gallery, settings, stored_keys
):
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}
    version = gallery.owner.watermark_version
    WatermarkRun.objects.create(gallery=gallery, version=version, full_size=False, beat_at=timezone.now())

    assert make_watermarked.call(str(gallery.pk), None, False, version) == 0  # the running one does this
    assert not DBTaskResult.objects.exists()
    assert make_watermarked.call(str(gallery.pk), None, True, version) == 0  # it makes no full-size JPEGs
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == make_watermarked.module_path
    assert queued.args_kwargs["args"] == [str(gallery.pk), None, True, version]
    assert queued.run_after > timezone.now() + timedelta(seconds=20)
    assert stored_keys(f"{gallery.pk}/watermarked/") == []  # nothing done twice meanwhile
    make_watermarked.call(str(gallery.pk), None, True, version)  # saves in a row: queued once
    assert DBTaskResult.objects.count() == 1

    WatermarkRun.objects.update(beat_at=timezone.now() - WatermarkRun.STALE)  # its worker stopped
    assert make_watermarked.call(str(gallery.pk), None, True, version) > 0
    assert PhotoCopy.objects.filter(photo__gallery=gallery, kind="watermarked-jpeg").count() == 2
    assert not WatermarkRun.objects.exists()


def test_saving_a_link_queues_work_only_when_what_its_copies_are_changes(
    gallery, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}

    def queued_by(save):
        before = DBTaskResult.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            save()
        return DBTaskResult.objects.count() - before

    link = ShareLinkFactory.build(gallery=gallery, download_size="jpeg", watermark=True)
    assert queued_by(link.save) > 0  # a new link's copies are made by the worker
    link.label = "Family"
    assert queued_by(link.save) == 0
    assert queued_by(ShareLink.objects.get(pk=link.pk).save) == 0
    link.download_size = "web"
    assert queued_by(link.save) == 1  # the watermarked web sizes


def test_a_run_stops_when_the_watermark_changes_under_it(gallery, monkeypatch):
    monkeypatch.setattr(tasks, "WATERMARK_RUN_PHOTOS", 1)
    made = []
    make_missing = watermarks.make_missing

    def then_changed(photos, photographer):
        made.extend(photos)
        type(photographer).objects.filter(pk=photographer.pk).update(watermark_position="tiled")
        return make_missing(photos, photographer)

    monkeypatch.setattr(watermarks, "make_missing", then_changed)
    assert make_watermarked.call(str(gallery.pk), None, False, gallery.owner.watermark_version) > 0
    assert len(made) == 1 < gallery.photos.count()  # the new watermark's run does the rest
