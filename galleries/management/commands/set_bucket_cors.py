import time

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from galleries.storage import STORAGE_ERRORS, PhotoS3Storage


def cors_rule(origins):
    """What browsers need to send upload parts straight to the bucket from the site's pages: a
    PUT from the site's origin, and the ETag of each part readable (nothing else is allowed)."""
    return {
        "AllowedOrigins": sorted(origins),
        "AllowedMethods": ["PUT"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3600,
    }


class Command(BaseCommand):
    help = (
        "Give the photo bucket the CORS rule browsers need to upload parts straight to it: PUT from the "
        "site's address (VIEWPORT_SITE_URL) and DJANGO_CSRF_TRUSTED_ORIGINS, or the --origin given. Works on "
        "S3, SeaweedFS, MinIO and R2; replaces the bucket's CORS rules."
    )

    def add_arguments(self, parser):
        parser.add_argument("--origin", action="append", default=[], help="An origin to allow (repeatable).")
        parser.add_argument(
            "--wait", type=int, default=0, metavar="SECONDS", help="Keep trying this long while storage is starting."
        )

    def handle(self, *args, origin=(), wait=0, **options):
        if not isinstance(default_storage, PhotoS3Storage):
            self.stdout.write("Photos are on local storage: uploads go through the app, no CORS rule is needed.")
            return
        origins = set(origin) or {settings.VIEWPORT_SITE_URL, *settings.CSRF_TRUSTED_ORIGINS}
        rule = cors_rule(origin.rstrip("/") for origin in origins)
        client = default_storage.connection.meta.client
        deadline = time.monotonic() + wait
        while True:
            try:
                client.put_bucket_cors(Bucket=default_storage.bucket_name, CORSConfiguration={"CORSRules": [rule]})
                break
            except STORAGE_ERRORS as error:
                if time.monotonic() >= deadline:
                    raise CommandError(f"Could not set the bucket's CORS rule: {error}") from error
                time.sleep(2)
        allowed = ", ".join(rule["AllowedOrigins"])
        self.stdout.write(f"Bucket {default_storage.bucket_name}: PUT allowed from {allowed}.")
