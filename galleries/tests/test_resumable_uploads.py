"""Resumable uploads (galleries/uploads.py) on the S3 server and on local storage: parts that go
to the bucket itself (or to our part endpoint), a connection dropped mid-part, a reload that
resumes, duplicates, wrong hashes, quotas, abandoned uploads and files that are no photos."""

import copy
import hashlib
import io
import os
import threading
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from PIL import Image

from galleries.models import Photo, PhotoSet, Upload, UploadStatus
from galleries.storage import NoSuchUpload
from galleries.tasks import make_uploaded_photo, resume_stuck_uploads
from galleries.tests.factories import GalleryFactory, image_bytes, jpeg_upload
from galleries.tests.test_upload_formats import FORMATS, assert_stored
from galleries.uploads import (
    HASH_MISMATCH,
    KILLS_THE_WORKER,
    ORIGINAL_LOST,
    STORAGE_RETRIES,
    STORAGE_UNAVAILABLE,
    _size_texts,
    abort_abandoned,
    make_photo,
    resume_stuck,
    storage_used,
    store_photo,
)
from testing.http import ResumableUploader, put, upload
from testing.photos import photo_bytes
from testing.proxy import CuttingProxy
from testing.services import create_bucket

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big_png():
    """A real photo of ~11 MB (noise does not compress): three parts of 5 MiB."""
    picture = Image.frombytes("RGB", (2000, 1900), os.urandom(2000 * 1900 * 3))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def small_parts(settings):
    settings.VIEWPORT_UPLOAD_PART_SIZE = 5 * MiB


def storage_options(settings):
    """The photo storage's options, to change for this test only (a copy: the settings fixture
    puts back the old value, not what was changed inside it)."""
    settings.STORAGES = copy.deepcopy(settings.STORAGES)
    return settings.STORAGES["default"]["OPTIONS"]


def stored_original(photo):
    return b"".join(default_storage.iter_chunks(photo.object_key))


def test_a_file_goes_up_in_parts_becomes_a_photo_and_is_skipped_when_dropped_again(
    client, gallery, photo_storage, big_png
):
    uploader = ResumableUploader(client, gallery)
    started = uploader.start("DSC_0001.png", big_png)
    assert started.status_code == 201
    answer = started.json()
    assert answer["status"] == "new" and answer["part_size"] == 5 * MiB
    assert [part["number"] for part in answer["parts"]] == [1, 2, 3]
    if photo_storage == "s3":  # straight to the bucket, signed for a PUT of that part
        assert all(part["url"].startswith(default_storage.endpoint_url) for part in answer["parts"])
        assert all("X-Amz-Signature=" in part["url"] and "partNumber=" in part["url"] for part in answer["parts"])
    for part in answer["parts"]:
        assert uploader.put_part(part, big_png, answer["part_size"]) == 200

    completed = uploader.complete(answer["upload_id"])
    assert completed.status_code == 202, completed.content
    assert completed.json()["status"] == "done"  # "processing" with a worker; the tests' tasks run at once
    photo = Photo.objects.get(pk=completed.json()["photo_id"])  # the tests' task backend runs it at once
    assert stored_original(photo) == big_png
    assert photo.sha256 == hashlib.sha256(big_png).hexdigest()
    assert (photo.original_filename, photo.file_size, photo.width, photo.content_type) == (
        "DSC_0001.png",
        len(big_png),
        2000,
        "image/png",
    )
    status = client.get(reverse("galleries:upload_status", args=[gallery.pk, answer["upload_id"]])).json()
    assert status["status"] == "done"
    assert status["thumbnail_url"] == reverse("galleries:photo_thumbnail", args=[gallery.pk, photo.pk])
    assert client.get(status["thumbnail_url"]).status_code in (200, 302)

    again = uploader.start("copy of DSC_0001.png", big_png)
    assert again.status_code == 200
    assert again.json() == {"status": "exists", "photo_id": str(photo.pk)}
    assert gallery.photos.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_mid_part_and_a_reload_resend_only_what_is_missing(
    live_server, photo_storage, big_png, settings
):
    gallery = GalleryFactory()
    client = Client()
    client.force_login(gallery.owner)
    s3_port = photo_storage == "s3" and int(default_storage.endpoint_url.rsplit(":", 1)[1])
    target = s3_port or live_server.thread.port
    proxy = CuttingProxy(target).start()
    if photo_storage == "s3":  # browsers reach the bucket through the proxy: part URLs are signed for it
        storage_options(settings)["public_endpoint_url"] = proxy.url
    uploader = ResumableUploader(client, gallery, base_url=proxy.url)
    try:
        answer = uploader.start("DSC_0002.png", big_png).json()
        part_size = answer["part_size"]
        assert uploader.put_part(answer["parts"][0], big_png, part_size) == 200
        proxy.cut_after(2 * MiB)  # the Wi-Fi drops two MiB into part 2
        with pytest.raises(OSError):
            uploader.put_part(answer["parts"][1], big_png, part_size)
        assert proxy.cuts == 1

        # The page is reloaded and the file dropped again: the same upload, parts 2 and 3 to go.
        resumed = uploader.start("DSC_0002.png", big_png)
        assert resumed.status_code == 200
        assert resumed.json()["status"] == "resume"
        assert resumed.json()["upload_id"] == answer["upload_id"]
        assert [part["number"] for part in resumed.json()["parts"]] == [2, 3]
        for part in resumed.json()["parts"]:
            assert uploader.put_part(part, big_png, part_size) == 200
        completed = uploader.complete(answer["upload_id"])
    finally:
        proxy.stop()
    assert completed.status_code == 202, completed.content
    assert uploader.sent == [1, 2, 2, 3]  # one part sent again, none twice more
    assert stored_original(Photo.objects.get(pk=completed.json()["photo_id"])) == big_png


def test_completing_with_parts_missing_names_them(client, gallery, photo_storage, big_png):
    uploader = ResumableUploader(client, gallery)
    answer = uploader.start("DSC_0003.png", big_png).json()
    uploader.put_part(answer["parts"][0], big_png, answer["part_size"])
    refused = uploader.complete(answer["upload_id"])
    assert refused.status_code == 409
    assert [part["number"] for part in refused.json()["parts"]] == [2, 3]
    assert "missing parts" in refused.json()["error"]


def test_bytes_that_do_not_match_their_hash_are_refused_and_nothing_is_kept(
    client, gallery, photo_storage, stored_keys, big_png
):
    uploader = ResumableUploader(client, gallery)
    completed = uploader.upload("DSC_0004.png", big_png, sha256=hashlib.sha256(b"another file").hexdigest())
    assert completed.status_code == 400
    assert completed.json()["error"] == HASH_MISMATCH
    assert stored_keys(f"{gallery.pk}/") == []
    assert not Upload.objects.exists() and not Photo.objects.exists()
    assert storage_used(gallery.owner) == 0


def test_a_file_that_is_no_photo_fails_on_its_tile_and_its_object_goes(client, gallery, photo_storage, stored_keys):
    data = b"%PDF-1.7 not a photo" * 1000
    completed = ResumableUploader(client, gallery).upload("contract.jpg", data)
    assert completed.status_code == 202
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.FAILED
    assert "not a photo" in upload.error
    status = client.get(reverse("galleries:upload_status", args=[gallery.pk, upload.pk])).json()
    assert status["status"] == "failed" and "not a photo" in status["error"]
    assert stored_keys(f"{gallery.pk}/") == []
    assert storage_used(gallery.owner) == 0
    page = client.get(gallery.get_absolute_url()).content.decode()
    assert "contract.jpg" in page and "not a photo" in page
    client.post(reverse("galleries:upload_dismiss", args=[gallery.pk, upload.pk]))
    assert "contract.jpg" not in client.get(gallery.get_absolute_url()).content.decode()


def test_uploads_abandoned_for_a_day_are_aborted_and_free_their_quota(client, gallery, photo_storage, big_png):
    uploader = ResumableUploader(client, gallery)
    answer = uploader.start("DSC_0005.png", big_png).json()
    uploader.put_part(answer["parts"][0], big_png, answer["part_size"])
    upload = Upload.objects.get()
    assert storage_used(gallery.owner) == len(big_png)

    assert abort_abandoned() == 0  # moved on a moment ago
    assert abort_abandoned(now=timezone.now() + timedelta(hours=25)) >= 1  # S3: other tests' leftovers too
    assert not Upload.objects.exists()
    with pytest.raises(NoSuchUpload):
        default_storage.stored_parts(upload.object_key, upload.storage_upload_id)
    assert storage_used(gallery.owner) == 0
    assert uploader.start("DSC_0005.png", big_png).json()["status"] == "new"  # dropped again: from the start


def test_an_upload_over_the_quota_is_refused_before_any_byte_with_the_numbers(client, gallery, photo_storage):
    gallery.owner.storage_quota = 6 * 1000**3
    gallery.owner.save()
    for n in range(3):  # 5.9 GB of photos (made up: no file is read)
        Photo.objects.create(
            gallery=gallery, object_key=f"{n}.jpg", thumbnail_object_key="t.jpg", file_size=1_966_666_667
        )
    refused = ResumableUploader(client, gallery).start("DSC_0006.jpg", b"x" * 150_000_000)
    assert refused.status_code == 413
    assert "5.9 GB of 6 GB used; this file is 150 MB" in refused.json()["error"]
    assert not Upload.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_ten_parallel_uploads_never_pass_the_quota_together(photo_storage):
    gallery = GalleryFactory()
    gallery.owner.storage_quota = 3 * 1000
    gallery.owner.save()
    answers, barrier = [], threading.Barrier(10)

    def start(n):
        client = Client()
        client.force_login(gallery.owner)
        barrier.wait()
        answers.append(ResumableUploader(client, gallery).start(f"IMG_{n}.jpg", bytes([n]) * 1000).status_code)
        connection.close()

    threads = [threading.Thread(target=start, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201] * 3 + [413] * 7
    assert Upload.objects.count() == 3
    assert storage_used(gallery.owner) == 3000


def test_set_bucket_cors_lets_the_sites_pages_put_parts_and_no_other_site(photo_storage, settings):
    if photo_storage != "s3":
        output = io.StringIO()
        call_command("set_bucket_cors", stdout=output)
        assert "no CORS rule is needed" in output.getvalue()
        return
    # A bucket of its own: the suite's pages PUT parts to the shared one from any port.
    bucket = create_bucket(default_storage.endpoint_url, f"cors-{uuid.uuid4().hex[:12]}")
    storage_options(settings)["bucket_name"] = bucket
    settings.VIEWPORT_SITE_URL = "https://photos.example.com"
    client = default_storage.connection.meta.client
    call_command("set_bucket_cors", stdout=io.StringIO())
    rules = client.get_bucket_cors(Bucket=default_storage.bucket_name)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://photos.example.com"]
    assert rules[0]["AllowedMethods"] == ["PUT"] and rules[0]["ExposeHeaders"] == ["ETag"]

    def preflight(origin):
        request = urllib.request.Request(
            f"{default_storage.endpoint_url}/{default_storage.bucket_name}/x/part",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "PUT"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.headers.get("Access-Control-Allow-Origin")
        except urllib.error.HTTPError as error:
            return error.headers.get("Access-Control-Allow-Origin")

    assert preflight("https://photos.example.com") == "https://photos.example.com"
    assert preflight("https://elsewhere.example") is None


def test_the_dashboard_shows_storage_used_and_deleting_photos_frees_it_at_once(client, gallery, photo_storage):
    gallery.owner.storage_quota = 6 * 1000**3
    gallery.owner.save()
    photo = store_photo(gallery, jpeg_upload("IMG_0001.jpg"))
    page = client.get(reverse("galleries:gallery_list")).content.decode()
    used_text = _size_texts(photo.file_size)[0]
    assert f"Storage: {used_text} of 6 GB used" in page
    assert f'max="{6 * 1000**3}"' in page and f'value="{photo.file_size}"' in page

    client.post(reverse("galleries:photo_delete", args=[gallery.pk]), {"photo_ids": [photo.pk]})
    assert storage_used(gallery.owner) == 0
    assert "Storage: 0 bytes of 6 GB used" in client.get(reverse("galleries:gallery_list")).content.decode()


def test_one_broken_file_in_fifty_fails_alone(client, gallery, photo_storage, stored_keys):
    uploader = ResumableUploader(client, gallery)
    answers = {}
    for n in range(50):
        data = image_bytes(64, 48, color=(n * 5, 80, 40))
        answers[n] = uploader.upload(f"IMG_{n:04}.jpg", data[: len(data) // 2] if n == 17 else data).json()
    assert [n for n, answer in answers.items() if answer["status"] != "done"] == [17]
    assert "damaged" in answers[17]["error"]
    assert gallery.photos.count() == 49
    assert stored_keys(f"{gallery.pk}/") == sorted(gallery.photos.all().object_keys())


@pytest.mark.parametrize("name, format, bits, alpha, content_type", FORMATS, ids=[row[0] for row in FORMATS])
def test_every_format_past_the_preview_size_is_stored_byte_for_byte_with_its_renditions(
    client, gallery, photo_storage, name, format, bits, alpha, content_type
):
    original = photo_bytes(format, 3000, 2000, bits=bits, alpha=alpha)
    answer = ResumableUploader(client, gallery).upload(name, original).json()
    assert answer["status"] == "done", answer
    assert_stored(Photo.objects.get(pk=answer["photo_id"]), original, content_type, (3000, 2000))


def test_a_file_dropped_while_a_set_is_open_goes_into_that_set(client, gallery, photo_storage):
    ceremony = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    answer = ResumableUploader(client, gallery).upload("vows.jpg", image_bytes(64, 48), set_id=str(ceremony.pk))
    assert Photo.objects.get(pk=answer.json()["photo_id"]).photo_set == ceremony
    other = GalleryFactory(owner=gallery.owner)
    elsewhere = PhotoSet.objects.create(gallery=other, name="Elsewhere")
    refused = ResumableUploader(client, gallery).start("rings.jpg", image_bytes(48, 64), set_id=str(elsewhere.pk))
    assert refused.status_code == 400 and refused.json()["error"] == "That set is not in this gallery."


def test_the_plain_form_keeps_the_quota_file_by_file(client, gallery, photo_storage, stored_keys):
    first, second, third = (image_bytes(64, 48, color=(n * 60, 80, 40)) for n in range(3))
    gallery.owner.storage_quota = len(first) + len(second) + len(third) - 1
    gallery.owner.save()
    answer = upload(
        client,
        gallery,
        *(SimpleUploadedFile(f"IMG_{n}.jpg", data) for n, data in enumerate((first, second, third))),
    )
    assert answer.status_code == 200
    assert [photo["file_name"] for photo in answer.json()["photos"]] == ["IMG_0.jpg", "IMG_1.jpg"]
    [error] = answer.json()["errors"]
    assert error["file_name"] == "IMG_2.jpg"
    assert error["message"].startswith("Not enough storage left:") and "this file is" in error["message"]
    assert storage_used(gallery.owner) == len(first) + len(second) <= gallery.owner.storage_quota
    assert stored_keys(f"{gallery.pk}/") == sorted(gallery.photos.all().object_keys())


def test_a_part_url_takes_only_its_parts_length_and_oversized_parts_abort_the_upload(
    client, gallery, photo_storage, stored_keys, big_png
):
    uploader = ResumableUploader(client, gallery)
    answer = uploader.start("DSC_0007.png", big_png).json()
    upload = Upload.objects.get()
    last = answer["parts"][-1]
    if photo_storage == "s3":  # the bucket itself refuses a body of another length than signed
        assert "content-length" in last["url"]
        assert put(last["url"], b"x" * (5 * MiB))[0] == 403
        assert put(last["url"], b"x")[0] == 403
        assert default_storage.stored_parts(upload.object_key, upload.storage_upload_id) == {}
        # An oversized part sent with a URL of before (signed for the host only) aborts the upload.
        unsigned_length = default_storage._signed_url(
            "PUT", upload.object_key, {"partNumber": "3", "uploadId": upload.storage_upload_id}, 3600
        )
        assert put(unsigned_length, b"x" * (6 * MiB))[0] == 200
    else:
        assert uploader.client.put(last["url"], b"x" * (5 * MiB), content_type="x").status_code == 400
        default_storage.write_part(upload.storage_upload_id, 3, io.BytesIO(b"x" * (6 * MiB)), 6 * MiB)
    for part in answer["parts"][:2]:
        assert uploader.put_part(part, big_png, answer["part_size"]) == 200
    refused = uploader.complete(answer["upload_id"])
    assert refused.status_code == 400
    assert "larger than" in refused.json()["error"]
    assert not Upload.objects.exists() and storage_used(gallery.owner) == 0
    with pytest.raises(NoSuchUpload):
        default_storage.stored_parts(upload.object_key, upload.storage_upload_id)
    assert stored_keys(f"{gallery.pk}/") == []


def test_uploads_are_aborted_after_a_week_whatever_their_parts_and_a_photographer_has_a_limit(
    client, gallery, photo_storage, big_png, settings
):
    uploader = ResumableUploader(client, gallery)
    answer = uploader.start("DSC_0008.png", big_png).json()
    upload = Upload.objects.get()
    Upload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(days=8))
    uploader.put_part(answer["parts"][0], big_png, answer["part_size"])  # parts still moving today
    assert uploader.start("DSC_0008.png", big_png).json()["status"] == "resume"
    assert abort_abandoned() >= 1
    assert not Upload.objects.exists()
    with pytest.raises(NoSuchUpload):
        default_storage.stored_parts(upload.object_key, upload.storage_upload_id)

    settings.VIEWPORT_MAX_UNFINISHED_UPLOADS = 2
    other_gallery = GalleryFactory(owner=gallery.owner)
    assert uploader.start("a.png", b"a" * 100).status_code == 201
    assert ResumableUploader(client, other_gallery).start("b.png", b"b" * 100).status_code == 201
    refused = uploader.start("c.png", b"c" * 100)
    assert refused.status_code == 429
    assert "2 files are being uploaded" in refused.json()["error"]
    assert uploader.start("a.png", b"a" * 100).json()["status"] == "resume"  # resuming is no new upload


@pytest.mark.django_db(transaction=True)
def test_parallel_completes_make_one_photo_and_a_late_worker_leaves_it_done(photo_storage, big_png):
    gallery = GalleryFactory()
    owner_client = Client()
    owner_client.force_login(gallery.owner)
    uploader = ResumableUploader(owner_client, gallery)
    answer = uploader.start("DSC_0009.png", big_png).json()
    for part in answer["parts"]:
        assert uploader.put_part(part, big_png, answer["part_size"]) == 200
    stale = Upload.objects.get()  # as a second worker read it, before the first made the photo
    answers, barrier = [], threading.Barrier(4)

    def complete():
        client = Client(raise_request_exception=False)
        client.force_login(gallery.owner)
        barrier.wait()
        response = ResumableUploader(client, gallery).complete(answer["upload_id"])
        answers.append((response.status_code, response.json().get("status")))
        connection.close()

    threads = [threading.Thread(target=complete) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _ in answers] == [202] * 4, answers
    assert {status for _, status in answers} <= {"processing", "done"}
    photo = Photo.objects.get()
    assert stored_original(photo) == big_png
    assert Upload.objects.get().status == UploadStatus.DONE

    stale.status = UploadStatus.PROCESSING
    assert make_photo(stale) == photo  # the photo exists: this worker's copy is dropped, not a failure
    assert Upload.objects.get().status == UploadStatus.DONE
    assert stored_original(photo) == big_png and client_sees_thumbnail(owner_client, photo)


def client_sees_thumbnail(client, photo):
    return client.get(reverse("galleries:photo_thumbnail", args=[photo.gallery_id, photo.pk])).status_code in (200, 302)


def test_the_plain_form_skips_a_file_the_gallery_has_already(client, gallery, photo_storage, stored_keys):
    first, other = image_bytes(64, 48, color=(10, 80, 40)), image_bytes(64, 48, color=(200, 80, 40))
    stored = upload(client, gallery, SimpleUploadedFile("IMG_1.jpg", first)).json()["photos"][0]
    again = upload(
        client,
        gallery,
        SimpleUploadedFile("copy of IMG_1.jpg", first),
        SimpleUploadedFile("IMG_2.jpg", other),
        SimpleUploadedFile("IMG_2 again.jpg", other),
    )
    assert again.status_code == 200
    assert [photo["file_name"] for photo in again.json()["photos"]] == ["IMG_2.jpg"]
    assert again.json()["skipped"] == [
        {"file_name": "copy of IMG_1.jpg", "photo_id": stored["id"]},
        {"file_name": "IMG_2 again.jpg", "photo_id": again.json()["photos"][0]["id"]},
    ]
    assert again.json()["errors"] == []
    only_copy = upload(client, gallery, SimpleUploadedFile("IMG_1.jpg", first), json=False, follow=True)
    assert "IMG_1.jpg: Already in this gallery: skipped." in only_copy.content.decode()
    assert gallery.photos.count() == 2
    assert stored_keys(f"{gallery.pk}/") == sorted(gallery.photos.all().object_keys())


def test_storage_failing_while_the_photo_is_made_keeps_the_original_for_a_retry(
    client, gallery, photo_storage, stored_keys, monkeypatch
):
    data = image_bytes(64, 48)
    storage = storages["default"]  # default_storage's object, for this test's storage

    def storage_down(key):
        raise ConnectionError("storage went away")

    monkeypatch.setattr(storage, "local_copy", storage_down)
    completed = ResumableUploader(client, gallery).upload("IMG_0010.jpg", data)
    assert completed.status_code == 202 and completed.json()["status"] == "processing"
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.PROCESSING
    assert stored_keys(f"{gallery.pk}/") == [upload.object_key]  # the original waits for the retry

    monkeypatch.undo()
    assert make_uploaded_photo.call(str(upload.pk), 1)  # storage is back: the retry makes it
    assert Upload.objects.get().status == UploadStatus.DONE
    assert stored_original(Photo.objects.get(pk=upload.photo_id)) == data

    # Storage down at every retry, for a day: the upload fails at last and its original goes.
    monkeypatch.setattr(storage, "local_copy", storage_down)
    other = ResumableUploader(client, gallery).upload("IMG_0011.jpg", image_bytes(48, 64)).json()
    assert make_uploaded_photo.call(other["upload_id"], STORAGE_RETRIES) is None
    failed = Upload.objects.get(pk=other["upload_id"])
    assert failed.status == UploadStatus.FAILED and failed.error == STORAGE_UNAVAILABLE
    assert stored_keys(f"{gallery.pk}/") == sorted(gallery.photos.all().object_keys())


def test_photos_stuck_processing_after_their_worker_died_are_made_once_by_the_periodic_task(
    client, gallery, photo_storage, stored_keys, settings
):
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}  # queued; no worker runs
    uploader = ResumableUploader(client, gallery)
    photos = {name: image_bytes(64, 48, color=(30 * n, 90, 120)) for n, name in enumerate("ABCDE")}
    died, retrying, lost, gone = (uploader.upload(f"{name}.jpg", photos[name]).json() for name in "ABCD")
    assert {died["status"], retrying["status"], lost["status"], gone["status"]} == {"processing"}
    # E's complete was cut off after it claimed the upload, before it joined the parts.
    started = uploader.start("E.jpg", photos["E"]).json()
    for part in started["parts"]:
        uploader.put_part(part, photos["E"], started["part_size"])
    Upload.objects.filter(pk=started["upload_id"]).update(status=UploadStatus.PROCESSING)
    assert resume_stuck() == 0  # just completed, their tasks waiting: nothing is stuck

    long_ago = timezone.now() - timedelta(minutes=settings.VIEWPORT_UPLOAD_PROCESSING_MINUTES + 5)
    Upload.objects.update(updated_at=long_ago)
    tasks = DBTaskResult.objects.filter(task_path="galleries.tasks.make_uploaded_photo")
    task_of = {a["upload_id"]: tasks.get(args_kwargs__args__0=a["upload_id"]) for a in (died, lost, gone)}
    task_of[died["upload_id"]].claim("a worker killed since")  # RUNNING since long ago
    DBTaskResult.objects.filter(pk=task_of[died["upload_id"]].pk).update(started_at=long_ago)
    tasks.filter(args_kwargs__args__0=retrying["upload_id"]).update(run_after=timezone.now() + timedelta(hours=1))
    DBTaskResult.objects.filter(pk__in=[task_of[lost["upload_id"]].pk, task_of[gone["upload_id"]].pk]).delete()
    default_storage.delete(Upload.objects.get(pk=gone["upload_id"]).object_key)

    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["immediate"]}}
    assert resume_stuck_uploads.call() == 4  # all but the one whose retry is due later
    status = {
        answer["upload_id"]: Upload.objects.get(pk=answer["upload_id"]).status
        for answer in (died, retrying, lost, gone, started)
    }
    assert list(status.values()) == ["done", "processing", "done", "failed", "done"]
    assert Upload.objects.get(pk=gone["upload_id"]).error == ORIGINAL_LOST
    assert ORIGINAL_LOST in client.get(gallery.get_absolute_url()).content.decode()  # on its tile
    for name, answer in zip("ACE", (died, lost, started), strict=True):
        photo_id = Upload.objects.get(pk=answer["upload_id"]).photo_id
        assert stored_original(Photo.objects.get(pk=photo_id)) == photos[name]

    # The dead worker's task run after all, and another round, make nothing twice.
    assert make_uploaded_photo.call(died["upload_id"]) is None
    assert resume_stuck(now=timezone.now() + timedelta(hours=1)) == 0
    assert gallery.photos.count() == 3
    assert stored_keys(f"{gallery.pk}/") == sorted(
        [*gallery.photos.all().object_keys(), Upload.objects.get(pk=retrying["upload_id"]).object_key]
    )


def test_an_upload_whose_resumed_task_is_lost_too_fails_instead_of_killing_the_worker_again(
    client, gallery, photo_storage, settings
):
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}  # queued; no worker runs
    answer = ResumableUploader(client, gallery).upload("poison.jpg", image_bytes(64, 48)).json()
    long_ago = timezone.now() - timedelta(minutes=settings.VIEWPORT_UPLOAD_PROCESSING_MINUTES + 5)
    tasks = DBTaskResult.objects.filter(task_path="galleries.tasks.make_uploaded_photo")
    for round in range(2):  # the worker dies on the upload's task, then on the resumed one
        [task] = tasks.filter(status="READY")
        task.claim("a worker killed since")
        DBTaskResult.objects.filter(pk=task.pk).update(started_at=long_ago)
        Upload.objects.update(updated_at=long_ago)
        assert resume_stuck() == (1 if round == 0 else 0)
    upload = Upload.objects.get(pk=answer["upload_id"])
    assert (upload.status, upload.error) == (UploadStatus.FAILED, KILLS_THE_WORKER)
    assert KILLS_THE_WORKER in client.get(gallery.get_absolute_url()).content.decode()


def test_a_stuck_upload_whose_parts_never_all_arrived_goes_back_to_uploading(client, gallery, photo_storage, big_png):
    uploader = ResumableUploader(client, gallery)
    answer = uploader.start("DSC_0012.png", big_png).json()
    uploader.put_part(answer["parts"][0], big_png, answer["part_size"])
    Upload.objects.update(status=UploadStatus.PROCESSING, updated_at=timezone.now() - timedelta(hours=1))

    assert resume_stuck() == 1
    assert Upload.objects.get().status == UploadStatus.UPLOADING
    resumed = uploader.start("DSC_0012.png", big_png).json()
    assert resumed["status"] == "resume" and [part["number"] for part in resumed["parts"]] == [2, 3]
