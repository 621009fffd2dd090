"""A whole gallery as one ZIP, streamed: originals stored as they are, never whole in memory.

Entries are STORED with sizes known up front (Photo.file_size), so zipstream-ng can tell the
archive's exact length before the first byte and switches to ZIP64 by itself when needed.
"""

import re
import socket
import struct
import time
from contextlib import suppress
from functools import wraps
from pathlib import PurePosixPath

import zipstream
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from galleries.uploads import clean_filename
from sharing import access, stats
from viewport import metrics, middleware

# What one send may carry: VIEWPORT_SEND_TIMEOUT bounds each send, so a slow client that keeps
# reading (256 KiB in 30 s is 9 KB/s) finishes, and one that stopped is cut off.
PIECE_SIZE = 256 * 1024
RETRY_AFTER = 30
RECHECK_SECONDS = 60


def archive_name(name, suffix=".zip"):
    """`Smith / Jones wedding` → `Smith - Jones wedding.zip`: a name made safe as a file name."""
    return f"{clean_filename(re.sub(r'[\\/]+', '-', str(name)))}{suffix}"


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


def zip_response(name, photos, web_size=False, still_allowed=None):
    """The photos' originals (or web-size copies) as a streamed ZIP download `<name>.zip`.

    A big archive streams for minutes: `still_allowed()` is asked every RECHECK_SECONDS while it
    does, and the download is cut short once it says no (the link was revoked, say).
    """
    # Storage that is down should get a clear 503 now, not a download cut short after the headers.
    default_storage.check()
    if web_size:
        photos.fill_preview_sizes()
    archive = gallery_zip(photos, web_size=web_size)
    chunks = archive if still_allowed is None else cut_when_refused(archive, still_allowed)
    chunks = metrics.counted_zip(chunks)
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Length"] = len(archive)
    response["Content-Disposition"] = content_disposition_header(True, archive_name(name))
    response["Cache-Control"] = "private, no-store"
    return response


def link_zip(request, link, photos, name):
    """Some of a share link's photos as a ZIP, under the link's download rules, counted as one
    of its ZIP downloads (the gallery's, a set's, or photos another app picks)."""
    access.check_download(request, link, "zip")
    response = zip_response(name, photos, web_size=link.serves_web_size, still_allowed=link.still_allows_zip)
    stats.count(request, link, "zip_downloads")
    return response


class DownloadRefused(Exception):
    """A download in progress is no longer allowed."""


def cut_when_refused(chunks, still_allowed):
    checked = time.monotonic()
    for chunk in chunks:
        if time.monotonic() - checked >= RECHECK_SECONDS:
            if not still_allowed():
                raise DownloadRefused("the download is no longer allowed")
            checked = time.monotonic()
        yield chunk


def gallery_zip(photos, web_size=False):
    """A sized ZipStream of the photos' originals, or with `web_size` of their previews (named
    `IMG_0001.jpg` after `IMG_0001.HEIC`); iterate it to get the archive's bytes."""
    photos = list(photos)
    archive = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=True)
    names = entry_names(
        photo.web_filename if web_size else photo.original_filename or photo.object_key for photo in photos
    )
    for photo, name in zip(photos, names, strict=True):
        key, size = (photo.preview_object_key, photo.preview_size) if web_size else (photo.object_key, photo.file_size)
        archive.add(default_storage.iter_chunks(key), name, size=size)
    return archive


# Streams at once: a ZIP holds a gunicorn thread for as long as its client downloads, so only
# VIEWPORT_ZIP_STREAMS of them may stream in each process and the other threads answer pages.


class SlotHeld:
    """An archive's bytes in pieces of at most PIECE_SIZE, holding a stream slot until the
    response is closed: gunicorn closes it after the last byte, and when the client hung up,
    stopped reading past the send timeout, or the stream failed."""

    def __init__(self, chunks, release, client=None):
        self.chunks = chunks
        self.release = release
        self.client = client  # gunicorn's socket, if any
        self.finished = False

    def __iter__(self):
        for chunk in self.chunks:
            for start in range(0, len(chunk), PIECE_SIZE):
                yield chunk[start : start + PIECE_SIZE]
        self.finished = True

    def close(self):
        release, self.release = self.release, None
        if release:
            release()
        if self.client and not self.finished:
            abort(self.client)


def abort(client):
    """Reset a connection whose answer was cut short. gunicorn would close it gracefully: from
    its main loop, waiting up to 2 s for a client that stopped reading to say something, one
    connection after another, while the worker accepts nothing."""
    with suppress(OSError):
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.shutdown(socket.SHUT_RDWR)


def stream_slot_required(view):
    """Run `view` only with a free stream slot, held until its streamed answer is closed;
    without one the answer is a 503 with Retry-After."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        slots = middleware.slots("zips", settings.VIEWPORT_ZIP_STREAMS)
        if not slots.acquire(blocking=False):
            response = render(request, "sharing/zip_busy.html", status=503)
            response["Retry-After"] = str(RETRY_AFTER)
            return response
        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            slots.release()
            raise
        if response.streaming:
            client = request.META.get("gunicorn.socket")
            response.streaming_content = SlotHeld(response.streaming_content, slots.release, client)
        else:
            slots.release()
        return response

    return wrapper
