import logging
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from crontask import scheduler
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Min, Q
from django.db.models.fields.json import KT
from django.tasks import TaskResultStatus, task, task_backends
from django.utils import timezone
from django_tasks_db import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from galleries import copies, watermarks
from galleries.models import (
    Gallery,
    PendingDeletion,
    PeriodicTask,
    Photo,
    PhotoCopy,
    Upload,
    UploadStatus,
    WatermarkRun,
)
from galleries.storage import STORAGE_ERRORS

logger = logging.getLogger(__name__)

# Interval schedules count from this fixed time, so that every scheduler fires at the same times.
INTERVALS_START = datetime(2000, 1, 1, tzinfo=UTC)


def periodic(schedule):
    """Queue the task on a schedule (a crontab line, or an APScheduler trigger), once per run
    however many schedulers (`manage.py crontask`) run: django-crontask's @cron takes no lock
    without Redis, so each scheduler claims the run in the database first (PeriodicTask)."""

    def decorator(task):
        trigger = schedule
        if isinstance(schedule, str):
            trigger = CronTrigger.from_crontab(schedule, timezone=timezone.get_default_timezone())
        scheduler.add_job(func=queue_once, args=[task, trigger], trigger=trigger, name=task.name)
        return task

    return decorator


def queue_once(task, trigger):
    """Queue `task` for the run that is due now, unless another scheduler queued it already.
    Every scheduler that fires for this run computes the same next fire time: whoever moves the
    task's row there first queues it, in the same transaction."""
    next_run_at = trigger.get_next_fire_time(None, timezone.now() + timedelta(microseconds=1))
    with transaction.atomic():
        claimed = PeriodicTask.objects.claim(task.module_path, next_run_at)
        if claimed:
            task.enqueue()
    return claimed


@task
def delete_storage_objects(keys):
    """Delete objects whose rows are gone; remember the ones that fail so they are retried.

    A key that a photo references is never deleted, whatever asked for it: it is checked here,
    right before the delete, and dropped from the pending list. Deleting an object that is
    already gone succeeds, so running this twice deletes once.
    """
    keys = set(keys)
    live = set(Photo.objects.referencing(keys).object_keys()) & keys
    keys -= live
    try:
        default_storage.check()  # a hung S3 fails this in seconds; the deletes would wait out every timeout
    except STORAGE_ERRORS as error:
        failed = dict.fromkeys(keys, f"storage unreachable: {error}")
    else:
        failed = default_storage.delete_many(sorted(keys))
    PendingDeletion.objects.filter(object_key__in=(keys | live) - failed.keys()).delete()
    PendingDeletion.objects.remember(failed)
    return len(keys) - len(failed)


@task
def prepare_copies(photo_ids, kind, watermark=""):
    """Make what downloads of these photos as `kind` need and is missing (galleries/copies.py):
    CRC-32s and private metadata of photos stored before they were recorded, full-size JPEGs,
    watermarked copies (`watermark`: the watermark's version, galleries/watermarks.py). Returns
    how many are ready."""
    photos = Photo.objects.filter(pk__in=photo_ids).order_by("uploaded_at")
    return copies.prepare_all(photos, copies.Delivery(kind, watermark=watermark))


@task
def discard_stale_watermarks(gallery_id, photo_id=None):
    """Delete the gallery's (or one photo's) watermarked renditions that nothing serves any more:
    after its photographer's watermark changed, or photos or the gallery were deleted."""
    keys = watermarks.stale_keys(gallery_id, photo_id)
    PhotoCopy.objects.filter(object_key__in=keys).delete()  # of an old watermark: never served again
    return delete_storage_objects.call(keys) if keys else 0


# A watermarking run works through a gallery this many photos at a time, and between them checks
# that the watermark is still the one it makes and reports progress (WatermarkRun.beat).
WATERMARK_RUN_PHOTOS = 20
# A whole-gallery run that finds another one working on the gallery, which does not do its work,
# is queued again this long after.
WATERMARK_RUN_AGAIN_AFTER = timedelta(seconds=30)


@task
def make_watermarked(gallery_id, photo_ids=None, full_size=False, version=None):
    """Make the watermarked renditions of the gallery's photos (or of `photo_ids` among them)
    that are not stored yet, and record their web-size download copies (galleries/copies.py), and
    with `full_size` their full-size JPEGs, so that clients of a watermarked link rarely wait for
    one. Queued for watermark `version`, it does nothing once another one replaced it (that
    one's task follows), and stops when that happens while it works. Returns how many
    renditions it made.

    A whole gallery is made by one run at a time, across every worker (WatermarkRun): a second
    one returns at once when the running one does its work (same watermark, full-size JPEGs if
    it needs them), and is otherwise queued again for later, never waiting in a worker thread. A
    run for photos just uploaded (`photo_ids`) makes those alone, unguarded."""
    gallery = Gallery.objects.select_related("owner").filter(pk=gallery_id).first()
    if gallery is None or version not in (None, gallery.owner.watermark_version):
        return 0
    version = gallery.owner.watermark_version
    photos = gallery.ordered_photos()
    if photo_ids is not None:
        return _make_watermarked(gallery, photos.filter(pk__in=photo_ids), full_size)
    run, claimed = WatermarkRun.objects.claim(gallery_id, version, full_size)
    if not claimed:
        if not run.covers(version, full_size):
            _run_later(make_watermarked, gallery_id, photo_ids, full_size, version)
        return 0
    made = 0
    photo_ids = list(photos.values_list("pk", flat=True))  # photos uploaded meanwhile have their own runs
    try:
        for start in range(0, len(photo_ids), WATERMARK_RUN_PHOTOS):
            gallery.owner.refresh_from_db()
            if gallery.owner.watermark_version != version or not run.beat():
                break  # replaced (the new watermark's run follows), or taken over as stale
            chunk = photos.filter(pk__in=photo_ids[start : start + WATERMARK_RUN_PHOTOS])
            made += _make_watermarked(gallery, chunk, full_size)
    finally:
        run.release()
    return made


def _make_watermarked(gallery, photos, full_size):
    photos = list(photos)
    made = watermarks.make_missing(photos, gallery.owner)
    version = gallery.owner.watermark_version
    copies.prepare_all(photos, copies.Delivery(copies.Kind.WEB, watermark=version))
    if full_size:
        copies.prepare_all(photos, copies.Delivery(copies.Kind.JPEG, watermark=version))
    return made


def _run_later(task, *args):
    """Queue `task` again for WATERMARK_RUN_AGAIN_AFTER from now, where the task backend can
    defer (the database's); the immediate backend (development) runs it in the request, where it
    would find the same run at work: what it has not made is made on demand."""
    backend = task_backends[task.backend]
    waiting = DBTaskResult.objects.filter(task_path=task.module_path, status=TaskResultStatus.READY)
    if any(queued.args_kwargs["args"] == list(args) for queued in waiting.only("args_kwargs")):
        return  # the same run waits its turn already: saves in a row queue it once
    if backend.supports_defer:
        task.using(run_after=timezone.now() + WATERMARK_RUN_AGAIN_AFTER).enqueue(*args)
    else:
        logger.info("%s not run again: %s cannot defer a task", task.name, type(backend).__name__)


def after_watermark_change(photographer):
    """Once the save that changed `photographer`'s watermark commits: its old renditions go, and
    the apps that serve watermarked photos have the new ones made (watermarks.watermark_changed)."""
    gallery_ids = [str(pk) for pk in Gallery.objects.filter(owner=photographer).values_list("pk", flat=True)]

    def after_commit():
        for gallery_id in gallery_ids:
            discard_stale_watermarks.enqueue(gallery_id)
        watermarks.watermark_changed.send(sender=type(photographer), photographer=photographer)

    transaction.on_commit(after_commit, robust=True)


@task
def make_uploaded_photo(upload_id, attempt=0, resumed=False):
    """Make the photo of a completed upload from its stored original (galleries.uploads.make_photo;
    `attempt` counts the tries storage failed; `resumed`: queued again for an upload found stuck,
    galleries.uploads.resume_processing)."""
    from galleries.uploads import make_photo, resume_processing  # uploads queues this task

    upload = Upload.objects.select_related("gallery", "photo_set").filter(pk=upload_id).first()
    if upload is None or upload.status != UploadStatus.PROCESSING:
        return None  # deleted with its gallery, or made already
    photo = resume_processing(upload) if resumed else make_photo(upload, attempt)
    return str(photo.pk) if photo else None


def _upload_ids(tasks):
    """The upload ids that make_uploaded_photo `tasks` were queued for."""
    return set(tasks.annotate(upload_id=KT("args_kwargs__args__0")).values_list("upload_id", flat=True)) - {None}


def uploads_in_the_worker(since):
    """Ids of the uploads whose make_uploaded_photo task waits in the queue (now or later), or
    started running after `since` (one that started before is taken for lost with its worker)."""
    tasks = DBTaskResult.objects.filter(task_path=make_uploaded_photo.module_path).filter(
        Q(status=TaskResultStatus.READY) | Q(status=TaskResultStatus.RUNNING, started_at__gte=since)
    )
    return _upload_ids(tasks)


def uploads_lost_when_resumed(since):
    """Ids of the uploads whose make_uploaded_photo task was already a resumed one (resume_stuck)
    and was lost too: started before `since` and never finished, its worker gone with it."""
    tasks = DBTaskResult.objects.filter(
        task_path=make_uploaded_photo.module_path,
        status=TaskResultStatus.RUNNING,
        started_at__lt=since,
        args_kwargs__kwargs__resumed=True,
    )
    return _upload_ids(tasks)


@periodic("*/5 * * * *")
@task
def resume_stuck_uploads():
    """Every five minutes: queue again the photos of uploads stuck processing (galleries.uploads.resume_stuck)."""
    from galleries.uploads import resume_stuck

    return resume_stuck()


@periodic("23 * * * *")
@task
def abort_abandoned_uploads():
    """Every hour: abort uploads abandoned for VIEWPORT_UPLOAD_ABANDONED_HOURS (their parts go)."""
    from galleries.uploads import abort_abandoned

    return abort_abandoned()


def retry_pending_deletions(limit=10_000):
    """Try again to delete every object whose delete failed before. Returns how many are left."""
    keys = list(PendingDeletion.objects.order_by("last_attempt_at").values_list("object_key", flat=True)[:limit])
    if keys:
        delete_storage_objects.call(keys)
    return PendingDeletion.objects.count()


@periodic(IntervalTrigger(seconds=settings.VIEWPORT_STORAGE_RETRY_SECONDS, start_date=INTERVALS_START))
@task
def retry_storage_deletes():
    """Every VIEWPORT_STORAGE_RETRY_SECONDS (the scheduler enqueues it): retry failed deletes."""
    return retry_pending_deletions()


@periodic("45 3 * * *")
@task
def prune_task_results():
    """Every night: forget finished tasks older than two weeks (the queue's table only grows)."""
    if isinstance(task_backends["default"], DatabaseBackend):
        call_command("prune_db_task_results", "--min-age-days", "14", verbosity=0)


def task_queue_status():
    """For /healthz/: tasks waiting for the worker and how long the oldest has waited, in
    seconds (None when none waits). A growing age means no worker is running, or it is behind."""
    if not isinstance(task_backends["default"], DatabaseBackend):
        return {"backend": "immediate", "waiting": 0, "oldest_waiting_seconds": None}
    waiting = DBTaskResult.objects.ready().filter(backend_name="default")
    summary = waiting.aggregate(count=Count("pk"), oldest=Min("enqueued_at"))
    oldest = summary["oldest"]
    return {
        "backend": "database",
        "waiting": summary["count"],
        "oldest_waiting_seconds": round((timezone.now() - oldest).total_seconds(), 1) if oldest else None,
    }


# How far back /metrics counts failed tasks.
FAILED_TASKS_WINDOW = timedelta(days=1)


def task_table():
    """For /metrics, read from the database at each scrape, so any app server answers for every
    worker and scheduler: {(task path, state): tasks} for the states `waiting` (as in
    task_queue_status()), `running` and `failed` (within FAILED_TASKS_WINDOW), zeros included
    for every task seen; and each periodic task's last queued run and next due one, as
    {task path: (last_queued_at, next_run_at)} (datetimes or None)."""
    counts = {}
    if isinstance(task_backends["default"], DatabaseBackend):
        results = DBTaskResult.objects.filter(backend_name="default")
        by_state = {
            "waiting": results.ready(),
            "running": results.running(),
            "failed": results.failed().filter(finished_at__gte=timezone.now() - FAILED_TASKS_WINDOW),
        }
        for state, tasks in by_state.items():
            for path, count in tasks.values_list("task_path").annotate(count=Count("pk")).order_by():
                counts[path, state] = count
        for path in {path for path, _ in counts}:
            for state in by_state:
                counts.setdefault((path, state), 0)
    periodic = {row.task_path: (row.last_queued_at, row.next_run_at) for row in PeriodicTask.objects.all()}
    return counts, periodic
