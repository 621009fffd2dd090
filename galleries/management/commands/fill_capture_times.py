"""Record the capture time of photos uploaded before Viewport recorded it.

Reads only each original's metadata: for a JPEG the first bytes (its EXIF sits near the start),
for other formats the file, but never decodes a pixel. Photos whose file has no capture time
keep none and sort by file name after the others; running the command again reads them again.
"""

import io

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand

from galleries.images import read_capture_time
from galleries.models import Photo
from galleries.ordering import stored_capture_time
from galleries.storage import STORAGE_ERRORS

JPEG_HEAD = 256 * 1024  # the markers before a JPEG's pixels: EXIF, ICC profile, MPF, XMP


def head_of(photo):
    """The original's bytes as far as its capture time needs them."""
    limit = JPEG_HEAD if photo.content_type == "image/jpeg" else None
    data = io.BytesIO()
    chunks = default_storage.iter_chunks(photo.object_key, chunk_size=64 * 1024)
    try:
        for chunk in chunks:
            data.write(chunk)
            if limit and data.tell() >= limit:
                break
    finally:
        chunks.close()
    return data


class Command(BaseCommand):
    help = "Read the capture time (EXIF) of photos that have none recorded."

    def add_arguments(self, parser):
        parser.add_argument("--gallery", help="Only this gallery's photos (its id).")

    def handle(self, *args, gallery=None, **options):
        photos = Photo.objects.filter(captured_at__isnull=True).only("pk", "object_key", "content_type")
        if gallery:
            photos = photos.filter(gallery_id=gallery)
        found = missing = failed = 0
        for photo in photos.iterator(chunk_size=500):
            try:
                taken = stored_capture_time(read_capture_time(head_of(photo)))
            except STORAGE_ERRORS + (OSError,) as error:
                failed += 1
                self.stderr.write(f"{photo.pk} ({photo.object_key}): {error}")
                continue
            if taken is None:
                missing += 1
            else:
                found += 1
                Photo.objects.filter(pk=photo.pk).update(captured_at=taken)
        self.stdout.write(f"{found} photos got their capture time; {missing} have none; {failed} could not be read.")
