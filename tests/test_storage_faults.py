"""S3 down, hung or back again, with a real SeaweedFS server of these tests' own.

Pages never touch S3 (image URLs are our own views that redirect to signed URLs), so they keep
working. What needs S3 fails quickly and cleanly with a 503, leaves no row, and works again once
the server is back. The session's S3 server is never stopped or paused.
"""

import copy
import hashlib
import time
import zipfile
from io import BytesIO

import boto3
import pytest
from botocore.config import Config
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from galleries.models import PendingDeletion, Photo, Upload
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import STORAGE_UNAVAILABLE, store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.http import ResumableUploader, upload
from testing.photos import image_bytes
from testing.services import S3_ACCESS_KEY, S3_SECRET_KEY, S3Server

pytestmark = pytest.mark.django_db

# Production has 2 s to connect, 3 s to read and 2 attempts; these tests use smaller numbers
# and one attempt to stay quick: what they check is that the wait is bounded by these settings.
# A PUT waits up to 1 s more for "100 Continue" before it sends its body (botocore).
CONNECT_TIMEOUT, READ_TIMEOUT, ATTEMPTS = 1, 1, 1
BOUND = (CONNECT_TIMEOUT + 1 + READ_TIMEOUT) * ATTEMPTS + 1  # one storage call, with some slack
# /healthz/ and the ZIP's pre-flight use PhotoS3Storage.quick_client (1 s, 2 s, one try),
# whose HEAD Bucket botocore sends twice when it times out.
QUICK_CHECK_BOUND = (1 + 2) * 2 + 1


def s3_storage_settings(settings, server, *, connect_timeout=1, read_timeout=2, max_attempts=1):
    """Point photo storage at `server`, with short timeouts so a dead server fails fast."""
    storages = copy.deepcopy(settings.STORAGES)
    options = storages["default"]["OPTIONS"]
    options.update(
        bucket_name=server.bucket,
        endpoint_url=server.endpoint_url,
        client_config=Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            signature_version="s3v4",
            s3={"addressing_style": "path"},
        ),
    )
    settings.STORAGES = storages
    return options


@pytest.fixture(scope="module")
def module_s3():
    server = FaultyS3(bucket="viewport-faults").start()
    yield server
    server.cleanup()


class FaultyS3(S3Server):
    def start(self):
        """Start, and wait until a write goes through: a fresh or restarted SeaweedFS answers
        before its volume server takes writes, and the first write can take a few seconds."""
        super().start()
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=S3_SECRET_KEY,
            region_name="us-east-1",
            config=Config(connect_timeout=1, read_timeout=10, retries={"max_attempts": 5, "mode": "standard"}),
        )
        client.put_object(Bucket=self.bucket, Key="warm-up", Body=b"ok")
        return self


@pytest.fixture
def s3(settings, module_s3):
    """Photo storage on a server of our own, running when the test starts; the test may stop or
    hang it."""
    if module_s3.process is None:
        module_s3.start()
    module_s3.resume()
    s3_storage_settings(
        settings, module_s3, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, max_attempts=ATTEMPTS
    )
    yield module_s3
    if module_s3.process is not None:
        module_s3.resume()


@pytest.fixture
def shared(client, s3):
    gallery = GalleryFactory(name="Smith wedding")
    photos = [store_photo(gallery, jpeg_upload(f"IMG_{n}.jpg", width=200, height=150)) for n in range(2)]
    client.force_login(gallery.owner)
    return gallery, photos, ShareLinkFactory(gallery=gallery)


def stored_keys(gallery):
    return sorted(default_storage.list_keys(f"{gallery.pk}/"))


def timed(call, *args, **kwargs):
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


def assert_pages_answer_quickly(client, gallery, photos, link):
    photo = photos[0]
    expected = {
        reverse("galleries:gallery_list"): 200,
        reverse("galleries:gallery_detail", args=[gallery.pk]): 200,
        reverse("sharing:share_link_list"): 200,
        reverse("sharing:public_gallery", args=[link.pk]): 200,
        reverse("sharing:public_photo", args=[link.pk, photo.pk]): 200,
        # Downloads redirect to signed URLs: signing is local arithmetic, no request to S3.
        reverse("galleries:photo_download", args=[gallery.pk, photo.pk]): 302,
        reverse("sharing:photo_download", args=[link.pk, photo.pk]): 302,
    }
    for url, status in expected.items():
        response, seconds = timed(client.get, url)
        assert response.status_code == status, url
        assert seconds < 1, f"{url} took {seconds:.1f} s"
    # Thumbnails and previews pass through the app: the first fails within the quick check's
    # bound, and for a few seconds the others fail at once instead of each waiting.
    renditions = [
        reverse("galleries:photo_thumbnail", args=[gallery.pk, photo.pk]),
        reverse("sharing:public_thumbnail", args=[link.pk, photo.pk]),
        reverse("sharing:public_preview", args=[link.pk, photos[1].pk]),
    ]
    for index, url in enumerate(renditions):
        response, seconds = timed(client.get, url)
        assert response.status_code == 503 and response["Retry-After"], url
        assert seconds < (QUICK_CHECK_BOUND if index == 0 else 0.5), f"{url} took {seconds:.1f} s"


def assert_upload_refused_cleanly(client, gallery):
    rows = Photo.objects.count()
    response, seconds = timed(upload, client, gallery, jpeg_upload())
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    [error] = response.json()["errors"]
    assert "storage is unavailable" in error["message"] and "Nothing was saved" in error["message"]
    assert Photo.objects.count() == rows  # no row without its files
    return seconds


def healthz(client):
    """Status and checks of /healthz/ (without the task queue's backlog, which is not a check)."""
    response = client.get(reverse("healthz"))
    body = response.json()
    body.pop("queue")
    return response.status_code, body


def test_when_s3_hangs_requests_return_within_the_timeouts_and_all_recovers(client, shared, s3):
    gallery, photos, link = shared
    s3.pause()

    assert_pages_answer_quickly(client, gallery, photos, link)
    # An upload writes (times out), then deletes what it may have written (times out too).
    assert assert_upload_refused_cleanly(client, gallery) < 2 * BOUND
    (status, body), seconds = timed(healthz, client)
    assert status == 503 and body["storage"].startswith("error")
    assert seconds < QUICK_CHECK_BOUND

    s3.resume()
    assert healthz(client)[0] == 200
    assert upload(client, gallery, jpeg_upload()).status_code == 200
    assert gallery.photos.count() == 3
    call_command("retry_storage_deletes")
    assert stored_keys(gallery) == sorted(gallery.photos.all().object_keys())


def test_when_s3_is_down_pages_work_uploads_fail_cleanly_and_all_recovers(client, shared, s3):
    gallery, photos, link = shared
    s3.stop()

    assert_pages_answer_quickly(client, gallery, photos, link)
    assert assert_upload_refused_cleanly(client, gallery) < BOUND
    # Without JavaScript: back to the gallery, with the same message.
    response = upload(client, gallery, jpeg_upload(), json=False, follow=True)
    assert response.status_code == 200
    assert any("storage is unavailable" in str(message) for message in response.context["messages"])
    assert gallery.photos.count() == 2
    status, body = healthz(client)
    assert status == 503 and body["database"] == "ok" and body["storage"].startswith("error")

    s3.start()
    assert healthz(client) == (200, {"status": "ok", "database": "ok", "storage": "ok"})
    assert upload(client, gallery, jpeg_upload()).status_code == 200
    assert gallery.photos.count() == 3
    # Nothing the failed uploads may have written is left behind once pending deletes are retried.
    call_command("retry_storage_deletes")
    assert stored_keys(gallery) == sorted(gallery.photos.all().object_keys())


def test_zip_download_works_on_our_own_server(client, shared):
    gallery, photos, link = shared
    response = client.get(reverse("sharing:zip_download", args=[link.pk]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["IMG_0.jpg", "IMG_1.jpg"]


def test_a_failed_storage_delete_is_retried_until_the_objects_are_gone(
    client, shared, s3, django_capture_on_commit_callbacks
):
    gallery, photos, link = shared
    keys = sorted(gallery.photos.all().object_keys())
    assert stored_keys(gallery) == keys and len(keys) == sum(len(photo.rendition_keys) for photo in photos)
    s3.stop()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("galleries:gallery_delete", args=[gallery.pk]))
    assert response.status_code == 302
    assert sorted(PendingDeletion.objects.values_list("object_key", flat=True)) == keys
    with pytest.raises(SystemExit):  # still down: the command says so with its exit status
        call_command("retry_storage_deletes")
    assert PendingDeletion.objects.get(object_key=keys[0]).attempts == 2

    s3.start()
    assert stored_keys(gallery) == keys  # the objects outlived the rows...
    call_command("retry_storage_deletes")
    assert stored_keys(gallery) == []  # ...until the retry
    assert not PendingDeletion.objects.exists()


def test_zip_download_when_s3_is_down_is_a_503_before_streaming(client, shared, s3):
    gallery, photos, link = shared
    s3.stop()
    response, seconds = timed(client.get, reverse("sharing:zip_download", args=[link.pk]))
    assert seconds < QUICK_CHECK_BOUND
    assert response.status_code == 503 and not response.streaming
    assert response["Retry-After"] == "30"
    assert b"Photo storage is unavailable" in response.content
    assert response["Content-Security-Policy"]  # the error page is a page like any other
    link.refresh_from_db()
    assert link.zip_downloads == 0


def test_deleting_a_gallery_while_s3_hangs_answers_quickly_and_deletes_later(
    client, shared, s3, django_capture_on_commit_callbacks
):
    gallery, photos, link = shared
    keys = sorted(gallery.photos.all().object_keys())
    s3.pause()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response, seconds = timed(client.post, reverse("galleries:gallery_delete", args=[gallery.pk]))
    finally:
        s3.resume()
    assert response.status_code == 302
    assert seconds < QUICK_CHECK_BOUND
    assert sorted(PendingDeletion.objects.values_list("object_key", flat=True)) == keys
    call_command("retry_storage_deletes")
    assert stored_keys(gallery) == []


def test_a_logo_sent_while_s3_hangs_is_a_503_that_keeps_the_form_and_leaves_nothing(client, shared, s3):
    gallery, _photos, link = shared
    s3.pause()

    logo = SimpleUploadedFile("logo.png", image_bytes(600, 200, "PNG"))
    response, seconds = timed(client.post, reverse("accounts:branding"), {"brand_name": "Lena Hart", "logo": logo})

    assert response.status_code == 503 and seconds < 2 * BOUND
    assert "the logo could not be stored and nothing was saved" in response.text
    assert 'value="Lena Hart"' in response.text  # what was typed is still in the form
    gallery.owner.refresh_from_db()
    assert (gallery.owner.brand_name, gallery.owner.logo_key) == ("", "")
    assert client.get(link.get_absolute_url()).status_code == 200  # clients' pages go on

    s3.resume()
    call_command("retry_storage_deletes")
    assert list(default_storage.list_keys(f"brands/{gallery.owner.pk}/")) == []


def test_a_resumable_upload_answers_within_10_s_while_s3_hangs_and_resumes_once_it_is_back(client, s3, settings):
    # Production's timeouts (2 s to connect, 3 s to read); uploads' own client tries once.
    s3_storage_settings(settings, s3, connect_timeout=2, read_timeout=3, max_attempts=2)
    gallery = GalleryFactory(name="Hung")
    client.force_login(gallery.owner)
    uploader = ResumableUploader(client, gallery)
    photo = image_bytes(300, 200)

    s3.pause()
    began = time.monotonic()
    started = uploader.start("IMG_0001.jpg", photo)
    assert time.monotonic() - began < 10
    assert started.status_code == 503 and started["Retry-After"]
    assert started.json()["error"] == STORAGE_UNAVAILABLE
    assert not Upload.objects.exists()

    s3.resume()
    answer = uploader.start("IMG_0001.jpg", photo).json()
    assert uploader.put_part(answer["parts"][0], photo, answer["part_size"]) == 200
    s3.pause()
    began = time.monotonic()
    completed = uploader.complete(answer["upload_id"])
    assert time.monotonic() - began < 10
    assert completed.status_code == 503 and completed.json()["error"] == STORAGE_UNAVAILABLE
    assert Upload.objects.get().status == "uploading"  # nothing half-done: the parts wait in storage

    s3.resume()
    assert stored_keys(gallery) == []
    completed = uploader.complete(answer["upload_id"])
    assert completed.status_code == 202, completed.content
    assert Photo.objects.get(pk=completed.json()["photo_id"]).sha256 == hashlib.sha256(photo).hexdigest()
