"""Give photos stored before Viewport made them their sizes for srcset (WebP of 160 to 1080 px,
a 1080 px JPEG: galleries.images.SIZES) and their placeholder.

Each is made from the photo's preview (2048 px, upright, sRGB): a small read, and a small decode,
whatever the original. A photo gets what it misses and is then done, so the command resumes
where it stopped and a second run does nothing more. Objects are written before the row names
them: an interrupted run leaves at most one photo's objects behind, which the next run writes again
under the same keys (and check_storage reports meanwhile).
"""

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db.models.functions import Length

from galleries.images import ImageRejected, make_renditions, sizes_for
from galleries.models import Photo
from galleries.storage import STORAGE_ERRORS
from galleries.tasks import delete_storage_objects


def missing(photo):
    """The names of the sizes `photo` should have and has not."""
    return [name for name in sizes_for((photo.width or 1, photo.height or 1)) if name not in photo.size_keys]


class Command(BaseCommand):
    help = "Make the WebP sizes and placeholder of photos stored without them (from their previews)."

    def add_arguments(self, parser):
        parser.add_argument("--gallery", help="Only this gallery's photos (its id).")

    def handle(self, *args, gallery=None, **options):
        photos = Photo.objects.only("pk", "gallery_id", "preview_object_key", "width", "height", "size_keys").annotate(
            placeholder_bytes=Length("placeholder")
        )
        if gallery:
            photos = photos.filter(gallery_id=gallery)
        made = failed = 0
        for photo in photos.order_by("pk").iterator(chunk_size=500):
            names = missing(photo)
            if not names and photo.placeholder_bytes:
                continue
            try:
                self.make(photo, names)
            except (ImageRejected, *STORAGE_ERRORS, OSError) as error:
                failed += 1
                self.stderr.write(f"{photo.pk} ({photo.preview_object_key}): {error}")
                continue
            made += 1
            if made % 100 == 0:
                self.stdout.write(f"{made} photos done …")
        self.stdout.write(f"{made} photos got their sizes and placeholder; {failed} could not be read or stored.")

    def make(self, photo, names):
        with default_storage.open(photo.preview_object_key, "rb") as file:
            preview = file.read()
        renditions = make_renditions(preview, settings.VIEWPORT_MAX_IMAGE_PIXELS, sizes=names)
        keys = {name: photo.size_key(name) for name in renditions.sizes}
        for name, data in renditions.sizes.items():
            default_storage.save(keys[name], ContentFile(data))
        updated = Photo.objects.filter(pk=photo.pk).update(
            size_keys={**photo.size_keys, **keys}, placeholder=renditions.placeholder
        )
        if not updated:  # deleted meanwhile: its new objects go too
            delete_storage_objects.call(list(keys.values()))
