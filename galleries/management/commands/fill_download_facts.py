"""Compute what downloads need for photos stored before Viewport recorded it.

A ZIP needs every entry's CRC-32 before its first byte, and a link that removes locations needs
to know where each original keeps them (galleries/copies.py). Photos uploaded since are done at
upload; this reads each older original once (and its preview). A ZIP that meets a photo still
without them asks the task worker to do the same, and the client waits for it: run this once
after upgrading so nobody has to. With --jpeg it also makes the full-size JPEG copies of photos
that are not JPEGs (those are made anyway when a link hands them out).
"""

from django.core.management.base import BaseCommand
from django.db.models import Q

from galleries import copies
from galleries.models import Photo


class Command(BaseCommand):
    help = "Record the CRC-32s and private metadata of photos uploaded before they were recorded."

    def add_arguments(self, parser):
        parser.add_argument("--gallery", help="Only this gallery's photos (its id).")
        parser.add_argument("--jpeg", action="store_true", help="Make full-size JPEG copies too.")

    def handle(self, *args, gallery=None, jpeg=False, **options):
        missing = Q(crc32__isnull=True) | Q(private_metadata__isnull=True) | Q(preview_crc32__isnull=True)
        photos = Photo.objects.filter(missing)
        if jpeg:
            photos = photos | Photo.objects.without_copy(copies.Kind.JPEG)
        if gallery:
            photos = photos.filter(gallery_id=gallery)
        delivery = copies.Delivery(copies.Kind.JPEG if jpeg else copies.Kind.ORIGINAL)
        count = photos.count()
        ready = copies.prepare_all(photos.distinct().order_by("uploaded_at").iterator(chunk_size=500), delivery)
        self.stdout.write(f"{ready} of {count} photos are ready for downloads; {count - ready} could not be read.")
