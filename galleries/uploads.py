"""Storing uploaded photos: checks, renditions, storage objects, then the row.

The order matters. Storage is slow and may hang, so the objects are written first, outside any
database transaction; the row is inserted afterwards in a short one. If anything fails, the
objects written so far are deleted (or remembered for a later delete) and no row exists, so
there is never a row without its objects nor, for long, an object without a row.
"""

import logging
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from galleries.copies import facts_of
from galleries.images import ImageRejected, make_renditions
from galleries.models import PendingDeletion, Photo
from galleries.ordering import stored_capture_time
from galleries.storage import STORAGE_ERRORS
from galleries.tasks import delete_storage_objects

logger = logging.getLogger(__name__)

STORAGE_UNAVAILABLE = "Photo storage is unavailable right now. Nothing was saved; please try again in a minute."
UNEXPECTED_ERROR = "Something went wrong while processing this file. Nothing was saved; please try again."
NO_FILES = "Choose at least one photo to upload."
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


def store_photo(gallery, upload, photo_set=None):
    """Store one uploaded photo (the original byte for byte, its thumbnail, preview and sizes) and
    return the new Photo, in `photo_set` if one is given (a set of the gallery).

    Raises ImageRejected with a message for the photographer, or one of STORAGE_ERRORS.
    """
    check_size(upload)
    renditions = make_renditions(upload, settings.VIEWPORT_MAX_IMAGE_PIXELS)
    facts = facts_of(upload)  # what downloads need: CRC-32s and where the private metadata is
    photo = Photo(
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
    upload.content_type = renditions.content_type  # stored with the object, whatever the browser said
    upload.seek(0)
    written = []
    writing = None
    try:
        for key, content in [
            (photo.thumbnail_object_key, ContentFile(renditions.thumbnail)),
            (photo.preview_object_key, ContentFile(renditions.preview)),
            *((photo.size_keys[name], ContentFile(data)) for name, data in renditions.sizes.items()),
            (photo.object_key, upload),
        ]:
            writing = key
            stored_as = default_storage.save(key, content)
            writing = None
            written.append(stored_as)
            if stored_as != key:
                raise RuntimeError(f"storage renamed {key} to {stored_as}")
        photo.save(force_insert=True)  # touches the gallery too
    except BaseException as error:
        if written:
            delete_storage_objects.call(written)
        if writing:
            # A write that failed or timed out may still land (a hung S3 catches up later):
            # delete it once storage answers again, rather than wait for it now.
            PendingDeletion.objects.remember({writing: str(error) or type(error).__name__})
        raise
    return photo


@dataclass
class UploadBatch:
    """What happened to each file of one upload request."""

    photos: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # [{"file_name": …, "message": …}]
    storage_down: bool = False

    @property
    def status_code(self):
        return 200 if self.photos else (503 if self.storage_down else 400)

    def add_error(self, upload, message):
        self.errors.append({"file_name": upload.name if upload else "", "message": message})


def store_photos(gallery, uploads, photo_set=None):
    """Store each upload on its own: one broken file never costs the others theirs. Once
    storage is down, the rest are not tried (each would wait out the timeouts)."""
    batch = UploadBatch()
    if not uploads:
        batch.add_error(None, NO_FILES)
    for upload in uploads:
        try:
            if batch.storage_down:
                batch.add_error(upload, STORAGE_UNAVAILABLE)
            else:
                batch.photos.append(store_photo(gallery, upload, photo_set))
        except ImageRejected as error:
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
