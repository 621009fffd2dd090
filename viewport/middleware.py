import tempfile
import threading
from functools import cache

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers, patch_cache_control

from viewport.http import refuse
from viewport.metrics import UPLOAD_SLOTS_IN_USE


class RequestLimitsMiddleware:
    """What one request may cost the site: the size of its body, and how long its answer waits
    for a client that stops reading.

    It must run before anything reads the body: Django's CSRF check reads a POST's form (and
    spools its files to disk) before any view, even for a visitor who is not logged in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        view = view_name(request)
        uploading = request.method == "POST" and view == "galleries:photo_upload" and request.user.is_authenticated
        # One part of a resumable upload, on local storage (its signed URL is its permission).
        sending_part = request.method == "PUT" and view == "galleries:upload_part"
        refusal = refuse_body(request, uploading, sending_part)
        if refusal:
            return refusal
        if uploading or sending_part:
            response = self.upload(request)
        else:
            response = self.get_response(request)
        client = request.META.get("gunicorn.socket")
        if client is not None:
            # A gunicorn thread waits in sendall() for as long as its client does not read.
            client.settimeout(settings.VIEWPORT_SEND_TIMEOUT)
        return response

    def upload(self, request):
        """Uploads hold a thread while their body arrives and while they wait for a decode: only
        VIEWPORT_UPLOAD_SLOTS of them run at once in a process, so the other threads answer
        pages. One more is a 503 that upload.js retries after Retry-After."""
        pool = slots("uploads", settings.VIEWPORT_UPLOAD_SLOTS)
        if not pool.acquire(blocking=False):
            message = "Many photos are being processed right now. This one will be sent again in a moment."
            return refuse(request, 503, message, "503_busy.html", headers={"Retry-After": str(UPLOAD_RETRY_AFTER)})
        try:
            with UPLOAD_SLOTS_IN_USE.track_inprogress():
                return self.get_response(request)
        finally:
            pool.release()


UPLOAD_RETRY_AFTER = 3


@cache
def slots(purpose, size):
    """This process's pool of `size` slots for `purpose` ("uploads", "zips"): the threads a kind
    of long request may hold at once (one pool per size, so tests may change the setting)."""
    return threading.BoundedSemaphore(size)


def upload_body_limit():
    """The largest photo upload: as many photos as a request may carry, each as large as a
    photo may be, and the form around them."""
    return (
        settings.DATA_UPLOAD_MAX_NUMBER_FILES * settings.VIEWPORT_MAX_UPLOAD_SIZE + settings.VIEWPORT_MAX_REQUEST_SIZE
    )


# Forms of a logged-in photographer that carry one image, which their form refuses above its own
# limit with a message saying so (a watermark: 2 MB): their body may be as large as a photo.
IMAGE_FORMS = ("accounts:watermark", "accounts:watermark_preview")


def view_name(request):
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return None


def body_limit(request, uploading, sending_part=False):
    if sending_part:
        return settings.VIEWPORT_UPLOAD_PART_SIZE
    if uploading:
        return upload_body_limit()
    if request.method == "POST" and request.user.is_authenticated and view_name(request) in IMAGE_FORMS:
        return settings.VIEWPORT_MAX_UPLOAD_SIZE + settings.VIEWPORT_MAX_REQUEST_SIZE
    return settings.VIEWPORT_MAX_REQUEST_SIZE


def refuse_body(request, uploading, sending_part=False):
    """A 413 for a body larger than this request may carry; None when the body may be read.

    A declared size (Content-Length) is refused before anything is read. A chunked body has
    none, and Django would take it for empty: it is read here, at most one byte past the
    limit, and handed on to Django with its size once it turns out to be within it.
    """
    limit = body_limit(request, uploading, sending_part)
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        length = read_chunked_body(request, limit)
    else:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body then
    if length <= limit:
        return None
    if uploading:
        advice = (
            f"Send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} photos of up to "
            f"{filesizeformat(settings.VIEWPORT_MAX_UPLOAD_SIZE)} each at a time."
        )
        return too_large(request, "This upload is too large.", advice)
    return too_large(
        request,
        "This request is too large.",
        f"Forms on this site send at most {filesizeformat(settings.VIEWPORT_MAX_REQUEST_SIZE)}.",
    )


def read_chunked_body(request, limit):
    """Read a chunked body into a temporary file (in memory while small), stopping one byte
    past `limit`; make it the request's body and return its size."""
    body = tempfile.SpooledTemporaryFile(
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    stream, size = request.META["wsgi.input"], 0
    while size <= limit and (chunk := stream.read(min(64 * 1024, limit + 1 - size))):
        body.write(chunk)
        size += len(chunk)
    body.seek(0)
    request.META["CONTENT_LENGTH"] = str(size)
    request._stream = LimitedStream(body, size)
    request._body_file = body  # closed (and deleted) with the request
    return size


def too_large(request, heading, advice):
    return refuse(request, 413, f"{heading} {advice}", "413_too_large.html", {"heading": heading, "advice": advice})


class PrivatePagesMiddleware:
    """A signed-in photographer's pages are never kept by the browser: after logging out on a
    shared computer, Back must not show their galleries or their clients' share links. Answers
    that say how they may be cached (thumbnails, public pages) keep their own rule."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response
