"""Storing uploaded photos: checks, renditions, storage objects, then the row.

Two ways in. The page's uploader sends each file in parts that survive a dropped connection
(resumable uploads, below: start_upload, complete_upload, then the task worker's make_photo);
the plain form, without JavaScript, posts a few files whole (store_photos).

The order matters. Storage is slow and may hang, so the objects are written first, outside any
database transaction; the row is inserted afterwards in a short one. If anything fails, the
objects written so far are deleted (or remembered for a later delete) and no row exists, so
there is never a row without its objects nor, for long, an object without a row.
"""

import hashlib
import logging
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from galleries.copies import facts_of
from galleries.images import ImageRejected, make_renditions
from galleries.models import PendingDeletion, Photo, Upload, UploadStatus
from galleries.ordering import stored_capture_time
from galleries.storage import STORAGE_ERRORS, NoSuchUpload
from galleries.tasks import (
    delete_storage_objects,
    make_uploaded_photo,
    uploads_in_the_worker,
    uploads_lost_when_resumed,
)

logger = logging.getLogger(__name__)

STORAGE_UNAVAILABLE = "Photo storage is unavailable right now. Nothing was saved; please try again in a minute."
UNEXPECTED_ERROR = "Something went wrong while processing this file. Nothing was saved; please try again."
NO_FILES = "Choose at least one photo to upload."
ALREADY_IN_GALLERY = "Already in this gallery: skipped."
MAX_FILENAME_BYTES = 200  # file systems allow 255 bytes a name; keys add a little around it

# The extensions a download may keep for each stored type; any other is replaced by the first.
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    "image/tiff": (".tif", ".tiff"),
    "image/heic": (".heic", ".heif", ".hif"),
}


def clean_filename(name):
    """The uploaded file's own name, without folders, control characters or characters that
    break headers and file systems, at most 150 characters and 200 bytes (keeping the extension)."""
    # Browsers send a quote, CR and LF in a file name as %22, %0D and %0A (and nothing else escaped).
    name = re.sub(r"(%0D|%0A)+", " ", (name or "").replace("%22", '"'))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '<>:"|?*')
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix[:10]
    stem = stem[: 150 - len(suffix)]
    while len((stem + suffix).encode()) > MAX_FILENAME_BYTES:
        stem = stem[:-1]
    return (stem.strip() or "photo") + suffix


def filename_for(name, content_type):
    """The cleaned name, with an extension that says what the file really is: a JPEG uploaded
    as `x.hta` downloads as `x.jpg`."""
    name = clean_filename(name)
    path = PurePosixPath(name)
    extensions = EXTENSIONS[content_type]
    if path.suffix.lower() in extensions:
        return name
    # `.hta` is an extension to replace; `.06` of "Wedding 2024.05.06" is part of the name.
    is_extension = re.fullmatch(r"\.(?=.*[a-z])[a-z0-9]{1,5}", path.suffix.lower())
    return clean_filename((path.stem if is_extension else name) + extensions[0])


def check_size(upload):
    if upload.size == 0:
        raise ImageRejected("This file is empty.")
    limit = settings.VIEWPORT_MAX_UPLOAD_SIZE
    if upload.size > limit:
        size, limit = _distinct_megabytes(upload.size, limit)
        raise ImageRejected(f"This file is {size}; the limit is {limit} per photo.")


def _distinct_megabytes(size, limit):
    """Both sizes in MB, with as many decimals as it takes for them to read differently."""
    for digits in range(1, 7):
        size_text, limit_text = (f"{value / (1024 * 1024):.{digits}f} MB" for value in (size, limit))
        if size_text != limit_text:
            break
    return size_text, limit_text


def store_photo(gallery, upload, photo_set=None, *, stored=None, skip_existing=False):
    """Store one uploaded photo (the original byte for byte, its thumbnail, preview and sizes) and
    return the new Photo, in `photo_set` if one is given (a set of the gallery).

    With `stored` (an Upload whose bytes are in storage already, and `upload` a copy of them),
    the photo takes that upload's id, key and hash, and only its renditions are written. With
    `skip_existing`, a file whose bytes are a photo of the gallery already raises AlreadyInGallery.

    Raises ImageRejected with a message for the photographer, UploadRefused (over the quota),
    AlreadyInGallery, or one of STORAGE_ERRORS.
    """
    check_size(upload)
    if not stored:  # an upload's bytes hold their share of the quota already
        if skip_existing:
            check_not_in_gallery(gallery, sha256_of(upload))
        check_quota(gallery.owner, upload.size)  # before any pixel work or storage
    renditions = make_renditions(upload, settings.VIEWPORT_MAX_IMAGE_PIXELS)
    facts = facts_of(upload)  # what downloads need: CRC-32s and where the private metadata is
    photo = Photo(
        **({"id": stored.photo_id} if stored else {}),
        sha256=stored.sha256 if stored else sha256_of(upload),
        gallery=gallery,
        original_filename=filename_for(upload.name, renditions.content_type),
        content_type=renditions.content_type,
        file_size=upload.size,
        preview_size=len(renditions.preview),
        preview_crc32=zlib.crc32(renditions.preview),
        **facts,
        width=renditions.width,
        height=renditions.height,
        captured_at=stored_capture_time(renditions.captured_at),
        photo_set=photo_set,
    )
    photo.assign_object_keys()
    photo.size_keys = {name: photo.size_key(name) for name in renditions.sizes}
    photo.placeholder = renditions.placeholder
    if stored:
        photo.object_key = stored.object_key
    upload.content_type = renditions.content_type  # stored with the object, whatever the browser said
    upload.seek(0)
    written = []
    writing = None
    try:
        for key, content in [
            (photo.thumbnail_object_key, ContentFile(renditions.thumbnail)),
            (photo.preview_object_key, ContentFile(renditions.preview)),
            *((photo.size_keys[name], ContentFile(data)) for name, data in renditions.sizes.items()),
            *([] if stored else [(photo.object_key, upload)]),
        ]:
            writing = key
            stored_as = default_storage.save(key, content)
            writing = None
            written.append(stored_as)
            if stored_as != key:
                raise RuntimeError(f"storage renamed {key} to {stored_as}")
        with transaction.atomic():
            if not stored:  # again under the lock: parallel batches count one after another
                check_quota(gallery.owner, upload.size, lock=True)
                if skip_existing:  # a parallel batch may have stored it meanwhile
                    check_not_in_gallery(gallery, photo.sha256)
            photo.save(force_insert=True)  # touches the gallery too
            if stored:
                Upload.objects.filter(pk=stored.pk).update(status=UploadStatus.DONE, updated_at=timezone.now())
    except BaseException as error:
        if written:
            delete_storage_objects.call(written)
        if writing:
            # A write that failed or timed out may still land (a hung S3 catches up later):
            # delete it once storage answers again, rather than wait for it now.
            PendingDeletion.objects.remember({writing: str(error) or type(error).__name__})
        raise
    return photo


class AlreadyInGallery(Exception):
    """The file is a photo of the gallery already (the same SHA-256): it is skipped."""

    def __init__(self, photo_id):
        super().__init__(photo_id)
        self.photo_id = photo_id


def check_not_in_gallery(gallery, sha256):
    photo_id = gallery.photos.filter(sha256=sha256).values_list("pk", flat=True).first()
    if photo_id:
        raise AlreadyInGallery(photo_id)


def sha256_of(file):
    file.seek(0)
    digest = hashlib.file_digest(file, "sha256").hexdigest()
    file.seek(0)
    return digest


@dataclass
class UploadBatch:
    """What happened to each file of one upload request."""

    photos: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # [{"file_name": …, "message": …}]
    skipped: list = field(default_factory=list)  # [{"file_name": …, "photo_id": …}]: in the gallery already
    storage_down: bool = False

    @property
    def status_code(self):
        return 200 if self.photos or self.skipped else (503 if self.storage_down else 400)

    def add_error(self, upload, message):
        self.errors.append({"file_name": upload.name if upload else "", "message": message})


def store_photos(gallery, uploads, photo_set=None):
    """Store each upload on its own: one broken file never costs the others theirs, and a file
    the gallery has already is skipped. Once storage is down, the rest are not tried (each
    would wait out the timeouts)."""
    batch = UploadBatch()
    if not uploads:
        batch.add_error(None, NO_FILES)
    for upload in uploads:
        try:
            if batch.storage_down:
                batch.add_error(upload, STORAGE_UNAVAILABLE)
            else:
                batch.photos.append(store_photo(gallery, upload, photo_set, skip_existing=True))
        except AlreadyInGallery as existing:
            batch.skipped.append({"file_name": upload.name, "photo_id": str(existing.photo_id)})
        except (ImageRejected, UploadRefused) as error:
            batch.add_error(upload, str(error))
        except STORAGE_ERRORS:
            logger.warning("Storage failed while storing %r", upload.name, exc_info=True)
            batch.storage_down = True
            batch.add_error(upload, STORAGE_UNAVAILABLE)
        except Exception:
            logger.exception("Unexpected error while storing %r", upload.name)
            batch.add_error(upload, UNEXPECTED_ERROR)
        finally:
            upload.close()
    return batch


# Resumable uploads. The browser asks to upload a file by its SHA-256 (start_upload), PUTs the
# parts it is told are missing (to the bucket itself on S3, to upload_part locally), then asks to
# complete it (complete_upload): the parts are joined into the original's object, checked, and
# the task worker makes the photo from it (make_photo). Dropping the same file again, from any
# tab or the next day, resumes it; a file already in the gallery is skipped.

STILL_UPLOADING = "This file is still being uploaded: send its missing parts, then complete it."
HASH_MISMATCH = (
    "This file's bytes do not match its SHA-256: it changed or was damaged on the way. "
    "Nothing of it was kept; please upload it again."
)
UPLOAD_GONE = "This upload was abandoned and its parts deleted: please upload the file again."
PART_TOO_LARGE = (
    "Part {number} of this file is larger than it can be ({size} bytes, at most {length}): the upload "
    "was stopped and its parts deleted. Please upload the file again."
)


class UploadRefused(Exception):
    """A request about an upload that cannot be done: the message says why, `status` is the
    HTTP status to answer with; `data` adds to the JSON answer."""

    def __init__(self, message, status=400, **data):
        super().__init__(message)
        self.status = status
        self.data = data


def start_upload(gallery, *, name, size, declared_type, sha256, photo_set=None):
    """The answer to "I want to upload this file": {"status": "exists", "photo_id"} when the
    gallery has it (or is making it into a photo), else {"status": "resume" | "new",
    "upload_id", "part_size", "parts": [{"number", "url"}]} with the parts still to send.

    Raises UploadRefused (too large, over the quota) or one of STORAGE_ERRORS.
    """
    photo_id = gallery.photos.filter(sha256=sha256).values_list("pk", flat=True).first()
    if photo_id:
        return {"status": "exists", "photo_id": str(photo_id)}
    upload = gallery.uploads.unfinished().filter(sha256=sha256).first()
    if upload and upload.status == UploadStatus.PROCESSING:
        return {"status": "exists", "photo_id": str(upload.photo_id)}
    if upload:
        try:
            return parts_answer(
                "resume", upload, default_storage.stored_parts(upload.object_key, upload.storage_upload_id)
            )
        except NoSuchUpload:
            upload.delete()  # aborted while nobody asked: start again
    if size > settings.VIEWPORT_MAX_UPLOAD_SIZE:
        size_text, limit = _distinct_megabytes(size, settings.VIEWPORT_MAX_UPLOAD_SIZE)
        raise UploadRefused(f"This file is {size_text}; the limit is {limit} per photo.", 413)
    check_unfinished_uploads(gallery.owner)
    check_quota(gallery.owner, size)  # before storage is asked for anything
    upload = Upload(
        gallery=gallery,
        photo_set=photo_set,
        file_name=clean_filename(name),
        size=size,
        declared_type=declared_type[:100],
        sha256=sha256,
        part_size=settings.VIEWPORT_UPLOAD_PART_SIZE,
    )
    upload.object_key = f"{gallery.pk}/{upload.photo_id}/{upload.file_name}"
    upload.storage_upload_id = default_storage.start_parts(upload.object_key)
    try:
        with transaction.atomic():
            check_quota(gallery.owner, size, lock=True)
            check_unfinished_uploads(gallery.owner)
            upload.save(force_insert=True)
    except BaseException as error:
        default_storage.abort_parts(upload.object_key, upload.storage_upload_id)
        if isinstance(error, IntegrityError):  # another tab started this file a moment ago
            return start_upload(
                gallery, name=name, size=size, declared_type=declared_type, sha256=sha256, photo_set=photo_set
            )
        raise
    Upload.objects.filter(gallery=gallery, sha256=sha256, status=UploadStatus.FAILED).delete()
    return parts_answer("new", upload, {})


def parts_answer(status, upload, stored_parts):
    """The upload, with the URL of each part not stored whole yet."""
    missing = [
        number
        for number in range(1, upload.part_count + 1)
        if number not in stored_parts or stored_parts[number].size != upload.part_length(number)
    ]
    if status == "resume":
        Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now())
    return {
        "status": status,
        "upload_id": str(upload.pk),
        "part_size": upload.part_size,
        "parts": [
            {
                "number": number,
                "url": default_storage.part_url(
                    upload.object_key, upload.storage_upload_id, number, upload.part_length(number)
                ),
            }
            for number in missing
        ],
    }


def storage_used(user):
    """Bytes of `user`'s quota in use: their photos' originals and the uploads on their way (one query)."""

    def total(rows, field):
        rows = rows.filter(gallery__owner=OuterRef("pk")).values("gallery__owner").annotate(total=Sum(field))
        return Coalesce(Subquery(rows.values("total")), 0)

    photos, uploads = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values_list(total(Photo.objects.all(), "file_size"), total(Upload.objects.unfinished(), "size"))
        .get()
    )
    return photos + uploads


def storage_usage(user):
    """The dashboard's usage bar: bytes used of the quota, as numbers and as text."""
    used, quota = storage_used(user), user.quota
    used_text, quota_text = _size_texts(used, quota)
    return {
        "used": used,
        "quota": quota,
        "used_text": used_text,
        "quota_text": quota_text,
        "percent": min(100, round(used * 100 / quota)) if quota else 100,
        "low": quota * 0.8,
        "high": quota * 0.95,
        "full": used >= quota,
    }


def check_quota(user, size, lock=False):
    """Refuse a file of `size` bytes that would take `user` past their quota. With `lock`, in a
    transaction, the user's row stays locked until it ends: uploads started at the same time
    are counted one after another, so together they never pass the quota."""
    if lock:
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
    used = storage_used(user)
    if used + size > user.quota:
        used_text, quota_text, size_text = _size_texts(used, user.quota, size)
        raise UploadRefused(
            f"Not enough storage left: {used_text} of {quota_text} used; this file is {size_text}. "
            "Delete photos you no longer need, or ask for more space.",
            413,
            used=used,
            quota=user.quota,
            size=size,
        )


def check_unfinished_uploads(user):
    """Refuse a new upload to a photographer with VIEWPORT_MAX_UNFINISHED_UPLOADS files being
    sent already (the page sends three at a time; resuming one is no new upload). Counted
    under check_quota's lock when it is held."""
    limit = settings.VIEWPORT_MAX_UNFINISHED_UPLOADS
    if Upload.objects.filter(gallery__owner=user, status=UploadStatus.UPLOADING).count() >= limit:
        raise UploadRefused(
            f"{limit} files are being uploaded already: finish those (drop them again to resume them) "
            "or wait a day for the abandoned ones to be cleared, then upload this one.",
            429,
        )


def _size_texts(*sizes):
    """`25 MB`, `5.8 GB`: decimal units, as file managers show them, each size in its own unit;
    sizes in the same unit get as many decimals (up to 2) as it takes to read differently."""
    texts = []
    for size in sizes:
        unit, scale = next(
            ((u, s) for u, s in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)) if size >= s), ("bytes", 1)
        )
        texts.append((size / scale, unit))
    for digits in range(3):
        rounded = [f"{value:.{digits}f}" for value, _ in texts]
        if len(set(zip(rounded, (unit for _, unit in texts), strict=True))) == len(set(sizes)):
            break
    return [
        f"{number.rstrip('0').rstrip('.') if '.' in number else number} {unit}"
        for number, (_, unit) in zip(rounded, texts, strict=True)
    ]


def complete_upload(upload):
    """Join the upload's parts into the original's object, check its size and SHA-256, and
    queue the making of the photo: {"status": "processing", "upload_id", "photo_id", …}
    (upload_state; "done" or "failed" already when tasks run at once).

    Raises UploadRefused (parts missing: 409 with them; bytes that do not match their hash: 400,
    and nothing is kept) or one of STORAGE_ERRORS (nothing changes: ask again later).
    """
    # Claimed by moving it on to processing: of completes sent at the same time, one joins the
    # parts and queues the photo; the others answer where it is. Put back if it cannot go on.
    claimed = Upload.objects.filter(pk=upload.pk, status=UploadStatus.UPLOADING).update(
        status=UploadStatus.PROCESSING, updated_at=timezone.now()
    )
    if claimed:
        try:
            _join_and_check(upload)
        except BaseException as error:
            if isinstance(error, UploadRefused) and error.status != 409:
                upload.delete()  # nothing of it is kept
            else:
                claimed = Upload.objects.filter(pk=upload.pk, status=UploadStatus.PROCESSING)
                claimed.update(status=UploadStatus.UPLOADING)
            raise
        make_uploaded_photo.enqueue(str(upload.pk))
    upload = Upload.objects.filter(pk=upload.pk).first()  # made already when tasks run at once
    if upload is None:  # another complete found its bytes wrong, or it was abandoned
        raise UploadRefused(UPLOAD_GONE, 410)
    return upload_state(upload)


def _join_and_check(upload):
    """Join the upload's parts into the original's object and check its size and SHA-256.
    Raises UploadRefused: parts missing (409), or nothing of the file is kept in storage (400,
    410; the caller drops or fails the row)."""
    try:
        parts = default_storage.stored_parts(upload.object_key, upload.storage_upload_id)
    except NoSuchUpload:
        parts = None  # joined already (a complete whose answer was lost), or abandoned
    if parts is not None:
        _abort_if_oversized(upload, parts)
        missing = parts_answer("resume", upload, parts)["parts"]
        if missing:
            raise UploadRefused(STILL_UPLOADING, 409, parts=missing)
        default_storage.join_parts(upload.object_key, upload.storage_upload_id, parts)
    elif not default_storage.exists(upload.object_key):
        raise UploadRefused(UPLOAD_GONE, 410)
    if not _has_declared_bytes(upload):
        delete_storage_objects.call([upload.object_key])
        raise UploadRefused(HASH_MISMATCH, 400)


def _abort_if_oversized(upload, parts):
    """Parts longer than the upload's would store bytes its quota does not hold (sent with a
    part URL of before lengths were signed into them): abort the upload and its parts."""
    for number, part in sorted(parts.items()):
        length = upload.part_length(number) if number <= upload.part_count else 0
        if part.size > length:
            default_storage.abort_parts(upload.object_key, upload.storage_upload_id)
            raise UploadRefused(PART_TOO_LARGE.format(number=number, size=part.size, length=length), 400)


def upload_state(upload):
    """An upload as the page sees it: `status` is uploading, processing, done (`thumbnail_url`
    is the photo's) or failed (`error` says why)."""
    state = {
        "status": upload.status,
        "upload_id": str(upload.pk),
        "photo_id": str(upload.photo_id),
        "file_name": upload.file_name,
    }
    if upload.status == UploadStatus.DONE:
        state["thumbnail_url"] = reverse("galleries:photo_thumbnail", args=[upload.gallery_id, upload.photo_id])
    if upload.status == UploadStatus.FAILED:
        state["error"] = upload.error
    return state


def _has_declared_bytes(upload):
    """Whether the stored object has the size and SHA-256 the browser declared (read in pieces:
    memory stays flat whatever the size)."""
    if default_storage.size(upload.object_key) != upload.size:
        return False
    digest = hashlib.sha256()
    for chunk in default_storage.iter_chunks(upload.object_key):
        digest.update(chunk)
    return digest.hexdigest() == upload.sha256


STORAGE_RETRIES = 12  # tries after the first, VIEWPORT_UPLOAD_RETRY_SECONDS apart at first, doubling up to an hour


def make_photo(upload, attempt=0):
    """The task worker's part: make the photo from the stored original (renditions, row). A file
    that is no photo fails with the reason on its tile, and its object is deleted. Storage that
    fails keeps the original and the upload processing, and the task runs again later."""
    try:
        with default_storage.local_copy(upload.object_key) as original:
            original.name = upload.file_name
            return store_photo(upload.gallery, original, upload.photo_set, stored=upload)
    except Exception as error:
        made = Photo.objects.filter(pk=upload.photo_id).first()
        if made:  # another worker made it a moment before: its objects and row stand
            Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.DONE, updated_at=timezone.now())
            return made
        if isinstance(error, ImageRejected):
            message = str(error)
        elif isinstance(error, STORAGE_ERRORS) and attempt < STORAGE_RETRIES:
            logger.warning("Storage failed while processing upload %s; trying again later", upload.pk, exc_info=True)
            Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now())
            _make_later(upload, attempt + 1)
            return None
        elif isinstance(error, STORAGE_ERRORS):
            logger.warning("Storage failed while processing upload %s", upload.pk, exc_info=True)
            message = STORAGE_UNAVAILABLE
        else:
            logger.exception("Unexpected error while processing upload %s", upload.pk)
            message = UNEXPECTED_ERROR
        delete_storage_objects.call([upload.object_key])
        Upload.objects.filter(pk=upload.pk).update(status=UploadStatus.FAILED, error=message, updated_at=timezone.now())
        return None


def _make_later(upload, attempt):
    """Queue the making of the photo again, after a pause that doubles with each attempt (the
    database backend defers; the immediate one, for tests and development, cannot: no retry)."""
    task = make_uploaded_photo
    if task.get_backend().supports_defer:
        delay = timedelta(seconds=min(settings.VIEWPORT_UPLOAD_RETRY_SECONDS * 2 ** (attempt - 1), 3600))
        task.using(run_after=timezone.now() + delay).enqueue(str(upload.pk), attempt)


ORIGINAL_LOST = (
    "This file was uploaded, but its bytes were lost before it could become a photo "
    "(the server stopped while processing it). Please upload it again."
)
KILLS_THE_WORKER = (
    "This file could not be made into a photo: processing it stopped the server twice. "
    "Please export it again (as a JPEG, for instance) and upload that."
)


def resume_stuck(now=None):
    """Queue again the making of photos that stayed processing for VIEWPORT_UPLOAD_PROCESSING_MINUTES
    with no task of the worker waiting or running for them: the worker died on them, or their
    task was lost (a complete cut off before it queued one). Each is queued again once: one whose
    resumed task was lost too fails (a file that kills the worker would, every round). Returns how
    many were queued."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.VIEWPORT_UPLOAD_PROCESSING_MINUTES)
    stuck = Upload.objects.filter(status=UploadStatus.PROCESSING, updated_at__lt=cutoff)
    lost_again = stuck.filter(pk__in=uploads_lost_when_resumed(since=cutoff))
    for upload in lost_again:
        logger.error("Upload %s stopped the worker again when resumed: failed", upload.pk)
    lost_again.update(status=UploadStatus.FAILED, error=KILLS_THE_WORKER, updated_at=now)
    queued = 0
    for upload in stuck.exclude(pk__in=uploads_in_the_worker(since=cutoff)):
        # Claimed by touching it: a second round finds it fresh, and its task queued.
        claimed = stuck.filter(pk=upload.pk, updated_at=upload.updated_at).update(updated_at=now)
        if claimed:
            make_uploaded_photo.enqueue(str(upload.pk), resumed=True)
            queued += 1
    return queued


def resume_processing(upload):
    """The worker's part for an upload found stuck (resume_stuck), whose complete or photo may have
    stopped anywhere: join its parts and check its bytes again, then make the photo. Parts still
    missing put it back to uploading (dropping the file again resumes it); an original that is gone
    or wrong fails it, with why on its tile; storage that fails leaves it for the next round."""
    try:
        _join_and_check(upload)
    except UploadRefused as refused:
        still = Upload.objects.filter(pk=upload.pk, status=UploadStatus.PROCESSING)
        if refused.status == 409:
            still.update(status=UploadStatus.UPLOADING, updated_at=timezone.now())
        else:
            message = ORIGINAL_LOST if refused.status == 410 else str(refused)
            still.update(status=UploadStatus.FAILED, error=message, updated_at=timezone.now())
        return None
    except STORAGE_ERRORS:
        logger.warning("Storage failed while resuming upload %s; trying again later", upload.pk, exc_info=True)
        return None
    return make_photo(upload)


def abort_abandoned(now=None):
    """Abort uploads that nothing moved on for VIEWPORT_UPLOAD_ABANDONED_HOURS, or started more
    than VIEWPORT_UPLOAD_MAX_AGE_DAYS ago whatever moved (their parts are deleted and their
    quota freed), forget finished and failed ones as old, and on S3 abort multipart uploads
    that no upload knows of. Returns how many were aborted."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.VIEWPORT_UPLOAD_ABANDONED_HOURS)
    too_old = now - timedelta(days=settings.VIEWPORT_UPLOAD_MAX_AGE_DAYS)
    aborted = 0
    uploading = Upload.objects.filter(status=UploadStatus.UPLOADING)
    for upload in uploading.filter(Q(updated_at__lt=cutoff) | Q(created_at__lt=too_old)):
        try:
            parts = default_storage.stored_parts(upload.object_key, upload.storage_upload_id)
            last_part = max((part.modified for part in parts.values()), default=None)
            if last_part and last_part >= cutoff and upload.created_at >= too_old:  # parts went to the bucket since
                Upload.objects.filter(pk=upload.pk).update(updated_at=last_part)
                continue
            default_storage.abort_parts(upload.object_key, upload.storage_upload_id)
        except NoSuchUpload:
            pass
        except STORAGE_ERRORS:
            logger.warning("Storage failed while aborting upload %s; trying again later", upload.pk, exc_info=True)
            continue
        upload.delete()
        aborted += 1
    Upload.objects.filter(status__in=[UploadStatus.DONE, UploadStatus.FAILED], updated_at__lt=cutoff).delete()
    known = set(Upload.objects.values_list("storage_upload_id", flat=True))
    aborted += default_storage.abort_unknown_uploads(known, started_before=cutoff)
    return aborted
