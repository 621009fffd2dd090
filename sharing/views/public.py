"""What a client reaches through /s/<share_id>/: the gallery, one photo, renditions, downloads.

Every view gets its link and photos from sharing.access, which decides what the request may see.
"""

from urllib.parse import quote

from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, reverse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import throttling
from galleries import copies, serving
from galleries.models import CoverLayout
from sharing import access, stats, zips
from sharing.access import public_view, shared_link, shared_photo
from sharing.forms import RegistrationForm
from viewport.http import answer, next_url, posted_data, refuse_form, too_many_requests

# Browsers keep thumbnails and previews this long before asking again (a cheap 304 while the
# link still opens): revoking, pausing or locking a link bites within this.
RENDITION_CACHE_SECONDS = 60
# Without a cover photo (the minimal layout) the first tiles fill a phone's first screen and one
# of them is its largest paint: they load at once, found by the browser as it reads the page; the
# others wait until the visitor scrolls near them (loading="lazy").
EAGER_TILES = 8


@public_view
@require_safe
@cache_control(private=True, no_cache=True)
def public_gallery(request, share_id):
    link = shared_link(request, share_id, "gallery__owner")
    gallery = link.gallery
    overview = gallery.overview()
    if link.serves_web_size and overview["unsized_previews"]:
        gallery.photos.fill_preview_sizes()
        overview = gallery.overview()
    page = gallery.photo_page(request.GET.get("page"), overview)
    cover = overview["cover"] if gallery.cover_layout != CoverLayout.MINIMAL else None  # minimal shows no photo
    partial = bool(request.GET.get("partial"))
    eager_tiles = EAGER_TILES if page.number == 1 and not cover and not partial else 0
    context = {
        "link": link,
        "gallery": gallery,
        "page": page,
        "sets": [s for s in page.sets if s.photo_count],
        "eager_tiles": eager_tiles,
        # The tiles are drawn once per version of the gallery and the settings that they show
        # (public_gallery.html caches them): a change to any shows at once.
        "tiles_key": [
            *(gallery.version, gallery.show_filenames, page.number, eager_tiles),
            get_script_prefix(),  # the tiles' URLs start with it (a proxy may serve the site under a path)
            *(link.pk, link.allow_single, link.download_size, link.allow_zip),
            access.needs_download_pin(request, link),  # the tiles' download links say so
        ],
    }
    if partial:
        return render(request, "sharing/public_gallery.html#photo_tiles", context)
    chosen = next((s for s in context["sets"] if str(s.pk) == request.GET.get("set")), None)
    if chosen:  # the set menu's select, without JavaScript
        return redirect(f"{link.get_absolute_url()}?page={chosen.page}#set-{chosen.pk}")
    stats.count(request, link, "views")
    total_size = {"original": overview["total_size"], "web": overview["web_size"]}.get(link.download_size)
    if total_size is None:  # full-size JPEGs: their copies are made after the gallery's last change
        total_size = gallery.photos.stats(link.download_size)["total_size"]
    context.update(
        photo_count=overview["photo_count"],
        total_size=total_size,
        cover=cover,
        link_preview_photo=overview["cover"],  # chat apps show it whatever the layout
    )
    return render(request, "sharing/public_gallery.html", context)


@public_view
@require_POST
def unlock(request, share_id):
    link = shared_link(request, share_id, "gallery__owner", unlocked=False)
    access.check_password(request, link, posted_data(request))
    response = redirect(link)
    access.remember_unlock(response, link)
    return response


@public_view
@require_safe
@cache_control(private=True, no_cache=True)
def public_photo(request, share_id, photo_id):
    """The one-photo page, for visitors without JavaScript and for links to one photo."""
    link, photo = shared_photo(request, share_id, photo_id, "gallery__owner")
    if link.serves_web_size and photo.preview_size is None:
        link.gallery.photos.fill_preview_sizes()
    photos = link.gallery.ordered_photos()
    photo = photos.select_related("photo_set").get(pk=photo.pk)  # with its keys in the gallery's order
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
    link, photo = shared_photo(request, share_id, photo_id, "gallery__owner")
    if link.watermark:
        return serving.serve_watermarked(request, photo, link.gallery.owner, "thumbnail.jpg")
    return serving.serve_thumbnail(request, photo, max_age=link.cache_seconds(RENDITION_CACHE_SECONDS))


@public_view
@require_safe
def public_preview(request, share_id, photo_id):
    link, photo = shared_photo(request, share_id, photo_id, "gallery__owner")
    if link.watermark:
        return serving.serve_watermarked(request, photo, link.gallery.owner, "preview.jpg")
    return serving.serve_preview(request, photo, max_age=link.cache_seconds(RENDITION_CACHE_SECONDS))


@public_view
@require_safe
def public_size(request, share_id, photo_id, name):
    """One of the photo's sizes for srcset (`320.webp`), under the same rules as its thumbnail."""
    link, photo = shared_photo(request, share_id, photo_id, "gallery__owner")
    if link.watermark:
        return serving.serve_watermarked(request, photo, link.gallery.owner, name)
    return serving.serve_size(request, photo, name, max_age=link.cache_seconds(RENDITION_CACHE_SECONDS))


@public_view
@require_safe
def photo_download(request, share_id, photo_id):
    """One photo as the link delivers it. A HEAD gets the file's headers but no signed URL: it
    counts nothing, so it must not hand out what a counted GET would."""
    link, photo = shared_photo(request, share_id, photo_id)
    access.check_download(request, link, "single")
    delivery = link.delivery
    try:
        response = serving.serve_download(request, photo, delivery)
    except copies.NotReady:
        # A full-size JPEG this request may not make now: the task worker makes it, and the
        # client is asked to come back, as for a ZIP.
        zips.request_copies([photo.pk], [photo.pk], delivery)
        return zips.preparing(request, 1, 1, delivery)
    if serving.counts_as_download(request, response):
        stats.count(request, link, "single_downloads", photo=photo, version=photo.pk)
    return response


@public_view
@require_safe
@zips.stream_slot_required
def zip_download(request, share_id):
    link = shared_link(request, share_id, "gallery")
    return zips.link_zip(request, link, link.gallery.ordered_photos(), str(link.gallery))


@public_view
@require_safe
@zips.stream_slot_required
def set_zip_download(request, share_id, set_id):
    """One set's photos as a ZIP: a ZIP download like the whole gallery's, under the same rules."""
    link = shared_link(request, share_id, "gallery")
    photo_set = get_object_or_404(link.gallery.sets, pk=set_id)
    photos = link.gallery.ordered_photos().filter(photo_set=photo_set)
    return zips.link_zip(request, link, photos, f"{link.gallery} - {photo_set}", folders=False)


@public_view
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def download_pin(request, share_id):
    """The download PIN form (GET; the 401 of a download shows it too), and its answer (POST):
    the right PIN lets this browser download from the link, then goes on to `next` (a download
    of this link) or back to the gallery."""
    link = shared_link(request, share_id, "gallery__owner")
    here = reverse("sharing:download_pin", args=[link.pk])
    download = next_url(request, "", within=link.get_absolute_url())
    if request.method == "POST":
        access.check_download_pin(request, link, posted_data(request))
        response = answer(
            request, {"download_pin": "accepted"}, here + (f"?next={quote(download)}" if download else "")
        )
        access.remember_download_pin(response, link)
        return response
    context = {"link": link, "download": download, "accepted": not access.needs_download_pin(request, link)}
    context["challenge"] = not context["accepted"] and access.needs_challenge(request, link, "download-pin")
    return render(request, "sharing/download_pin.html", context)


@public_view
@require_POST
def register(request, share_id):
    """A visitor of a link that asks for an e-mail address gives it (and a name): this browser
    may see the link from now on, and what they do there is theirs in the link's statistics."""
    link = shared_link(request, share_id, "gallery__owner", registered=False)
    form = RegistrationForm(posted_data(request))
    if not form.is_valid():
        return refuse_form(request, form, "sharing/register.html", {"link": link}, status=400)
    try:
        throttling.consume("link-registration", link=link.pk, network=throttling.client_network(request))
    except throttling.RateLimited as limited:
        return too_many_requests(request, limited, "sharing/register.html", {"link": link, "form": form})
    visitor = form.as_typed(form.save(link))
    response = answer(request, {"email": visitor.email, "name": visitor.name}, link)
    access.remember_registration(response, link, visitor)
    return response
