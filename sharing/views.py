import json
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_POST

from galleries.models import Photo
from galleries.storage import check_reachable, object_response
from galleries.views import owned_gallery, photo_page
from sharing import zips
from sharing.forms import ShareLinkForm
from sharing.models import ShareLink

# Photographer side


def wants_json(request):
    return "application/json" in request.headers.get("Accept", "")


def posted_data(request):
    """The submitted fields: a form post, or a JSON object from a script."""
    if request.content_type != "application/json":
        return request.POST
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def link_json(request, link, **kwargs):
    data = {
        "id": str(link.pk),
        "url": request.build_absolute_uri(link.get_absolute_url()),
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
    }
    return JsonResponse(data, **kwargs)


def invalid_form(request, form, link=None):
    if wants_json(request):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    context = {"form": form, "share_link_form": form, "link": link, "gallery": form.instance.gallery}
    return render(request, "sharing/sharelink_form.html", context, status=400)


def redirect_back(request, link):
    """To the page the form was posted from (the share link list), else the gallery."""
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect(link.gallery)


@login_required
@require_POST
def share_link_create(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    form = ShareLinkForm(posted_data(request), instance=ShareLink(gallery=gallery))
    if not form.is_valid():
        return invalid_form(request, form)
    link = form.save()
    if wants_json(request):
        return link_json(request, link, status=201)
    messages.success(request, "Share link created. Copy it and send it to your client.")
    return redirect(gallery)


@login_required
@require_GET
def share_link_list(request):
    share_links = ShareLink.objects.owned_by(request.user).select_related("gallery").order_by("-created_at")
    return render(request, "sharing/sharelink_list.html", {"share_links": share_links})


def owned_link(request, link_id):
    return get_object_or_404(ShareLink.objects.owned_by(request.user).select_related("gallery"), pk=link_id)


@login_required
@require_POST
def share_link_update(request, link_id):
    link = owned_link(request, link_id)
    form = ShareLinkForm(posted_data(request), instance=link)
    if not form.is_valid():
        return invalid_form(request, form, link)
    form.save()
    if wants_json(request):
        return link_json(request, link)
    messages.success(request, "Expiry changed.")
    return redirect_back(request, link)


@login_required
@require_POST
def share_link_delete(request, link_id):
    link = owned_link(request, link_id)
    link.delete()
    if wants_json(request):
        return HttpResponse(status=204)
    messages.success(request, "Share link revoked: it no longer opens the gallery.")
    return redirect_back(request, link)


# Public side: everything a client reaches through /s/<share_id>/


class LinkExpired(Exception):
    pass


def public_view(view):
    """An expired link answers 410 with a friendly page; no public answer may be indexed, and
    none may leak the share link's URL to other sites through the Referer header."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except LinkExpired:
            response = render(request, "sharing/link_expired.html", status=410)
        except Http404:
            response = render(request, "sharing/link_not_found.html", status=404)
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper


def get_active_link(share_id, *related):
    """The share link, unless it is unknown (404) or expired (410). Every public view uses it."""
    link = get_object_or_404(ShareLink.objects.select_related(*related) if related else ShareLink, pk=share_id)
    if link.is_expired:
        raise LinkExpired
    return link


def get_shared_photo(share_id, photo_id):
    """The photo, if it is in the gallery of an active share link: one query when it is."""
    photo = (
        Photo.objects.filter(pk=photo_id, gallery__share_links=share_id)
        .annotate(link_expires_at=F("gallery__share_links__expires_at"))
        .first()
    )
    if photo is None:
        get_active_link(share_id)  # an unknown link is a 404, an expired one a 410
        raise Http404("No such photo in this gallery.")
    if photo.link_expires_at is not None and photo.link_expires_at <= timezone.now():
        raise LinkExpired
    return photo


def rendition_response(photo, key):
    """A thumbnail or preview; browsers may keep it only while the link surely still works."""
    max_age = 3600
    if photo.link_expires_at:
        max_age = max(0, min(max_age, int((photo.link_expires_at - timezone.now()).total_seconds())))
    return object_response(key, filename=f"{photo.pk}.jpg", content_type="image/jpeg", max_age=max_age)


@public_view
@require_GET
@gzip_page
@cache_control(private=True, no_cache=True)
def public_gallery(request, share_id):
    link = get_active_link(share_id, "gallery__owner", "gallery__cover_photo")
    gallery = link.gallery
    context = {"link": link, "gallery": gallery, "page": photo_page(request, gallery.photos.in_display_order())}
    if request.GET.get("partial"):
        return render(request, "sharing/public_gallery.html#photo_tiles", context)
    link.increment("views")
    context.update(gallery.photos.stats(), cover=gallery.cover_or_first_photo())
    return render(request, "sharing/public_gallery.html", context)


@public_view
@require_GET
@cache_control(private=True, no_cache=True)
def public_photo(request, share_id, photo_id):
    link = get_active_link(share_id, "gallery__owner")
    photos = list(link.gallery.photos.in_display_order())
    index = next((i for i, photo in enumerate(photos) if photo.pk == photo_id), None)
    if index is None:
        raise Http404("No such photo in this gallery.")
    context = {
        "link": link,
        "gallery": link.gallery,
        "photo": photos[index],
        "position": index + 1,
        "count": len(photos),
        "previous": photos[index - 1] if index > 0 else None,
        "next": photos[index + 1] if index + 1 < len(photos) else None,
    }
    return render(request, "sharing/public_photo.html", context)


@public_view
@require_GET
def public_thumbnail(request, share_id, photo_id):
    photo = get_shared_photo(share_id, photo_id)
    return rendition_response(photo, photo.thumbnail_object_key)


@public_view
@require_GET
def public_preview(request, share_id, photo_id):
    photo = get_shared_photo(share_id, photo_id)
    return rendition_response(photo, photo.preview_object_key)


@public_view
@require_GET
def photo_download(request, share_id, photo_id):
    photo = get_shared_photo(share_id, photo_id)
    response = object_response(
        photo.object_key, filename=photo.original_filename, content_type=photo.content_type, as_attachment=True
    )
    ShareLink(pk=share_id).increment("single_downloads")  # the link's row is not needed for that
    return response


@public_view
@require_GET
@zips.stream_slot_required
def zip_download(request, share_id):
    link = get_active_link(share_id, "gallery")
    # Storage that is down should get a clear 503 now, not a download cut short after the headers.
    check_reachable()
    archive = zips.gallery_zip(link.gallery.photos.in_display_order())
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = len(archive)
    response["Content-Disposition"] = content_disposition_header(True, zips.archive_name(link.gallery))
    response["Cache-Control"] = "private, no-store"
    link.increment("zip_downloads")
    return response
