"""Photo files as HTTP answers: the one place that builds them, for every view that serves one.

- Thumbnails and previews pass through the app, so every request meets the caller's checks
  again. Browsers keep them `max_age` seconds, then revalidate: a matching If-None-Match (or
  If-Modified-Since) gets a 304, and a HEAD its headers, without reading storage.
- A single download (a galleries.copies.Copy) is a redirect to a short-lived signed URL where
  storage has one and the copy is its stored object as it is (S3, which serves ranges itself);
  otherwise the app serves it, ranges and all (local files, and copies stripped on the way).
- serve_bytes() serves anything streamed by the app, a copy or a ZIP archive, with HTTP ranges:
  `Accept-Ranges: bytes`, a strong ETag, `Range: bytes=a-b`, `a-` or `-n` as a 206 with
  Content-Range, If-Range, 416 for a range outside the content, and HEAD, which answers as a GET
  would with no body and reads nothing.

Who counts what is the caller's business: counts_as_download() tells an answer that hands out a
file up to its end (a GET answered whole, redirected, or a range to the last byte) from one that
stops short.
"""

import hashlib
import itertools
import re
import socket

from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe

from galleries import copies, watermarks
from galleries.images import MIME_TYPES
from galleries.storage import FileRange

MISSING = "This photo's file is missing from storage."
# What one send may carry: VIEWPORT_SEND_TIMEOUT bounds each send of bytes the app made (a whole
# sendall(): 256 KiB in 30 s is 9 KB/s), and each wait without progress of a file sent by
# os.sendfile (storage.FileRange.send), so a slow client that keeps reading finishes, and one
# that stopped is cut off.
PIECE_SIZE = 256 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII)


def serve_thumbnail(request, photo, max_age=0):
    return _serve_rendition(request, photo, photo.thumbnail_object_key, None, max_age)


def serve_preview(request, photo, max_age=0):
    return _serve_rendition(request, photo, photo.preview_object_key, photo.preview_size, max_age)


def serve_size(request, photo, name, max_age=0):
    """One of the photo's sizes for srcset (`320.webp`), when it has it; else a 404."""
    if name not in photo.size_keys:
        raise Http404("This photo has no such size.")
    extension = name.rsplit(".", 1)[1]
    return _serve_rendition(request, photo, photo.size_keys[name], None, max_age, extension)


def serve_watermarked(request, photo, photographer, name):
    """The rendition `name` (of images.WATERMARKED: the thumbnail, the preview, or a size the photo
    has) with the photographer's watermark burned in, made now if it is not yet
    (galleries/watermarks.py). Its key names the watermark's version, and so does its ETag;
    browsers revalidate it on every view (a 304 reads nothing), so that a changed watermark shows
    at once. It has no Last-Modified (see _serve_rendition)."""
    if name not in watermarks.names_of(photo):
        raise Http404("This photo has no such size.")
    key = watermarks.rendition_key(photo, photographer.watermark_version, name)

    def make():
        return watermarks.make(photo, photographer, [name])[name]

    return _serve_rendition(request, photo, key, None, 0, name.rsplit(".", 1)[1], make)


def _serve_rendition(request, photo, key, size, max_age, extension="jpg", make=None):
    """A rendition never changes under its key, hence an ETag from the key alone. One that is
    missing is a 404, or is made now by `make()` (which stores it and returns its bytes)."""
    content_type = MIME_TYPES[extension]
    etag = f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'
    # A watermarked one (made on demand) has no Last-Modified: the upload time says nothing of
    # when its link started watermarking or the watermark changed, and a date revalidation would
    # keep the copy the browser had. Its ETag names the watermark's version.
    modified = None if make else int(photo.uploaded_at.timestamp())  # HTTP dates have whole seconds
    response = get_conditional_response(request, etag=etag, last_modified=modified)
    if response is None and request.method == "HEAD":
        # No body, and no length where it is not known (streamed: nothing adds a wrong one).
        response = StreamingHttpResponse([], content_type=content_type)
        if size is not None:
            response["Content-Length"] = size
    elif response is None:
        try:
            data = default_storage.read_small(key)
        except FileNotFoundError:
            if make is None:
                raise Http404(MISSING) from None
            try:
                data = make()
            except FileNotFoundError:  # the clean preview it is made from
                raise Http404(MISSING) from None
        response = HttpResponse(data, content_type=content_type)
    response["ETag"] = etag
    if modified is not None:
        response["Last-Modified"] = http_date(modified)
    response["Content-Disposition"] = content_disposition_header(False, f"{photo.pk}.{extension}")
    response["Cache-Control"] = f"private, max-age={max_age}" if max_age else "private, no-cache"
    return response


def serve_download(request, photo, delivery):
    """A single download of `photo` as `delivery` hands it out (made servable first, if need
    be: copies.servable_copy, which raises copies.NotReady for the caller to answer), named as
    it is handed out."""
    try:
        copy = copies.servable_copy(photo, delivery)
    except FileNotFoundError:
        raise Http404(MISSING) from None
    if request.method == "GET" and not copy.patches and not _conditional(request):
        url = default_storage.download_url(
            copy.key, filename=copy.filename, content_type=copy.content_type, as_attachment=True
        )
        if url:
            response = HttpResponseRedirect(url)
            response["Cache-Control"] = "private, no-cache"
            return response
    return serve_bytes(
        request,
        length=copy.size,
        read=lambda start, stop: copies.read(copy, start, stop, chunk_size=PIECE_SIZE, sendable=True),
        etag=copy.etag,
        modified=copy.modified,
        content_type=copy.content_type,
        filename=copy.filename,
        cache_control="private, no-cache",
    )


def _conditional(request):
    return any(request.headers.get(name) for name in ("If-None-Match", "If-Modified-Since", "If-Match"))


def serve_bytes(request, *, length, read, etag, content_type, filename, modified=None, cache_control):
    """`length` bytes that `read(start, stop)` yields in chunks (of at most PIECE_SIZE: bytes, or
    storage.FileRange pieces), as a download named `filename`, whole or as the range the request
    asks for (see the module's doc)."""
    timestamp = int(modified.timestamp()) if modified else None  # HTTP dates have whole seconds
    response = get_conditional_response(request, etag=etag, last_modified=timestamp)
    if response is None:
        byte_range = requested_range(request, length, etag, timestamp)
        if byte_range is None:
            response = HttpResponse(status=416, content_type="text/plain")
            response["Content-Range"] = f"bytes */{length}"
        else:
            start, stop = byte_range
            if request.method == "HEAD":
                response = HttpResponse(content_type=content_type)
            else:
                chunks = _handed_on(_opened(read(start, stop)), _sendfile_socket(request))
                response = StreamingHttpResponse(chunks, content_type=content_type)
            response["Content-Length"] = stop - start
            if (start, stop) != (0, length):
                response.status_code = 206
                response["Content-Range"] = f"bytes {start}-{stop - 1}/{length}"
            response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    if timestamp is not None:
        response["Last-Modified"] = http_date(timestamp)
    response["Cache-Control"] = cache_control
    return response


def _opened(chunks):
    """`chunks` with its first one read now: a missing object is a 404 and storage that is down
    a 503 (galleries.middleware), not an answer cut short after its headers."""
    chunks = iter(chunks)
    try:
        first = next(chunks, b"")
    except FileNotFoundError:
        raise Http404(MISSING) from None
    return itertools.chain([first], chunks)


def _sendfile_socket(request):
    """gunicorn's socket for this answer, which file pieces may be sent into directly: only a
    plain one (an SSLSocket cannot sendfile) of an HTTP/1 connection (HTTP/2 shares it)."""
    sock = request.META.get("gunicorn.socket")
    return sock if type(sock) is socket.socket and request.META.get("HTTP_VERSION") != "2" else None


def _handed_on(chunks, sock):
    """The chunks for the WSGI server, whose loop writes each before it asks for the next. A
    storage.FileRange goes from the page cache into the socket by os.sendfile, once the server
    has sent the headers (at its first write, of b"" if need be), and an empty chunk stands for
    it, so that the layers around still run between pieces; without a socket it is read."""
    headers_sent = False
    for chunk in chunks:
        if isinstance(chunk, FileRange):
            if sock is None:
                chunk = bytes(chunk)
            else:
                if not headers_sent:
                    yield b""
                chunk.send(sock, PIECE_SIZE)
                chunk = b""
        headers_sent = True
        yield chunk


def requested_range(request, length, etag, timestamp):
    """(start, stop) of what to send: the Range asked for, or all of it when there is none, it
    does not parse, is not one range, or If-Range names another version; None when it lies
    outside the content (a 416)."""
    header = request.headers.get("Range", "")
    match = _RANGE.fullmatch(header.replace(" ", ""))
    if not match or not any(match.groups()) or not _if_range_matches(request, etag, timestamp):
        return 0, length
    first, last = (_position(number) for number in match.groups())
    if first is None:  # the last n bytes
        return (max(0, length - last), length) if last else None
    if last is not None and last < first:
        return 0, length  # not a valid range: ignored
    if first >= length:
        return None
    return first, min(last + 1, length) if last is not None else length


def _position(digits):
    """A byte position from the Range header: None when absent, and any number past what a
    file can hold (20 digits or more, which int() of thousands would spend time on or refuse)
    as 10**19, past every length."""
    if not digits:
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < 20 else 10**19


def _if_range_matches(request, etag, timestamp):
    condition = request.headers.get("If-Range")
    if not condition:
        return True
    if condition.startswith(('"', "W/")):
        return condition == etag  # strong comparison: a weak tag never matches
    return timestamp is not None and parse_http_date_safe(condition) == timestamp


def counts_as_download(request, response):
    """Whether this answer hands out a file up to its last byte, and so counts as a download: a
    GET answered whole, a range that ends at the last byte, or a redirect to storage for a
    range that runs to the end. A HEAD, a 304, a refusal and a range that stops short do not.
    Callers count once per visitor, version and day (sharing.stats.count), so a download resumed
    to its end counts once, and asking for the last byte again and again counts once."""
    if request.method != "GET":
        return False
    if response.status_code == 206:
        span, _, length = response["Content-Range"].removeprefix("bytes ").partition("/")
        return int(span.rpartition("-")[2]) == int(length) - 1
    if response.status_code == 302:  # storage serves the range asked for
        match = _RANGE.fullmatch(request.headers.get("Range", "").replace(" ", ""))
        return not match or not match.group(1) or not match.group(2)
    return response.status_code == 200
