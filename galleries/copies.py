"""The copies a photo is delivered as: what a share link, or the photographer, hands out.

One idea, in one place. A delivery is a kind and whether it is stripped:

- `original`: the photographer's file, byte for byte;
- `jpeg`: the original when it is a JPEG, else a full-size JPEG made from it once
  (images.full_size_jpeg), kept in storage as a PhotoCopy and deleted with the photo;
- `web`: the 2048 px preview JPEG made at upload (it carries no metadata);
- stripped (a link's `strip_location`): the same bytes with the location, the camera owner's name
  and the serial numbers blanked in place (galleries/metadata.py). Nothing more is stored: the
  stripped copy has the same length and the same offsets, and is read from the stored object
  with the blanks laid over it. Only its CRC-32 differs.

A `Copy` names its stored object and knows its size, CRC-32 and patches: a ZIP needs all three
before its first byte, so they are computed once, at upload (the bytes are at hand) or by the
task worker from the stored object (prepare(): each object read once). A copy that lacks any is
not `ready`; prepare() makes it so. A photo that cannot be converted is handed out as it is.

- watermarked (a link's `watermark`): the web size or full-size JPEG with the photographer's
  watermark burned in (galleries/watermarks.py), made once per watermark version and kept as a
  PhotoCopy (`watermarked-web`, whose object is the watermarked preview the link shows, or
  `watermarked-jpeg`) under a key that names the version: a copy of another version is not made.
  It carries no metadata, so there is nothing to strip. Originals are never watermarked.

Another kind of copy is a Kind, a PhotoCopy kind, a branch in copy_of() and its making in
prepare(); downloads, ZIPs, ranges and stripping then just work.
"""

import hashlib
import logging
import tempfile
import zlib
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, models
from django.utils import timezone

from galleries import images, metadata, watermarks
from galleries.models import Photo, PhotoCopy
from galleries.storage import STORAGE_ERRORS

logger = logging.getLogger(__name__)

READ_CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 16 * 1024 * 1024


class Kind(models.TextChoices):
    ORIGINAL = "original", "Originals"
    WEB = "web", "Web size (2048 px JPEG)"
    JPEG = "jpeg", "Full-size JPEG"


@dataclass(frozen=True)
class Delivery:
    """What a download hands out: copies of `kind`, stripped of location and owner or not."""

    kind: str = Kind.ORIGINAL
    strip: bool = False
    watermark: str = ""  # the version of the watermark burned into web-size and JPEG copies, if any

    @property
    def watermarked_kind(self):
        """The PhotoCopy kind of its watermarked copies, or "" (originals are never watermarked)."""
        return f"watermarked-{self.kind}" if self.watermark and self.kind != Kind.ORIGINAL else ""


# The photographer's own downloads: the originals as uploaded.
AS_UPLOADED = Delivery(Kind.ORIGINAL, strip=False)


@dataclass(frozen=True)
class Copy:
    """One photo as a delivery hands it out. `key` is the stored object read for it ("" while a
    converted copy is not made yet); `patches` are laid over it ([] for none, None while the
    original's metadata has not been read)."""

    photo: Photo
    key: str
    size: int | None
    crc32: int | None
    patches: list | None
    filename: str
    content_type: str
    modified: datetime

    @property
    def ready(self):
        """Everything a ZIP needs before its first byte is known."""
        return self.servable and self.crc32 is not None

    @property
    def servable(self):
        """What a single download needs is known (its CRC-32 is not)."""
        return bool(self.key) and self.size is not None and self.patches is not None

    @property
    def etag(self):
        """A strong validator. An original never changes under its key (which holds the photo's
        UUID); a stripped, converted or preview copy is told by its CRC-32 as well."""
        as_uploaded = self.key == self.photo.object_key and not self.patches
        tag = f"{self.key}|{self.size}|{'' if as_uploaded else self.crc32}"
        return f'"{hashlib.sha256(tag.encode()).hexdigest()[:32]}"'


def copy_of(photo, delivery, made=None):
    """The Copy of `photo` that `delivery` hands out. `made` is the photo's PhotoCopy of the
    delivery's kind, when the caller fetched it (copies_of() does, for many photos)."""
    if delivery.watermarked_kind:
        if made is None:
            made = PhotoCopy.objects.filter(photo=photo, kind=delivery.watermarked_kind).first()
        if made and made.object_key != watermarks.copy_key(photo, delivery.watermark, delivery.kind):
            made = None  # of another watermark: not made yet
        return Copy(
            photo,
            key=made.object_key if made else "",
            size=made.size if made else None,
            crc32=made.crc32 if made else None,
            patches=[] if made else None,
            filename=photo.web_filename,
            content_type="image/jpeg",
            modified=made.created_at if made else photo.uploaded_at,
        )
    if delivery.kind == Kind.WEB:
        return Copy(
            photo,
            key=photo.preview_object_key,
            size=photo.preview_size,
            crc32=photo.preview_crc32,
            patches=[],
            filename=photo.web_filename,
            content_type="image/jpeg",
            modified=photo.uploaded_at,
        )
    if delivery.kind == Kind.JPEG and not images.is_jpeg(photo.content_type):
        if made is None:
            made = PhotoCopy.objects.filter(photo=photo, kind=delivery.kind).first()
        if made and made.object_key == photo.object_key:  # it could not be converted: the original
            return copy_of(photo, Delivery(Kind.ORIGINAL, delivery.strip))
        return Copy(
            photo,
            key=made.object_key if made else "",
            size=made.size if made else None,
            crc32=(made.stripped_crc32 if delivery.strip else made.crc32) if made else None,
            patches=(metadata.decode(made.private_metadata) if delivery.strip else []) if made else None,
            filename=photo.web_filename,
            content_type="image/jpeg",
            modified=made.created_at if made else photo.uploaded_at,
        )
    known = photo.private_metadata is not None
    return Copy(
        photo,
        key=photo.object_key,
        size=photo.file_size,
        crc32=(photo.stripped_crc32 if known else None) if delivery.strip else photo.crc32,
        patches=(metadata.decode(photo.private_metadata) if known else None) if delivery.strip else [],
        filename=photo.original_filename or photo.object_key,
        content_type=photo.content_type,
        modified=photo.uploaded_at,
    )


# How long a single download waits for a decode slot to convert its photo to a full-size JPEG
# (images.full_size_jpeg: seconds of work for a large photo) before it leaves that to the worker:
# not at all, so that a client asking for many unconverted photos holds no request thread waiting.
REQUEST_DECODE_WAIT = 0


_converting = set()  # the photos this process is converting to full-size JPEGs now


class NotReady(Exception):
    """A copy that is not made yet and that this request may not make: the task worker makes it
    (prepare_copies), and the client is asked to come back (sharing.zips.preparing)."""


def servable_copy(photo, delivery):
    """The copy of `photo` for a single download, made servable now if it is not yet: one photo,
    read once, within the request. It is converted to a full-size JPEG here only when a decode
    slot is free at once (REQUEST_DECODE_WAIT), and a watermarked one (decoded whole, then burned) is
    never made here: NotReady."""
    copy = copy_of(photo, delivery)
    if copy.servable:
        return copy
    if delivery.watermarked_kind == f"watermarked-{Kind.JPEG}":
        raise NotReady(photo)
    try:
        return prepare(photo, delivery, wait=REQUEST_DECODE_WAIT)
    except images.Busy:
        raise NotReady(photo) from None


def copies_of(photos, delivery):
    """copy_of() for each photo, in order, with one query for the copies made from them."""
    photos = list(photos)
    made = {}
    kind = delivery.watermarked_kind or (delivery.kind if delivery.kind == Kind.JPEG else "")
    if kind:
        made = {c.photo_id: c for c in PhotoCopy.objects.filter(photo__in=photos, kind=kind)}
    return [copy_of(photo, delivery, made.get(photo.pk)) for photo in photos]


def read(copy, start=0, stop=None, chunk_size=READ_CHUNK, sendable=False):
    """The copy's bytes from `start` to `stop` (the end), in chunks of at most `chunk_size`: the
    stored object's, with the copy's patches laid over them (`sendable`: see storage.FileRange;
    the pieces that carry patches are read)."""
    position = start
    chunks = default_storage.iter_chunks(copy.key, chunk_size=chunk_size, start=start, stop=stop, sendable=sendable)
    for chunk in chunks:
        yield metadata.apply(chunk, position, copy.patches) if copy.patches else chunk
        position += len(chunk)


# Facts


def facts_of(file):
    """What downloads need to know of a stored file: its CRC-32, its private metadata (patches,
    as stored) and the CRC-32 of the file with them applied. Reads `file` once more after the
    metadata (a spooled upload, or a temporary copy of a stored object)."""
    patches = metadata.private_metadata(file)
    crc32 = stripped_crc32 = 0
    position = 0
    file.seek(0)
    while chunk := file.read(READ_CHUNK):
        crc32 = zlib.crc32(chunk, crc32)
        stripped_crc32 = zlib.crc32(metadata.apply(chunk, position, patches), stripped_crc32) if patches else crc32
        position += len(chunk)
    file.seek(0)
    return {"crc32": crc32, "private_metadata": metadata.encode(patches), "stripped_crc32": stripped_crc32}


def prepare(photo, delivery, wait=None):
    """Make what `delivery` needs of `photo` and is missing: the original's facts, the preview's
    CRC-32 and size, a full-size JPEG. Reads the original at most once. Returns the ready Copy
    (or raises one of STORAGE_ERRORS, or FileNotFoundError). Converting waits at most `wait`
    seconds for a decode slot (None: its turn), else raises images.Busy, as it does at once
    while another thread of this process converts the same photo."""
    if delivery.watermarked_kind:
        return _prepare_watermarked(photo, delivery)
    if _needs_jpeg(photo, delivery):
        if wait is not None and photo.pk in _converting:
            raise images.Busy()  # the thread converting it stores it: no use holding this one
        with images.decode_slot(wait):
            if _needs_jpeg(photo, delivery):  # not made meanwhile by a thread that held the slot
                _converting.add(photo.pk)
                try:
                    _convert(photo)
                finally:
                    _converting.discard(photo.pk)
        photo.refresh_from_db()
    if photo.crc32 is None or photo.private_metadata is None:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as original:
            _read_original(photo, original)
            Photo.objects.filter(pk=photo.pk).update(**facts_of(original))
    if photo.preview_crc32 is None or photo.preview_size is None:
        preview = b"".join(default_storage.iter_chunks(photo.preview_object_key))
        Photo.objects.filter(pk=photo.pk).update(preview_crc32=zlib.crc32(preview), preview_size=len(preview))
    photo.refresh_from_db()
    return copy_of(photo, delivery)


def _needs_jpeg(photo, delivery):
    return (
        delivery.kind == Kind.JPEG
        and not images.is_jpeg(photo.content_type)
        and not PhotoCopy.objects.filter(photo=photo, kind=delivery.kind).exists()
    )


def _read_original(photo, file):
    for chunk in default_storage.iter_chunks(photo.object_key):
        file.write(chunk)
    file.seek(0)


def _convert(photo):
    """Make and store the full-size JPEG of `photo`, and its original's facts while the original
    is at hand, if they are missing. One that cannot be converted is handed out as it is."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as original:
        _read_original(photo, original)
        if photo.crc32 is None or photo.private_metadata is None:
            Photo.objects.filter(pk=photo.pk).update(**facts_of(original))
        try:
            _store_jpeg(photo, images.full_size_jpeg(original))
        except images.ImageRejected as error:
            logger.error("%s cannot be converted to JPEG (%s): its original is handed out", photo, error)
            photo.refresh_from_db()
            _store_original_as_jpeg(photo)


def _facts_known(photo):
    return None not in (photo.crc32, photo.private_metadata, photo.preview_crc32, photo.preview_size)


def _store_jpeg(photo, data):
    key = photo.copy_key(Kind.JPEG)
    default_storage.save(key, ContentFile(data))
    facts = facts_of(ContentFile(data))
    try:
        PhotoCopy.objects.update_or_create(
            photo=photo,
            kind=Kind.JPEG,
            defaults={"object_key": key, "size": len(data), "created_at": timezone.now(), **facts},
        )
    except IntegrityError:
        if not Photo.objects.filter(pk=photo.pk).exists():  # deleted meanwhile: so is its copy
            default_storage.delete_many([key])
        elif not PhotoCopy.objects.filter(photo=photo, kind=Kind.JPEG).exists():
            raise


def _store_original_as_jpeg(photo):
    """A photo that cannot be converted is handed out as it is, rather than a ZIP wait for it."""
    PhotoCopy.objects.get_or_create(
        photo=photo,
        kind=Kind.JPEG,
        defaults={
            "object_key": photo.object_key,
            "size": photo.file_size,
            "crc32": photo.crc32,
            "private_metadata": photo.private_metadata,
            "stripped_crc32": photo.stripped_crc32,
        },
    )


def _prepare_watermarked(photo, delivery):
    """The watermarked copy with the photographer's current watermark, made and recorded unless it
    is: the web size is the watermarked preview (made now unless a visit made it already), the
    full-size JPEG is burned into the full-size clean JPEG (made first, if need be)."""
    photographer = photo.gallery.owner
    delivery = Delivery(delivery.kind, delivery.strip, photographer.watermark_version)
    if copy_of(photo, delivery).ready:
        return copy_of(photo, delivery)
    key = watermarks.copy_key(photo, delivery.watermark, delivery.kind)
    if delivery.kind == Kind.WEB:
        try:
            with default_storage.open(key) as file:
                data = file.read()
        except FileNotFoundError:
            data = watermarks.make(photo, photographer, ["preview.jpg"])["preview.jpg"]
    else:
        clean = prepare(photo, Delivery(Kind.JPEG))
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as file:
            for chunk in read(clean):
                file.write(chunk)
            data = images.watermarked_full_size(file, watermarks.watermark_of(photographer))
        default_storage.save(key, ContentFile(data))
    crc32 = zlib.crc32(data)
    try:
        PhotoCopy.objects.update_or_create(
            photo=photo,
            kind=delivery.watermarked_kind,
            defaults={
                "object_key": key,
                "size": len(data),
                "crc32": crc32,
                "private_metadata": [],
                "stripped_crc32": crc32,
                "created_at": timezone.now(),
            },
        )
    except IntegrityError:
        if Photo.objects.filter(pk=photo.pk).exists():
            raise
    return copy_of(photo, delivery)


def prepare_all(photos, delivery):
    """prepare() each photo whose copy is not ready; one that fails is logged and skipped.
    Returns how many are ready now."""
    ready = 0
    for copy in copies_of(photos, delivery):
        if copy.ready and (delivery.watermarked_kind or _facts_known(copy.photo)):
            ready += 1
            continue
        try:
            ready += prepare(copy.photo, delivery).ready
        except (*STORAGE_ERRORS, OSError, images.ImageRejected):
            logger.warning("Could not prepare %s for downloads", copy.photo.object_key, exc_info=True)
    return ready
