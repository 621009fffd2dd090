"""Photos as one ZIP download: what the archive holds, and how it is served.

The archive (sharing/zipwriter.py) is byte-stable and knows its length, its ETag and every
entry's place before its first byte, so it is served like any file (galleries/serving.py):
with ranges, so that a dropped download resumes where it stopped and a resumed range reads only
the photos it covers. It holds the copies the delivery hands out (galleries/copies.py), in the
gallery's order, named after the photographer's files (made safe and unique), each set's photos
in a folder named after the set, dated by the capture time (else the upload time).

Every copy must be ready (its CRC-32 known, a full-size JPEG made) before the first byte: when
some are not, the task worker is asked to make them and the answer is a 503 with Retry-After
and a page that tries again by itself. No request waits for that work.
"""

import hashlib
import logging
import re
import socket
import struct
import threading
import time
from contextlib import suppress
from functools import wraps
from pathlib import PurePosixPath

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts.throttling import client_network
from galleries import copies, serving
from galleries.tasks import prepare_copies
from galleries.uploads import clean_filename
from sharing import access, stats, zipwriter
from sharing.models import ZipStream
from viewport import metrics, middleware
from viewport.http import refuse

PIECE_SIZE = serving.PIECE_SIZE  # what one send may carry (see there)
RETRY_AFTER = 30
RECHECK_SECONDS = 60
REQUEST_COPIES_AGAIN = 10 * 60  # seconds

logger = logging.getLogger(__name__)


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


def entry_paths(copies_, folders=True):
    """Each copy's path in the archive: its file name, made safe and unique, inside a folder
    named after its photo's set (with `folders`; photos of no set stay at the top)."""
    sets = [copy.photo.photo_set if folders and copy.photo.photo_set_id else None for copy in copies_]
    named = [photo_set for photo_set in dict.fromkeys(sets) if photo_set is not None]
    folder_names = entry_names(re.sub(r"[\\/]+", "-", photo_set.name) for photo_set in named)
    set_names = dict(zip(named, folder_names, strict=True))
    groups = {}
    for index, (copy, photo_set) in enumerate(zip(copies_, sets, strict=True)):
        groups.setdefault(photo_set, []).append((index, copy.filename))
    paths = [""] * len(copies_)
    for photo_set, members in groups.items():
        prefix = f"{set_names[photo_set]}/" if photo_set else ""
        for (index, _), name in zip(members, entry_names(name for _, name in members), strict=True):
            paths[index] = prefix + name
    return paths


def archive_of(copies_, folders=True):
    """The ZIP of these copies (all ready): nothing is read from storage until it is."""
    entries = [
        zipwriter.Entry(
            name=path,
            size=copy.size,
            crc32=copy.crc32,
            modified=copy.photo.captured_at or copy.photo.uploaded_at,
            read=lambda start, stop, copy=copy: copies.read(copy, start, stop, chunk_size=PIECE_SIZE, sendable=True),
        )
        for copy, path in zip(copies_, entry_paths(copies_, folders), strict=True)
    ]
    return zipwriter.Archive(entries, zone=timezone.get_default_timezone())


def zip_response(request, name, photos, delivery=copies.AS_UPLOADED, folders=True, still_allowed=None):
    """`photos` (a QuerySet, in order) as the ZIP download `<name>.zip` of the copies `delivery`
    hands out, with ranges. A big archive streams for minutes: `still_allowed()` is asked every
    RECHECK_SECONDS while it does, and the download is cut short once it says no (the link was
    revoked, say)."""
    # Storage that is down should get a clear 503 now, not a download cut short after the headers.
    default_storage.check()
    photos = photos.select_related("photo_set")
    ready = copies.copies_of(photos.all(), delivery)
    missing = [copy.photo.pk for copy in ready if not copy.ready]
    if missing:
        request_copies(missing, [copy.photo.pk for copy in ready], delivery)
        ready = copies.copies_of(photos.all(), delivery)  # made already by a task backend that runs at once
        missing = [copy.photo.pk for copy in ready if not copy.ready]
        if missing:
            return preparing(request, len(missing), len(ready), delivery)
    archive = archive_of(ready, folders)
    response = serving.serve_bytes(
        request,
        length=len(archive),
        # Counted here, where a piece sent by os.sendfile (galleries/serving.py) still has its length.
        read=lambda start, stop: metrics.counted_zip(archive.read(start, stop)),
        etag=archive.etag,
        content_type="application/zip",
        filename=archive_name(name),
        cache_control="private, no-store",
    )
    if response.streaming and still_allowed is not None:
        response.streaming_content = cut_when_refused(response.streaming_content, still_allowed)
    return response


def link_zip(request, link, photos, name, folders=True):
    """Some of a share link's photos as a ZIP, under the link's download rules, counted as one
    of its ZIP downloads (the gallery's, a set's, or photos another app picks) once per visitor,
    archive and day, when the bytes served reach its end (serving.counts_as_download)."""
    access.check_download(request, link, "zip")
    response = zip_response(request, name, photos, link.delivery, folders, still_allowed=link.still_allows_zip)
    if serving.counts_as_download(request, response):
        stats.count(request, link, "zip_downloads", version=response["ETag"])
    return response


def request_copies(photo_ids, archive_ids, delivery):
    """Ask the task worker to make these photos' copies ready, once for this archive while it
    works (clients retry every few seconds; queued tasks survive a worker's restart)."""
    what = f"{delivery.kind}:{delivery.watermark}:{','.join(sorted(map(str, archive_ids)))}"
    archive = hashlib.sha256(what.encode()).hexdigest()
    if cache.add(f"prepare-copies:{archive}", True, REQUEST_COPIES_AGAIN):
        prepare_copies.enqueue([str(pk) for pk in photo_ids], delivery.kind, delivery.watermark)


def preparing(request, missing, total, delivery):
    """A 503 that says the download is being made ready, and when to ask again."""
    seconds = min(60, max(5, 3 * missing))
    if total == 1:  # a single download
        work = "converted to a full-size JPEG" if delivery.kind == copies.Kind.JPEG else "made ready"
        message = f"This photo is being {work}. Please try again in {seconds} seconds."
    else:
        work = "converted to full-size JPEGs" if delivery.kind == copies.Kind.JPEG else "made ready"
        message = f"{missing} of {total} photo{pluralize(total)} {pluralize(missing, 'is,are')} being {work}."
    headers = {"Retry-After": str(seconds), "Cache-Control": "private, no-store"}
    return refuse(request, 503, message, "sharing/zip_preparing.html", {"seconds": seconds}, headers)


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


# Streams at once: a ZIP holds a gunicorn thread for as long as its client downloads, so only
# VIEWPORT_ZIP_STREAMS of them may stream in each process, and the other threads answer pages.
# One client network holds at most VIEWPORT_ZIP_STREAMS_PER_NETWORK of them across all servers,
# and its /24 or /48 at most VIEWPORT_ZIP_STREAMS_PER_WIDE_NETWORK. When every slot streams, a
# newcomer cuts the oldest stream that has streamed VIEWPORT_ZIP_STREAM_CUT_AFTER seconds (it
# resumes where it stopped) rather than wait behind it: a few slow readers from a handful of
# addresses cannot keep everyone else out.

_streaming = set()  # this process's SlotHeld streams
_streaming_lock = threading.Lock()


class SlotHeld:
    """An archive's bytes in pieces of at most PIECE_SIZE (they are read so: slicing copies
    nothing then), holding a stream slot until the response is closed: gunicorn closes it after
    the last byte, and when the client hung up, stopped reading past the send timeout, or the
    stream failed."""

    def __init__(self, chunks, release, client=None, stream=None, pool=None):
        self.chunks = chunks
        self.release = release
        self.pool = pool  # the slots it holds one of
        self.client = client  # gunicorn's socket, if any
        self.stream = stream  # this stream's ZipStream row, kept fresh while it streams
        self.finished = False
        self.started = time.monotonic()
        self.cut_short = False
        self.lock = threading.Lock()
        with _streaming_lock:
            _streaming.add(self)

    def __iter__(self):
        seen = time.monotonic()
        for chunk in self.chunks:
            if self.cut_short:
                raise DownloadRefused("cut short to make room for another download")
            if len(chunk) <= PIECE_SIZE:  # an empty one too: see galleries.serving._handed_on
                yield chunk
            else:
                for start in range(0, len(chunk), PIECE_SIZE):
                    yield chunk[start : start + PIECE_SIZE]
            if self.stream and time.monotonic() - seen >= RECHECK_SECONDS:
                self.stream.touch()
                seen = time.monotonic()
        self.finished = True

    def cut(self):
        """End this stream to make room: its slot is free at once, its connection reset (a
        send in progress fails), and without a connection it ends at its next piece."""
        self.cut_short = True
        self.give_back()
        if self.client:
            abort(self.client)

    def give_back(self):
        with self.lock:
            release, self.release = self.release, None
        if release:
            release()

    def close(self):
        self.give_back()
        with _streaming_lock:
            _streaming.discard(self)
        if self.client and not self.finished:
            abort(self.client)


def make_room(slots):
    """Cut this process's oldest stream, if it has streamed VIEWPORT_ZIP_STREAM_CUT_AFTER
    seconds, and take its slot from `slots`; False when there is none to cut."""
    old_enough = time.monotonic() - settings.VIEWPORT_ZIP_STREAM_CUT_AFTER
    with _streaming_lock:
        candidates = [
            held for held in _streaming if held.pool is slots and held.started <= old_enough and not held.cut_short
        ]
        oldest = min(candidates, key=lambda held: held.started, default=None)
        if oldest is not None:
            oldest.cut_short = True
    if oldest is None:
        return False
    logger.info("Cut a ZIP stream of %.0f s to make room for another", time.monotonic() - oldest.started)
    oldest.cut()
    return slots.acquire(blocking=False)


def abort(client):
    """Reset a connection whose answer was cut short. gunicorn would close it gracefully: from
    its main loop, waiting up to 2 s for a client that stopped reading to say something, one
    connection after another, while the worker accepts nothing."""
    with suppress(OSError):
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.shutdown(socket.SHUT_RDWR)


def stream_slot_required(view):
    """Run `view` only with a stream slot of this process (a free one, or the oldest stream's:
    make_room()) and of the client's network, held until its streamed answer is closed; without
    one the answer is a 503 (this process is busy) or a 429 (this network, or its neighbours,
    stream enough already), with Retry-After. A HEAD streams nothing and needs no slot."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "HEAD":
            return view(request, *args, **kwargs)
        slots = middleware.slots("zips", settings.VIEWPORT_ZIP_STREAMS)
        if not slots.acquire(blocking=False) and not make_room(slots):
            return busy(request, 503)
        stream = ZipStream.objects.start(
            client_network(request),
            client_network(request, wide=True),
            settings.VIEWPORT_ZIP_STREAMS_PER_NETWORK,
            settings.VIEWPORT_ZIP_STREAMS_PER_WIDE_NETWORK,
        )
        if stream is None:
            slots.release()
            return busy(request, 429)

        def release():
            slots.release()
            stream.end()

        try:
            response = view(request, *args, **kwargs)
        except BaseException:
            release()
            raise
        if response.streaming:
            client = request.META.get("gunicorn.socket")
            response.streaming_content = SlotHeld(response.streaming_content, release, client, stream, slots)
        else:
            release()
        return response

    return wrapper


def busy(request, status):
    """A 503 (this server streams all it may) or 429 (this network streams enough already)."""
    streams = settings.VIEWPORT_ZIP_STREAMS_PER_NETWORK
    message = (
        f"You are already downloading {streams} archives — please try again once one has finished."
        if status == 429
        else "Many people are downloading right now — please try again in a minute."
    )
    headers = {"Retry-After": str(RETRY_AFTER)}
    return refuse(request, status, message, "sharing/zip_busy.html", {"streams": streams}, headers)
