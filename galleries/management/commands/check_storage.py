from django.core.management.base import BaseCommand

from galleries.models import PendingDeletion, Photo
from galleries.storage import delete_objects, list_object_keys


class Command(BaseCommand):
    help = (
        "Report storage objects that no photo references (orphans) and photos whose objects are missing. "
        "With --delete-orphans, delete the orphans."
    )

    def add_arguments(self, parser):
        parser.add_argument("--delete-orphans", action="store_true", help="Delete the orphaned objects.")

    def handle(self, *args, delete_orphans=False, **options):
        stored = set(list_object_keys())
        referenced = set(Photo.objects.all().object_keys())
        orphans = sorted(stored - referenced)
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
            failed = delete_objects(orphans)
            PendingDeletion.objects.remember(failed)
            self.stdout.write(f"Deleted {len(orphans) - len(failed)} orphan(s); {len(failed)} failed and will be retried.")
