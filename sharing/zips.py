"""A whole gallery as one ZIP, streamed: originals stored as they are, never whole in memory.

Entries are STORED with sizes known up front (Photo.file_size), so zipstream-ng can tell the
archive's exact length before the first byte and switches to ZIP64 by itself when needed.
"""

import re
from pathlib import PurePosixPath

import zipstream
from django.core.files.storage import default_storage

from galleries.uploads import clean_filename


def archive_name(gallery):
    """`Smith / Jones wedding.zip`: the gallery's name made safe as a file name."""
    name = re.sub(r"[\\/]+", "-", str(gallery))
    return f"{clean_filename(name)}.zip"


def entry_names(filenames):
    """One safe, unique entry name per file name, in order: no folders, no control characters,
    and a second `IMG_0001.jpg` becomes `IMG_0001 (2).jpg` (compared case-insensitively, since
    Windows and macOS would extract `a.jpg` and `A.jpg` onto the same file)."""
    names = [clean_filename(filename) for filename in filenames]
    taken = {name.casefold() for name in names}
    used = set()
    for index, name in enumerate(names):
        if name.casefold() in used:
            stem, suffix, number = PurePosixPath(name).stem, PurePosixPath(name).suffix, 2
            while f"{stem} ({number}){suffix}".casefold() in taken:
                number += 1
            names[index] = name = f"{stem} ({number}){suffix}"
            taken.add(name.casefold())
        used.add(name.casefold())
    return names


def gallery_zip(photos, web_size=False):
    """A sized ZipStream of the photos' originals, or with `web_size` of their previews (named
    `IMG_0001.jpg` after `IMG_0001.HEIC`); iterate it to get the archive's bytes."""
    photos = list(photos)
    archive = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=True)
    names = entry_names(photo.web_filename if web_size else photo.original_filename or photo.object_key for photo in photos)
    for photo, name in zip(photos, names):
        key, size = (photo.preview_object_key, photo.preview_size) if web_size else (photo.object_key, photo.file_size)
        archive.add(default_storage.iter_chunks(key), name, size=size)
    return archive
