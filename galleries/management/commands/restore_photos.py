from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from galleries.storage import STORAGE_ERRORS


class Command(BaseCommand):
    help = (
        "Copy a folder written by backup_photos into photo storage (an empty bucket, after the "
        "database is restored). Objects already in storage are skipped, so it can be run again "
        "after an interruption. Then `check_storage` lists anything still missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="A folder written by backup_photos.")

    def handle(self, *args, folder, **options):
        folder = Path(folder).resolve()
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        copied = skipped = 0
        try:
            stored = set(default_storage.list_keys())
            for path in sorted(folder.rglob("*")):
                if not path.is_file() or path.name.startswith(".part-"):
                    continue
                key = path.relative_to(folder).as_posix()
                if key in stored:
                    skipped += 1
                    continue
                with open(path, "rb") as content:
                    saved_as = default_storage.save(key, File(content))
                if saved_as != key:
                    raise CommandError(f"Storage saved {key} as {saved_as}.")
                copied += 1
        except STORAGE_ERRORS as error:
            raise CommandError(
                f"Photo storage failed after {copied} objects ({error}). Run the command again to go on."
            ) from error
        self.stdout.write(f"Restored {copied} objects from {folder}; {skipped} were in storage already.")
