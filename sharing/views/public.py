"""What a client reaches through /s/<share_id>/: the gallery, one photo, renditions, downloads.

Every view gets its link and photos from sharing.access, which decides what the request may see.
"""

from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST, require_safe

from sharing import access, stats, zips
from sharing.access import public_view, shared_link, shared_photo

# Browsers keep thumbnails and previews this long before asking again (a cheap 304 while the
# link still opens): revoking, pausing or locking a link bites within this.
RENDITION_CACHE_SECONDS = 60


@public_view
@require_safe
@gzip_page
@cache_control(private=True, no_cache=True)
def public_gallery(request, share_id):
    link = shared_link(request, share_id, "gallery__owner", "gallery__cover_photo")
    gallery = link.gallery
    photos = gallery.photos.in_display_order()
    context = {"link": link, "gallery": gallery, "page": photos.page(request.GET.get("page"))}
    if request.GET.get("partial"):
        return render(request, "sharing/public_gallery.html#photo_tiles", context)
    if link.serves_web_size:
        gallery.photos.fill_preview_sizes()
    stats.count(request, link, "views")
    context.update(gallery.photos.stats(web_size=link.serves_web_size), cover=gallery.cover_or_first_photo())
    return render(request, "sharing/public_gallery.html", context)


@public_view
@require_POST
def unlock(request, share_id):
    link = shared_link(request, share_id, "gallery__owner", unlocked=False)
    access.check_password(request, link, request.POST.get("password", ""))
    response = redirect(link)
    access.remember_unlock(response, link)
    return response


@public_view
@require_safe
@cache_control(private=True, no_cache=True)
def public_photo(request, share_id, photo_id):
    """The one-photo page, for visitors without JavaScript and for links to one photo."""
    link, photo = shared_photo(request, share_id, photo_id)
    photos = link.gallery.photos
    if link.serves_web_size and photo.preview_size is None:
        photos.fill_preview_sizes()
        photo.refresh_from_db(fields=["preview_size"])
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
@require_safe
def public_thumbnail(request, share_id, photo_id):
    link, photo = shared_photo(request, share_id, photo_id)
    return photo.serve_thumbnail(request, max_age=link.cache_seconds(RENDITION_CACHE_SECONDS))


@public_view
@require_safe
def public_preview(request, share_id, photo_id):
    link, photo = shared_photo(request, share_id, photo_id)
    return photo.serve_preview(request, max_age=link.cache_seconds(RENDITION_CACHE_SECONDS))


@public_view
@require_safe
def photo_download(request, share_id, photo_id):
    link, photo = shared_photo(request, share_id, photo_id)
    access.check_download(link, "single")
    response = photo.serve_preview_download() if link.serves_web_size else photo.serve_original()
    stats.count(request, link, "single_downloads", photo=photo)
    return response


@public_view
@require_safe
@zips.stream_slot_required
def zip_download(request, share_id):
    link = shared_link(request, share_id, "gallery")
    access.check_download(link, "zip")
    response = zips.zip_response(link.gallery, link.gallery.photos.in_display_order(), web_size=link.serves_web_size,
                                 still_allowed=link.still_allows_zip)
    stats.count(request, link, "zip_downloads")
    return response
