from django.tasks import task

from galleries.models import PendingDeletion
from galleries.storage import STORAGE_ERRORS, check_reachable, delete_objects


@task
def delete_storage_objects(keys):
    """Delete objects whose rows are gone; remember the ones that fail so they are retried."""
    try:
        check_reachable()  # a hung S3 fails this in seconds; the deletes would wait out every timeout
    except (OSError, *STORAGE_ERRORS) as error:
        failed = dict.fromkeys(keys, f"storage unreachable: {error}")
    else:
        failed = delete_objects(keys)
    PendingDeletion.objects.filter(object_key__in=[k for k in keys if k not in failed]).delete()
    PendingDeletion.objects.remember(failed)
    return len(keys) - len(failed)


def retry_pending_deletions(limit=10_000):
    """Try again to delete every object whose delete failed before. Returns how many are left."""
    keys = list(PendingDeletion.objects.order_by("last_attempt_at").values_list("object_key", flat=True)[:limit])
    if keys:
        delete_storage_objects.call(keys)
    return PendingDeletion.objects.count()
