from pathlib import Path

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from galleries.storage import STORAGE_ERRORS


class Command(BaseCommand):
    help = (
        "Copy every object of photo storage (originals, thumbnails, previews) into a folder, under "
        "their keys. Objects never change once written, so one already in the folder is skipped: "
        "each run copies only what is new, and nothing is ever deleted from the folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="Where the copies go (created if missing).")

    def handle(self, *args, folder, **options):
        folder = Path(folder).resolve()
        copied = skipped = size = 0
        try:
            for key in default_storage.list_keys():
                path = file_for(folder, key)
                if path.exists():
                    skipped += 1
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                part = path.with_name(f".part-{path.name}")
                with open(part, "wb") as copy:
                    for chunk in default_storage.iter_chunks(key):
                        copy.write(chunk)
                part.rename(path)  # whole files only: a run cut short is finished by the next
                copied += 1
                size += path.stat().st_size
        except STORAGE_ERRORS as error:
            raise CommandError(
                f"Photo storage failed after {copied} new objects ({error}). Run the command again to go on."
            ) from error
        self.stdout.write(f"Copied {copied} new objects ({size / 1e6:.1f} MB) to {folder}; {skipped} were there.")


def file_for(folder, key):
    """The file of `key` inside `folder`; a key that would lead outside it is refused."""
    path = (folder / key).resolve()
    if not path.is_relative_to(folder) or path == folder:
        raise CommandError(f"Refusing the key {key!r}: it leads outside {folder}.")
    return path
