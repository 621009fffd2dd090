"""The photographer's side of favourites: every client's choice in a gallery, and exports."""

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from favourites import exports
from favourites.models import Favourite, FavouriteList
from galleries.models import Gallery
from sharing import zips
from viewport.http import login_required, refuse


def owned_gallery(request, gallery_id):
    return get_object_or_404(Gallery.objects.owned_by(request.user), pk=gallery_id)


def chosen(request, gallery):
    """(lists, favourites) of the gallery, or of the one list named by `?list=`."""
    lists = FavouriteList.objects.of_gallery(gallery).select_related("link")
    list_id = request.GET.get("list")
    if list_id:
        try:
            lists = lists.filter(pk=uuid.UUID(list_id))
        except ValueError:
            lists = lists.none()
        if not lists.exists():
            raise Http404("No such list of favourites in this gallery.")
    favourites = Favourite.objects.filter(favourite_list__in=lists).select_related("photo", "favourite_list__link")
    position = {pk: index for index, pk in enumerate(gallery.ordered_photos().values_list("pk", flat=True))}
    return lists, sorted(
        favourites, key=lambda favourite: (position[favourite.photo_id], favourite.favourite_list.name)
    )


@login_required
@require_GET
def gallery_favourites(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    lists, favourites = chosen(request, gallery)
    merged = {}  # photo id → (photo, the favourites that chose it), in display order
    for favourite in favourites:
        merged.setdefault(favourite.photo_id, (favourite.photo, []))[1].append(favourite)
    context = {
        "gallery": gallery,
        "lists": lists.with_counts().order_by("-updated_at"),
        "merged": list(merged.values()),
        "selected_list": request.GET.get("list", ""),
    }
    response = render(request, "favourites/gallery_favourites.html", context)
    FavouriteList.objects.of_gallery(gallery).waiting().update(seen_at=timezone.now())
    return response


def owned_list(request, gallery_id, list_id):
    gallery = owned_gallery(request, gallery_id)
    return get_object_or_404(FavouriteList.objects.of_gallery(gallery), pk=list_id)


@login_required
@require_POST
def list_reopen(request, gallery_id, list_id):
    favourite_list = owned_list(request, gallery_id, list_id)
    favourite_list.reopen()
    messages.success(request, f"{favourite_list.name} can change their favourites again.")
    return redirect("favourites:gallery_favourites", gallery_id)


@login_required
@require_POST
def list_close(request, gallery_id, list_id):
    favourite_list = owned_list(request, gallery_id, list_id)
    favourite_list.close()
    messages.success(request, f"{favourite_list.name}’s favourites are closed: they can no longer change them.")
    return redirect("favourites:gallery_favourites", gallery_id)


@login_required
@require_POST
def list_delete(request, gallery_id, list_id):
    favourite_list = owned_list(request, gallery_id, list_id)
    favourite_list.delete()
    messages.success(request, f"{favourite_list.name}’s favourites were deleted.")
    return redirect("favourites:gallery_favourites", gallery_id)


@login_required
@require_GET
def favourites_csv(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    response = HttpResponse(exports.favourites_csv(chosen(request, gallery)[1]), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, zips.archive_name(f"{gallery} favourites", ".csv")
    )
    return response


@login_required
@require_GET
def favourites_filenames(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    app = request.GET.get("app", "lightroom")
    if app not in exports.FILENAME_SEPARATORS:
        return refuse(request, 400, "Choose app=lightroom or app=captureone.", "400.html")
    photos = [favourite.photo for favourite in chosen(request, gallery)[1]]
    return HttpResponse(exports.filenames(photos, app), content_type="text/plain; charset=utf-8")


@login_required
@require_GET
@zips.stream_slot_required
def favourites_zip(request, gallery_id):
    gallery = owned_gallery(request, gallery_id)
    lists = chosen(request, gallery)[0]
    photos = gallery.ordered_photos().filter(favourites__favourite_list__in=lists).distinct()
    return zips.zip_response(request, f"{gallery} favourites", photos)
