from django.core.management.base import BaseCommand

from galleries.tasks import retry_pending_deletions


class Command(BaseCommand):
    help = "Try again to delete storage objects whose delete failed (run it from cron, e.g. every 10 minutes)."

    def handle(self, *args, **options):
        left = retry_pending_deletions()
        self.stdout.write(f"{left} object(s) still waiting to be deleted." if left else "No deletes pending.")
        if left:
            raise SystemExit(1)
