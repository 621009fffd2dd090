from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.utils import timezone

from galleries import watermarks
from galleries.models import Photo
from galleries.tasks import delete_storage_objects


class Command(BaseCommand):
    help = (
        "Report storage objects that no photo or photographer's logo or watermark references (orphans), "
        "watermarked renditions of an old watermark among them, and photos whose "
        "objects are missing. With --delete-orphans, delete the orphans older than --min-age minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--delete-orphans", action="store_true", help="Delete the orphaned objects.")
        parser.add_argument(
            "--min-age",
            type=int,
            default=60,
            metavar="MINUTES",
            help="Only delete orphans written at least this long ago (default 60): an upload in progress "
            "writes its objects before its photo's row.",
        )

    def handle(self, *args, delete_orphans=False, min_age=60, **options):
        stored = set(default_storage.list_keys())
        referenced = set(Photo.objects.all().object_keys()) | watermarks.live_keys(stored)
        photographers = get_user_model().objects
        logos = set(photographers.exclude(logo_key="").values_list("logo_key", flat=True))
        logos |= set(photographers.exclude(watermark_image_key="").values_list("watermark_image_key", flat=True))
        orphans = sorted(stored - referenced - logos)
        missing = Photo.objects.filter(object_key__in=sorted(referenced - stored)).values_list("pk", "object_key")
        for key in orphans:
            self.stdout.write(f"orphan object: {key}")
        for pk, key in missing:
            self.stdout.write(f"missing object: photo {pk} → {key}")
        missing_renditions = sorted(referenced - stored - {key for _, key in missing})
        for key in missing_renditions:
            self.stdout.write(f"missing thumbnail or preview: {key}")
        self.stdout.write(
            f"{len(stored)} objects, {len(orphans)} orphaned, {len(missing)} photo(s) missing their original, "
            f"{len(missing_renditions)} missing renditions."
        )
        if delete_orphans and orphans:
            old_enough = set(default_storage.list_keys(modified_before=timezone.now() - timedelta(minutes=min_age)))
            to_delete = [key for key in orphans if key in old_enough]
            deleted = delete_storage_objects.call(to_delete) if to_delete else 0
            self.stdout.write(
                f"Deleted {deleted} orphan(s); {len(orphans) - len(to_delete)} younger than {min_age} minutes kept; "
                f"any that failed will be retried."
            )
