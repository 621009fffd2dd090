import logging

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from galleries import copies, serving
from galleries.forms import (
    CoverForm,
    GalleryForm,
    PhotoMoveForm,
    PhotoOrderForm,
    PhotoSelectionForm,
    PhotoSetForm,
    PresentationForm,
    SetOrderForm,
    SortForm,
    UploadSetForm,
    UploadStartForm,
)
from galleries.models import Gallery, Photo, PhotoSet, Upload, UploadStatus
from galleries.ordering import Sort
from galleries.storage import PART_URL_LIFETIME, STORAGE_ERRORS, NoSuchUpload
from galleries.tasks import task_queue_status, task_table
from galleries.uploads import (
    ALREADY_IN_GALLERY,
    STORAGE_UNAVAILABLE,
    UPLOAD_GONE,
    UploadRefused,
    complete_upload,
    start_upload,
    storage_usage,
    store_photos,
    upload_state,
)
from viewport import metrics as viewport_metrics
from viewport.http import answer, error_json, login_required, posted_data, refuse_form, sends_json

logger = logging.getLogger(__name__)


def owned_gallery(request, gallery_id):
    """The gallery, if it is the user's own; anyone else's is a 404, not a 403."""
    return get_object_or_404(Gallery.objects.owned_by(request.user), pk=gallery_id)


def owned_photo(request, gallery_id, photo_id):
    return get_object_or_404(Photo, pk=photo_id, gallery_id=gallery_id, gallery__owner=request.user)


def owned_set(request, gallery_id, set_id):
    return get_object_or_404(
        PhotoSet.objects.select_related("gallery"), pk=set_id, gallery_id=gallery_id, gallery__owner=request.user
    )


def set_json(photo_set):
    """A set as scripts see it; `photo_set` comes with its photo count (with_photo_counts)."""
    return {
        "id": str(photo_set.pk),
        "name": photo_set.name,
        "position": photo_set.position,
        "photo_count": photo_set.photo_count,
    }


def sets_json(gallery, only=None):
    """The gallery's sets as scripts see them, in order; or with `only`, that set alone."""
    photo_sets = gallery.sets.with_photo_counts()
    if only is not None:
        return set_json(photo_sets.get(pk=only.pk))
    return [set_json(photo_set) for photo_set in photo_sets]


def refused(request, gallery, form):
    """A 400 that says what was wrong with each field: as JSON, or as a page with a way back."""
    return refuse_form(request, form, "galleries/change_refused.html", {"gallery": gallery})


@login_required
@require_http_methods(["GET", "POST"])
def gallery_list(request):
    form = GalleryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        gallery = form.save(commit=False)
        gallery.owner = request.user
        gallery.save()
        return redirect(gallery)
    galleries = Gallery.objects.owned_by(request.user).with_photo_stats().with_cover_id().order_by("-created_at")
    page = Paginator(galleries, 24).get_page(request.GET.get("page"))
    return render(
        request, "galleries/gallery_list.html", {"page": page, "form": form, "storage": storage_usage(request.user)}
    )


@login_required
@require_GET
@gzip_page
def gallery_detail(request, gallery_id):
    """The gallery's photos: the upload box, the selection's actions and the grid (its sharing
    and its settings are tabs of their own)."""
    gallery = get_object_or_404(Gallery.objects.owned_by(request.user).with_upload_tiles(), pk=gallery_id)
    overview = gallery.overview()
    page = gallery.photo_page(request.GET.get("page"), overview)
    get_token(request)
    context = {
        "gallery": gallery,
        "page": page,
        # The tiles and what surrounds them are drawn once per version of the gallery
        # (gallery_detail.html caches them), and per CSRF secret: each tile has forms. One update
        # may give several galleries the same version: the key names the gallery.
        "tiles_key": [gallery.pk, gallery.version, page.number, request.META["CSRF_COOKIE"], get_script_prefix()],
    }
    if request.GET.get("partial"):
        return render(request, "galleries/gallery_detail.html#photo_tiles", context)
    context.update(
        photo_count=overview["photo_count"],
        total_size=overview["total_size"],
        max_upload_mb=settings.VIEWPORT_MAX_UPLOAD_SIZE // (1024 * 1024),
        uploads=gallery.uploads.shown_in_grid() if gallery.has_upload_tiles else [],
    )
    return render(request, "galleries/gallery_detail.html", context)


@login_required
@require_GET
def gallery_sharing(request, gallery_id):
    """The gallery's share links and the favourites its clients chose."""
    gallery = owned_gallery(request, gallery_id)
    return render(request, "galleries/gallery_sharing.html", {"gallery": gallery, **gallery.photos.stats()})


@login_required
@require_GET
def gallery_settings(request, gallery_id):
    """The gallery's name, how clients see it, its sets and order, and deleting it."""
    gallery = owned_gallery(request, gallery_id)
    context = {
        "gallery": gallery,
        "sets": list(gallery.sets.with_photo_counts()),
        "rename_form": GalleryForm(instance=gallery),
        "set_form": PhotoSetForm(auto_id="new-set-%s"),
        "presentation_form": PresentationForm(instance=gallery, auto_id="presentation-%s"),
        "sorts": Sort.choices,
        **gallery.photos.stats(),
    }
    return render(request, "galleries/gallery_settings.html", context)


def settings_url(gallery):
    return reverse("galleries:gallery_settings", args=[gallery.pk])


@login_required
@require_POST
def gallery_rename(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = GalleryForm(request.POST, instance=gallery)
    if form.is_valid():
        form.save()
        messages.success(request, "Gallery renamed.")
    else:
        messages.error(request, " ".join(form.errors["name"]))
    return redirect(settings_url(gallery))


@login_required
@require_http_methods(["GET", "POST"])
def gallery_delete(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    if request.method == "POST":
        gallery.delete()
        messages.success(request, f"“{gallery}” and its photos were deleted.")
        return redirect("galleries:gallery_list")
    return render(
        request, "galleries/gallery_confirm_delete.html", {"gallery": gallery, "photo_count": gallery.photos.count()}
    )


@login_required
@require_POST
def gallery_cover(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = CoverForm(gallery, posted_data(request))
    if not form.is_valid():
        return refused(request, gallery, form)
    form.save()
    cover_id = gallery.cover_photo_id
    return answer(
        request,
        {"cover_photo_id": str(cover_id) if cover_id else None},
        gallery,
        "Cover photo set." if cover_id else "Cover photo cleared.",
    )


@login_required
@require_POST
def photo_upload(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    into = UploadSetForm(gallery, request.POST)
    if not into.is_valid():
        return refused(request, gallery, into)
    batch = store_photos(gallery, request.FILES.getlist("photos"), into.cleaned_data["set_id"])
    viewport_metrics.UPLOADED_BYTES.inc(sum(photo.file_size for photo in batch.photos))
    count = len(batch.photos)
    return answer(
        request,
        upload_json(gallery, batch),
        gallery,
        count and f"{count} photo{'s' if count != 1 else ''} uploaded.",
        *[(messages.INFO, f"{skipped['file_name']}: {ALREADY_IN_GALLERY}") for skipped in batch.skipped],
        *[
            (messages.ERROR, f"{error['file_name']}: {error['message']}" if error["file_name"] else error["message"])
            for error in batch.errors
        ],
        status=batch.status_code,
    )


def upload_json(gallery, batch):
    """An upload as upload.js sees it: the photos stored, the files skipped as in the gallery
    already and each file's error; with nothing stored, an error like any other (the first
    file's message)."""
    photos = [
        {
            "id": str(photo.pk),
            "file_name": photo.original_filename,
            "width": photo.width,
            "height": photo.height,
            "file_size": photo.file_size,
            "thumbnail_url": reverse("galleries:photo_thumbnail", args=[gallery.pk, photo.pk]),
        }
        for photo in batch.photos
    ]
    data = {"photos": photos, "skipped": batch.skipped, "errors": batch.errors}
    if not photos and batch.errors:
        data["error"] = batch.errors[0]["message"]
    return data


def owned_upload(request, gallery_id, upload_id):
    return get_object_or_404(
        Upload.objects.select_related("gallery", "photo_set"),
        pk=upload_id,
        gallery_id=gallery_id,
        gallery__owner=request.user,
    )


def refused_upload(refusal):
    return error_json(refusal.status, str(refusal), data=refusal.data)


@login_required
@require_POST
def upload_start(request, gallery_id):
    """The page's uploader asks to upload a file (galleries.uploads.start_upload): JSON."""
    gallery = owned_gallery(request, gallery_id)
    form = UploadStartForm(gallery, posted_data(request))
    if not form.is_valid():
        return refused(request, gallery, form)
    data = form.cleaned_data
    try:
        started = start_upload(
            gallery,
            name=data["name"],
            size=data["size"],
            declared_type=data["type"],
            sha256=data["sha256"],
            photo_set=data["set_id"],
        )
    except UploadRefused as refusal:
        return refused_upload(refusal)
    except STORAGE_ERRORS:
        logger.warning("Storage failed while starting an upload", exc_info=True)
        return storage_down()
    return JsonResponse(started, status=201 if started["status"] == "new" else 200)


@login_required
@require_POST
def upload_complete(request, gallery_id, upload_id):
    """All parts sent: join them, check them, make the photo (galleries.uploads.complete_upload)."""
    upload = owned_upload(request, gallery_id, upload_id)
    try:
        return JsonResponse(complete_upload(upload), status=202)
    except UploadRefused as refusal:
        return refused_upload(refusal)
    except STORAGE_ERRORS:
        logger.warning("Storage failed while completing upload %s", upload.pk, exc_info=True)
        return storage_down()


@login_required
@require_GET
def upload_status(request, gallery_id, upload_id):
    """Where an upload is: `uploading`, `processing`, `done` (with the photo's tile) or `failed`
    (with why), for the page to turn its tile into the photo."""
    return JsonResponse(upload_state(owned_upload(request, gallery_id, upload_id)))


@login_required
@require_POST
def upload_dismiss(request, gallery_id, upload_id):
    """Take a failed upload's tile off the grid (it goes by itself after a day)."""
    upload = owned_upload(request, gallery_id, upload_id)
    if upload.status == UploadStatus.FAILED:
        upload.delete()
    return answer(request, {"dismissed": str(upload_id)}, upload.gallery)


@csrf_exempt
@require_http_methods(["PUT"])
def upload_part(request, token):
    """One part's bytes, on local storage (on S3 the browser sends them to the bucket): the URL
    is signed, like S3's, so that nothing but a PUT is needed."""
    try:
        storage_upload_id, number = signing.loads(token, max_age=PART_URL_LIFETIME)
    except signing.BadSignature:
        return error_json(403, "This part's address is not valid (or is more than a day old): start the upload again.")
    upload = Upload.objects.filter(storage_upload_id=storage_upload_id, status=UploadStatus.UPLOADING).first()
    if upload is None or not 1 <= number <= upload.part_count:
        return error_json(404, UPLOAD_GONE)
    length = upload.part_length(number)
    if request.headers.get("Content-Length") != str(length):
        return error_json(400, f"Part {number} of this file is {length} bytes; send exactly those.")
    try:
        stored = default_storage.write_part(storage_upload_id, number, request, length)
    except NoSuchUpload:
        return error_json(404, UPLOAD_GONE)
    except OSError:
        logger.warning("Storage failed while writing part %s of upload %s", number, upload.pk, exc_info=True)
        return storage_down()
    if not stored:
        return error_json(400, f"Part {number} arrived incomplete: send it again.")
    return JsonResponse({"number": number, "size": length})


def storage_down():
    return error_json(503, STORAGE_UNAVAILABLE, headers={"Retry-After": "10"})


@login_required
@require_POST
def photo_delete(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = PhotoSelectionForm(gallery, posted_data(request))
    if not form.is_valid():
        return refused(request, gallery, form)
    deleted = form.save()
    return answer(
        request,
        {"deleted": deleted, **gallery.photos.stats()},
        gallery,
        f"{deleted} photo{'s' if deleted != 1 else ''} deleted.",
    )


@login_required
@require_POST
def photo_move(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = PhotoMoveForm(gallery, posted_data(request))
    if not form.is_valid():
        return refused(request, gallery, form)
    moved, photo_set = form.save()
    where = f"into “{photo_set}”" if photo_set else "out of their sets"
    return answer(
        request,
        {"moved": moved, "set": sets_json(gallery, only=photo_set) if photo_set else None},
        gallery,
        f"{moved} photo{'s' if moved != 1 else ''} moved {where}.",
    )


@login_required
@require_POST
def photo_order(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = PhotoOrderForm(gallery, posted_data(request))
    if not form.is_valid():
        return refused(request, gallery, form)
    moved = form.save()
    return answer(
        request,
        {"sort": gallery.sort, "moved": [str(pk) for pk in moved]},
        gallery,
        "Photo moved." if len(moved) == 1 else "Photos reordered.",
    )


@login_required
@require_POST
def gallery_sort(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = SortForm(gallery, posted_data(request))
    if not form.is_valid():
        return refused(request, gallery, form)
    form.save()
    return answer(
        request,
        {"sort": gallery.sort},
        settings_url(gallery),
        f"Photos ordered by {gallery.get_sort_display().lower()}.",
    )


def presentation_json(gallery):
    return {
        "cover_layout": gallery.cover_layout,
        "grid_spacing": gallery.grid_spacing,
        "show_filenames": gallery.show_filenames,
        "slideshow_seconds": gallery.slideshow_seconds,
    }


@login_required
@require_POST
def gallery_presentation(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = PresentationForm(posted_data(request), instance=gallery, from_json=sends_json(request))
    if not form.is_valid():
        return refused(request, gallery, form)
    form.save()
    return answer(
        request, presentation_json(gallery), settings_url(gallery), "Presentation saved: your clients see it now."
    )


@login_required
@require_POST
def set_create(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = PhotoSetForm(posted_data(request), instance=PhotoSet(gallery=gallery))
    if not form.is_valid():
        return refused(request, gallery, form)
    photo_set = form.save()
    photo_set.photo_count = 0
    return answer(request, set_json(photo_set), settings_url(gallery), f"Set “{photo_set}” added.", status=201)


@login_required
@require_POST
def set_rename(request, gallery_id, set_id):
    photo_set = owned_set(request, gallery_id, set_id)
    form = PhotoSetForm(posted_data(request), instance=photo_set)
    if not form.is_valid():
        return refused(request, photo_set.gallery, form)
    form.save()
    data = sets_json(photo_set.gallery, only=photo_set)
    return answer(request, data, settings_url(photo_set.gallery), f"Set renamed to “{photo_set}”.")


@login_required
@require_POST
def set_delete(request, gallery_id, set_id):
    """Delete a set; its photos stay in the gallery, in no set."""
    photo_set = owned_set(request, gallery_id, set_id)
    gallery = photo_set.gallery
    with transaction.atomic():
        photo_set.delete()
        PhotoSet.objects.renumber(gallery.sets.all())
    return answer(
        request,
        {"deleted": str(set_id), "sets": sets_json(gallery)},
        settings_url(gallery),
        f"Set “{photo_set}” deleted; its photos are still in the gallery.",
    )


@login_required
@require_POST
def set_order(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = SetOrderForm(gallery, posted_data(request))
    if not form.is_valid():
        return refused(request, gallery, form)
    form.save()
    return answer(request, {"sets": sets_json(gallery)}, settings_url(gallery), "Sets reordered.")


@login_required
@require_safe
def photo_thumbnail(request, gallery_id, photo_id):
    photo = owned_photo(request, gallery_id, photo_id)
    return serving.serve_thumbnail(request, photo, max_age=3600)


@login_required
@require_safe
def photo_preview(request, gallery_id, photo_id):
    photo = owned_photo(request, gallery_id, photo_id)
    return serving.serve_preview(request, photo, max_age=3600)


@login_required
@require_safe
def photo_size(request, gallery_id, photo_id, name):
    photo = owned_photo(request, gallery_id, photo_id)
    return serving.serve_size(request, photo, name, max_age=3600)


@login_required
@require_safe
def photo_download(request, gallery_id, photo_id):
    photo = owned_photo(request, gallery_id, photo_id)
    return serving.serve_download(request, photo, copies.AS_UPLOADED)


@never_cache
@require_GET
def healthz(request):
    """For load balancers: 200 when the database and photo storage both answer, else 503; and
    the task queue's backlog (see task_queue_status)."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # any failure means "not healthy", whatever the driver raised
        checks["database"] = f"error: {type(error).__name__}"
    try:
        default_storage.check()
        checks["storage"] = "ok"
    except STORAGE_ERRORS as error:
        checks["storage"] = f"error: {type(error.__cause__ or error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **checks}
    # Reported, never a reason for a 503: a worker that is behind is no reason to take app servers
    # out of the load balancer.
    try:
        body["queue"] = task_queue_status() if checks["database"] == "ok" else "unknown"
    except Exception as error:  # e.g. a database that answers SELECT 1 but is not migrated
        body["queue"] = f"error: {type(error).__name__}"
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_GET
def metrics(request):
    """Prometheus metrics (viewport/metrics.py) for a scraper that sends `Authorization: Bearer
    <VIEWPORT_METRICS_TOKEN>`: 401 without it, and no such page while no token is configured."""
    token = settings.VIEWPORT_METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set VIEWPORT_METRICS_TOKEN.")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_compare(given.strip(), token):
        response = HttpResponse(
            "A metrics token is required: Authorization: Bearer <token>.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    try:
        queue, table = task_queue_status(), task_table()
    except Exception:  # the database is down: the rest still says what this server went through
        queue, table = None, None
    return viewport_metrics.exposition(queue, table)
