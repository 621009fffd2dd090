"""Background work as production runs it: tasks queued in PostgreSQL (django-tasks-db), run by a
real `manage.py db_worker` process, e-mail delivered to a real SMTP server on loopback, periodic
work enqueued by a real `manage.py crontask` scheduler. Every task is safe to run twice."""

import uuid
from datetime import timedelta
from email.utils import parseaddr

import boto3
import pytest
from botocore.config import Config
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from galleries.images import NOT_A_PHOTO
from galleries.models import PendingDeletion
from galleries.tasks import delete_storage_objects, prune_task_results
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.models import Invitation
from sharing.tasks import send_expiry_reminders, send_invitation
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import production_env, running_database_url
from testing.http import ResumableUploader
from testing.photos import image_bytes
from testing.services import S3_ACCESS_KEY, S3_SECRET_KEY, wait_until
from testing.worker import scheduler, task_worker
from tests.test_storage_faults import FaultyS3, s3_storage_settings

pytestmark = pytest.mark.django_db(transaction=True)

SITE_URL = "https://photos.example.com"


@pytest.fixture
def queued(settings):
    """Tasks go to the database queue, as in production (the other tests run them inline)."""
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}
    settings.VIEWPORT_SITE_URL = SITE_URL


@pytest.fixture
def worker_env():
    return production_env(DATABASE_URL=running_database_url(), VIEWPORT_SITE_URL=SITE_URL)


@pytest.fixture
def worker(queued, worker_env):
    process = task_worker(worker_env).start()
    yield process
    process.stop()


def tasks_done():
    return not DBTaskResult.objects.exclude(status__in=["SUCCESSFUL", "FAILED"]).exists()


def assert_no_failed_tasks():
    failed = list(DBTaskResult.objects.failed().values_list("task_path", "traceback"))
    assert failed == []


@pytest.fixture
def photographer_gallery():
    gallery = GalleryFactory(name="Smith wedding", owner__display_name="Lena Hart Photography")
    gallery.cover_photo = store_photo(gallery, jpeg_upload("IMG_0001.jpg", width=320, height=240))
    gallery.save()
    return gallery


def test_a_sent_link_arrives_over_smtp_once_per_recipient_through_the_worker(
    client, photographer_gallery, worker, smtp_mailbox
):
    gallery = photographer_gallery
    link = ShareLinkFactory(gallery=gallery, expires_at=timezone.now() + timedelta(days=10))
    client.force_login(gallery.owner)

    response = client.post(
        reverse("sharing:share_link_send", args=[link.pk]),
        {
            "emails": "anna@example.com,\nBen@Example.com",
            "message": "Here are your photos!",
        },
    )
    assert response.status_code == 302
    assert DBTaskResult.objects.count() == 2  # queued, not sent inside the request

    messages = smtp_mailbox.wait_for(2)
    assert sorted(message["To"] for message in messages) == ["anna@example.com", "ben@example.com"]
    message = messages[0]
    assert parseaddr(message["From"])[0] == "Lena Hart Photography"
    assert message["Reply-To"] == gallery.owner.email
    assert "Smith wedding" in message["Subject"]
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"{SITE_URL}/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert f"{SITE_URL}/s/{link.pk}/" in body
        assert "Here are your photos!" in body
        assert str(link.expires_at.year) in body
    # The cover travels inside the mail as an image the HTML names by its Content-ID.
    [cover] = [part for part in message.walk() if part.get_content_type() == "image/jpeg"]
    assert cover["Content-ID"] == "<cover>" and 'src="cid:cover"' in html
    assert cover.get_content() == default_storage.open(gallery.cover_photo.thumbnail_object_key).read()

    # The same invitation queued again (a retry, a double click) sends nothing more.
    first = Invitation.objects.first()
    send_invitation.enqueue(first.pk)
    wait_until(lambda: tasks_done() and DBTaskResult.objects.count() == 3, "the repeated task", timeout=20)
    assert len(smtp_mailbox.messages()) == 2
    assert DBTaskResult.objects.order_by("-enqueued_at").first().return_value is False
    assert_no_failed_tasks()


def test_a_due_reminder_arrives_once_even_when_the_expiry_changes_back_and_forth(
    photographer_gallery, worker, smtp_mailbox
):
    link = ShareLinkFactory(gallery=photographer_gallery, expires_at=timezone.now() + timedelta(days=2), remind_days=3)
    link.set_password("secret-words")
    link.save()
    Invitation.objects.create(link=link, email="anna@example.com")
    not_due = ShareLinkFactory(
        gallery=photographer_gallery, expires_at=timezone.now() + timedelta(days=20), remind_days=3
    )
    Invitation.objects.create(link=not_due, email="ben@example.com")

    send_expiry_reminders.enqueue()
    [message] = smtp_mailbox.wait_for(1)
    assert message["To"] == "anna@example.com"
    assert "Reminder" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert f"{SITE_URL}/s/{link.pk}/" in text and "password" in text
    assert "secret-words" not in message.as_string()
    # A password link's mail shows nothing of what the password protects.
    assert not [part for part in message.walk() if part.get_content_maintype() == "image"]

    # Moved out of the reminder window and back in: still one reminder.
    link.expires_at = timezone.now() + timedelta(days=30)
    link.save()
    link.expires_at = timezone.now() + timedelta(days=1)
    link.save()
    send_expiry_reminders.enqueue()  # finds anna reminded: queues nothing
    wait_until(lambda: tasks_done() and DBTaskResult.objects.count() >= 3, "the second round", timeout=20)
    assert len(smtp_mailbox.messages()) == 1
    assert_no_failed_tasks()


def test_deleting_a_gallery_deletes_its_objects_through_the_worker(photographer_gallery, worker):
    gallery = photographer_gallery
    keys = sorted(gallery.photos.all().object_keys())
    assert sorted(default_storage.list_keys(f"{gallery.pk}/")) == keys

    gallery.delete()  # its objects are queued for deletion after the commit (and stale watermarks looked for)
    deletions = DBTaskResult.objects.filter(task_path="galleries.tasks.delete_storage_objects")
    assert deletions.count() == 1
    wait_until(tasks_done, "the task to finish", timeout=20)
    assert_no_failed_tasks()
    assert list(default_storage.list_keys(f"{gallery.pk}/")) == []
    assert deletions.get().return_value == len(keys)  # the original, thumbnail, preview and sizes

    # Run again: nothing left to delete, nothing remembered as failed.
    delete_storage_objects.enqueue(keys)
    wait_until(lambda: tasks_done() and deletions.count() == 2, "the repeated delete", timeout=20)
    assert PendingDeletion.objects.count() == 0
    assert_no_failed_tasks()


@pytest.fixture
def down_s3():
    server = FaultyS3(bucket="viewport-retry").start()
    yield server
    server.cleanup()


def test_a_failed_storage_delete_is_retried_by_the_scheduler_until_the_object_is_gone(
    settings, queued, worker_env, down_s3
):
    s3_storage_settings(settings, down_s3, connect_timeout=1, read_timeout=1, max_attempts=1)
    gallery = GalleryFactory()
    photo = store_photo(gallery, jpeg_upload(width=200, height=150))
    keys = photo.storage_keys
    down_s3.stop()

    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["immediate"]}}
    gallery.delete()  # S3 is down: the delete fails and is remembered
    assert sorted(PendingDeletion.objects.values_list("object_key", flat=True)) == sorted(keys)

    env = {
        **worker_env,
        "AWS_STORAGE_BUCKET_NAME": down_s3.bucket,
        "AWS_S3_ENDPOINT_URL": down_s3.endpoint_url,
        "AWS_S3_CONNECT_TIMEOUT": "1",
        "AWS_S3_READ_TIMEOUT": "1",
        "AWS_S3_MAX_ATTEMPTS": "1",
        "VIEWPORT_STORAGE_RETRY_SECONDS": "1",
    }
    worker, cron = task_worker(env).start(), scheduler(env).start()
    try:
        # Retried every second while S3 stays down...
        wait_until(lambda: PendingDeletion.objects.filter(attempts__gte=3).count() == len(keys), "retries", timeout=30)
        down_s3.start()
        # ... until the objects are gone.
        wait_until(lambda: not PendingDeletion.objects.exists(), "the retried delete", timeout=30)
    finally:
        worker.stop()
        cron.stop()
    client = boto3.client(
        "s3",
        endpoint_url=down_s3.endpoint_url,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
        config=Config(signature_version="s3v4"),
    )
    listed = client.list_objects_v2(Bucket=down_s3.bucket, Prefix=f"{gallery.pk}/").get("Contents", [])
    assert listed == []
    retries = DBTaskResult.objects.filter(task_path="galleries.tasks.retry_storage_deletes")
    assert retries.count() >= 3 and not retries.failed().exists()


def test_finished_tasks_are_pruned_after_two_weeks(worker):
    DBTaskResult.objects.create(
        task_path="galleries.tasks.prune_task_results",
        args_kwargs={"args": [], "kwargs": {}},
        status="SUCCESSFUL",
        backend_name="default",
        priority=0,
        queue_name="default",
        finished_at=timezone.now() - timedelta(days=15),
    )
    prune_task_results.enqueue()
    wait_until(
        lambda: DBTaskResult.objects.filter(finished_at__lt=timezone.now() - timedelta(days=14)).count() == 0,
        "the old result to go",
        timeout=20,
    )


def test_an_upload_is_made_a_photo_by_the_worker_its_tile_processing_until_then(client, queued, worker_env):
    gallery = GalleryFactory(name="Venue")
    client.force_login(gallery.owner)
    uploader = ResumableUploader(client, gallery)
    photo, not_a_photo = image_bytes(900, 600), b"Shopping list: film, batteries.\n" * 100

    answers = [uploader.upload("IMG_0001.jpg", photo).json(), uploader.upload("notes.jpg", not_a_photo).json()]
    assert [answer["status"] for answer in answers] == ["processing", "processing"]
    page = client.get(gallery.get_absolute_url()).content.decode()
    assert page.count('data-state="processing"') == 2 and "Processing…" in page

    process = task_worker(worker_env).start()
    try:
        wait_until(tasks_done, "the photos to be made", timeout=60)
    finally:
        process.stop()
    assert_no_failed_tasks()
    done, failed = (
        client.get(reverse("galleries:upload_status", args=[gallery.pk, a["upload_id"]])).json() for a in answers
    )
    assert done["status"] == "done" and client.get(done["thumbnail_url"]).status_code in (200, 302)
    assert gallery.photos.get().pk == uuid.UUID(done["photo_id"])
    assert failed["status"] == "failed" and failed["error"] == NOT_A_PHOTO
    assert sorted(default_storage.list_keys(f"{gallery.pk}/")) == sorted(gallery.photos.get().storage_keys)
    page = client.get(gallery.get_absolute_url()).content.decode()
    assert page.count("data-upload-tile=") == 1 and NOT_A_PHOTO in page  # the refused file says why


def test_storage_failing_as_the_worker_makes_a_photo_is_retried_later_until_it_is_made(
    client, settings, queued, worker_env, down_s3
):
    s3_storage_settings(settings, down_s3, connect_timeout=1, read_timeout=1, max_attempts=1)
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    data = image_bytes(300, 200)
    completed = ResumableUploader(client, gallery).upload("IMG_0020.jpg", data).json()
    assert completed["status"] == "processing"  # queued for the worker
    down_s3.pause()  # hung: every request times out

    env = {
        **worker_env,
        "AWS_STORAGE_BUCKET_NAME": down_s3.bucket,
        "AWS_S3_ENDPOINT_URL": down_s3.endpoint_url,
        "AWS_S3_CONNECT_TIMEOUT": "1",
        "AWS_S3_READ_TIMEOUT": "1",
        "AWS_S3_MAX_ATTEMPTS": "1",
        "VIEWPORT_UPLOAD_RETRY_SECONDS": "1",
    }
    tasks = DBTaskResult.objects.filter(task_path="galleries.tasks.make_uploaded_photo").order_by("enqueued_at")
    worker = task_worker(env).start()
    try:
        wait_until(lambda: tasks.count() >= 2, "the first try to fail and queue a retry", timeout=30)
        down_s3.resume()
        wait_until(lambda: gallery.photos.exists(), "the retry to make the photo", timeout=30)
    finally:
        worker.stop()
    assert_no_failed_tasks()
    first, *retries = tasks
    assert first.args_kwargs["args"] == [completed["upload_id"]] and first.return_value is None
    for attempt, retry in enumerate(retries, start=1):
        assert retry.args_kwargs["args"] == [completed["upload_id"], attempt]
        assert retry.run_after - retry.enqueued_at >= timedelta(seconds=2 ** (attempt - 1) - 0.1)  # backoff: 1, 2, 4 s
    assert retries[-1].return_value == completed["photo_id"]
    photo = gallery.photos.get()
    assert str(photo.pk) == completed["photo_id"]
    assert b"".join(default_storage.iter_chunks(photo.object_key)) == data
