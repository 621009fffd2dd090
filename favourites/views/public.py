"""A client's favourites on a share link: start a list, heart and comment photos, send it.

Every view reaches its link and photos through sharing.access (unknown 404, expired 410,
paused 404, password 401), and its list only through the visitor's own cookie: anyone else's
list is a 404. JSON with `Accept: application/json`; without JavaScript, forms that post and
come back to the same place.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import throttling
from favourites.forms import CommentForm, StartListForm
from favourites.models import FavouriteList, FavouritesClosed
from favourites.tasks import notify_photographer_of, send_resume_link
from favourites.visitor import remember_list, visitor_list, visitor_token
from sharing import stats, zips
from sharing.access import public_view, shared_link, shared_photo
from viewport.http import posted_data, wants_json

# Each list may e-mail its resume link: lists start slowly from one client network, and from all.
LISTS_PER_CLIENT = 5
LISTS_PER_LINK = 60
LIST_LIMIT_WINDOW = timedelta(hours=1)


def link_with_favourites(request, share_id, *related):
    link = shared_link(request, share_id, *related)
    if not link.favourites:
        raise Http404("This gallery has no favourites.")
    return link


def own_list(request, link):
    favourite_list = visitor_list(request, link)
    if favourite_list is None:
        raise Http404("You have no favourites on this browser yet.")
    return favourite_list


def resume_url(link, token):
    return settings.VIEWPORT_SITE_URL + reverse("favourites:resume", args=[link.pk, token])


def list_json(favourite_list, token, photos=False, **kwargs):
    data = {
        "id": str(favourite_list.pk),
        "name": favourite_list.name,
        "resume_url": resume_url(favourite_list.link, token),
        "count": favourite_list.favourites.count(),
        "limit": favourite_list.limit,
        "submitted": favourite_list.is_submitted,
    }
    if photos:
        data["photos"] = [
            {"id": str(photo_id), "comment": comment}
            for photo_id, comment in favourite_list.favourites.order_by("created_at").values_list("photo_id", "comment")
        ]
    return JsonResponse(data, **kwargs)


def back(request, link, message=None, anchor=""):
    """To the page the form was posted from (within this link), else the gallery."""
    if message:
        messages.success(request, message)
    next_url = request.POST.get("next", "")
    if next_url.startswith(link.get_absolute_url()) and url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect(link.get_absolute_url() + anchor)


def closed(request, link, error):
    """409: the list could not take the change. Nothing was saved."""
    if wants_json(request):
        return JsonResponse({"error": str(error)}, status=409)
    return render(request, "favourites/closed.html", {"link": link, "message": str(error)}, status=409)


@public_view
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def favourite_list(request, share_id):
    link = link_with_favourites(request, share_id, "gallery__owner")
    if request.method == "POST":
        return start_list(request, link)
    favourite_list = visitor_list(request, link)
    if wants_json(request):
        if favourite_list is None:
            raise Http404("You have no favourites on this browser yet.")
        return list_json(favourite_list, visitor_token(request), photos=True)
    context = {"link": link, "gallery": link.gallery, "favourite_list": favourite_list, "form": StartListForm(link)}
    if favourite_list:
        context["favourites"] = favourite_list.favourites.select_related("photo").order_by("created_at")
        context["resume_url"] = resume_url(link, visitor_token(request))
    return render(request, "favourites/favourite_list.html", context)


def start_list(request, link):
    form = StartListForm(link, posted_data(request))
    hits = count_list_start(request, link)
    if hits is None:
        return too_many_lists(request, link)
    if not form.is_valid():
        for hit in hits:
            hit.delete()  # only lists that start count
        if wants_json(request):
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        return render(
            request, "favourites/favourite_list.html", {"link": link, "gallery": link.gallery, "form": form}, status=400
        )
    favourite_list = form.save()
    if favourite_list.email:
        send_resume_link.enqueue(str(favourite_list.pk))
    photo = heart_that_asked(form.data, request, link)
    if photo:  # the heart that asked for a name: add its photo now
        try:
            if favourite_list.add(photo):
                stats.count(request, link, "favourites", photo=photo)
        except FavouritesClosed:
            pass  # a limit of none: the list is started, the photo is not in it
    if wants_json(request):
        response = list_json(favourite_list, form.token, status=201)
    else:
        response = back(
            request,
            link,
            f"Your favourites are saved on this browser, {favourite_list.name}.",
            f"#tile-{photo.pk}" if photo else "",
        )
    remember_list(response, link, form.token)
    stats.remember_visitor(response, link, visitor_of(favourite_list))
    return response


def heart_that_asked(data, request, link):
    """The photo whose heart asked the visitor for their name (`photo_id`), if any."""
    try:
        return shared_photo(request, link.pk, uuid.UUID(data.get("photo_id", "")))[1]
    except (ValueError, Http404):
        return None


def list_start_limits(request, link):
    return {f"{link.pk}:{throttling.client_network(request)}": LISTS_PER_CLIENT, str(link.pk): LISTS_PER_LINK}


def count_list_start(request, link):
    """Count one more list started on `link` from this client's network: the hits, or None
    (counting nothing) when the network's or the link's limit is reached."""
    hits = []
    for key, limit in list_start_limits(request, link).items():
        recorded = throttling.try_record("favourites-start", key, limit, LIST_LIMIT_WINDOW)
        if not recorded:
            for hit in hits:
                hit.delete()
            return None
        hits += recorded
    return hits


def too_many_lists(request, link):
    """429: lists start slowly from one network (each may e-mail an address), and from all."""
    seconds = max(
        throttling.retry_after("favourites-start", key, limit, LIST_LIMIT_WINDOW)
        for key, limit in list_start_limits(request, link).items()
    )
    message = "Too many lists of favourites were started here just now. Please try again later."
    if wants_json(request):
        response = JsonResponse({"error": message}, status=429)
    else:
        response = render(request, "favourites/closed.html", {"link": link, "message": message}, status=429)
    response["Retry-After"] = str(max(1, seconds))
    return response


def visitor_of(favourite_list):
    """Who the visitor is, for the link's statistics: the person of the list."""
    return stats.Visitor(str(favourite_list.pk), favourite_list.name)


@public_view
@require_POST
def favourite_add(request, share_id, photo_id):
    link = link_with_favourites(request, share_id)
    photo = shared_photo(request, share_id, photo_id)[1]
    favourite_list = visitor_list(request, link)
    if favourite_list is None:
        if wants_json(request):
            raise Http404("Start your favourites first: tell us your name.")
        return redirect(reverse("favourites:favourite_list", args=[link.pk]) + f"?photo={photo.pk}")
    try:
        is_new = favourite_list.add(photo)
    except FavouritesClosed as error:
        return closed(request, link, error)
    if is_new:
        stats.count(request, link, "favourites", photo=photo)
    if wants_json(request):
        return list_json(favourite_list, visitor_token(request))
    return back(request, link, anchor=f"#tile-{photo.pk}")


@public_view
@require_POST
def favourite_remove(request, share_id, photo_id):
    link = link_with_favourites(request, share_id)
    photo = shared_photo(request, share_id, photo_id)[1]
    favourite_list = own_list(request, link)
    try:
        favourite_list.remove(photo)
    except FavouritesClosed as error:
        return closed(request, link, error)
    if wants_json(request):
        return list_json(favourite_list, visitor_token(request))
    return back(request, link, anchor=f"#tile-{photo.pk}")


@public_view
@require_POST
def favourite_comment(request, share_id, photo_id):
    link = link_with_favourites(request, share_id)
    if not link.favourites_comments:
        raise Http404("Comments are off for this gallery.")
    photo = shared_photo(request, share_id, photo_id)[1]
    favourite_list = own_list(request, link)
    form = CommentForm(posted_data(request))
    if not form.is_valid():
        if wants_json(request):
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        return closed(request, link, " ".join(form.errors["comment"]))
    try:
        favourite_list.add(photo, comment=form.cleaned_data["comment"])
    except FavouritesClosed as error:
        return closed(request, link, error)
    if wants_json(request):
        return list_json(favourite_list, visitor_token(request), photos=True)
    return back(request, link, "Comment saved.", anchor=f"#tile-{photo.pk}")


@public_view
@require_POST
def favourite_submit(request, share_id):
    link = link_with_favourites(request, share_id)
    favourite_list = own_list(request, link)
    try:
        sent_now = favourite_list.submit()
    except FavouritesClosed as error:
        return closed(request, link, error)
    if sent_now:
        notify_photographer_of(favourite_list)
    if wants_json(request):
        return list_json(favourite_list, visitor_token(request))
    return back(request, link, "Sent! The photographer now has your favourites.")


@public_view
@require_safe
@zips.stream_slot_required
def favourite_zip(request, share_id):
    """The visitor's favourites as one ZIP, under the link's download rules."""
    link = link_with_favourites(request, share_id, "gallery")
    favourite_list = own_list(request, link)
    photos = link.gallery.ordered_photos().filter(favourites__favourite_list=favourite_list)
    return zips.link_zip(request, link, photos, f"{link.gallery} - {favourite_list.name}")


@public_view
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def resume(request, share_id, token):
    """A personal resume link: shows whose list it is, and sets the cookie only once the visitor
    confirms (a link someone else sent must not silently swap their list)."""
    link = link_with_favourites(request, share_id, "gallery__owner")
    favourite_list = FavouriteList.objects.with_token(token).filter(link=link).first()
    if favourite_list is None:
        raise Http404("This link to a list of favourites does not work (any more).")
    if request.method != "POST":
        return render(request, "favourites/resume.html", {"link": link, "favourite_list": favourite_list})
    response = redirect(link)
    remember_list(response, link, token)
    stats.remember_visitor(response, link, visitor_of(favourite_list))
    messages.success(request, f"Welcome back, {favourite_list.name}: your favourites are on this browser now.")
    return response
