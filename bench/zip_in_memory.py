"""The straightforward way to build a gallery's ZIP, for zip_bench to compare with: every original
read whole, zipfile into a BytesIO. Runs in a fresh process for its peak memory, with the
environment of the benchmark that starts it: `python -m bench.zip_in_memory <gallery_id>`.
Prints one line of JSON."""

import io
import json
import sys
import time
import zipfile

import django

django.setup()

from django.core.files.storage import default_storage  # noqa: E402

from bench.measure import maxrss_kib  # noqa: E402
from galleries.models import Photo  # noqa: E402


def main(gallery_id):
    photos = list(Photo.objects.filter(gallery_id=gallery_id).in_display_order())
    default_storage.exists(photos[0].object_key)  # connect before the baseline
    before = maxrss_kib()
    start = time.perf_counter()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for photo in photos:
            with default_storage.open(photo.object_key, "rb") as file:
                archive.writestr(photo.original_filename, file.read())
    data = buffer.getvalue()
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "bytes": len(data),
                "seconds": seconds,
                "first_byte_seconds": seconds,
                "mb_per_second": len(data) / 1e6 / seconds,
                "peak_growth_mib": (maxrss_kib() - before) / 1024,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
