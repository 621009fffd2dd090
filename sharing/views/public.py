"""What a client reaches through /s/<share_id>/: the gallery, one photo, renditions, downloads."""

from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import cache_control
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from sharing import zips
from sharing.access import public_view, shared_link, shared_photo


@public_view
@require_GET
@gzip_page
@cache_control(private=True, no_cache=True)
def public_gallery(request, share_id):
    link = shared_link(request, share_id, "gallery__owner", "gallery__cover_photo")
    gallery = link.gallery
    context = {"link": link, "gallery": gallery, "page": gallery.photos.in_display_order().page(request.GET.get("page"))}
    if request.GET.get("partial"):
        return render(request, "sharing/public_gallery.html#photo_tiles", context)
    link.increment("views")
    context.update(gallery.photos.stats(), cover=gallery.cover_or_first_photo())
    return render(request, "sharing/public_gallery.html", context)


@public_view
@require_GET
@cache_control(private=True, no_cache=True)
def public_photo(request, share_id, photo_id):
    """The one-photo page, for visitors without JavaScript and for links to one photo."""
    link, photo = shared_photo(request, share_id, photo_id)
    photos = link.gallery.photos
    context = {
        "link": link,
        "gallery": link.gallery,
        "photo": photo,
        "position": photos.before(photo).count() + 1,
        "count": photos.count(),
        "previous": photos.before(photo).first(),
        "next": photos.after(photo).first(),
    }
    return render(request, "sharing/public_photo.html", context)


@public_view
@require_GET
def public_thumbnail(request, share_id, photo_id):
    link, photo = shared_photo(request, share_id, photo_id)
    return photo.serve_thumbnail(max_age=link.cache_seconds())


@public_view
@require_GET
def public_preview(request, share_id, photo_id):
    link, photo = shared_photo(request, share_id, photo_id)
    return photo.serve_preview(max_age=link.cache_seconds())


@public_view
@require_GET
def photo_download(request, share_id, photo_id):
    link, photo = shared_photo(request, share_id, photo_id)
    response = photo.serve_original()
    link.increment("single_downloads")
    return response


@public_view
@require_GET
def zip_download(request, share_id):
    link = shared_link(request, share_id, "gallery")
    # Storage that is down should get a clear 503 now, not a download cut short after the headers.
    default_storage.check()
    archive = zips.gallery_zip(link.gallery.photos.in_display_order())
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = len(archive)
    response["Content-Disposition"] = content_disposition_header(True, zips.archive_name(link.gallery))
    response["Cache-Control"] = "private, no-store"
    link.increment("zip_downloads")
    return response
