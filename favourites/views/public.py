"""A client's favourites on a share link: start a list, heart and comment photos, send it.

Every view reaches its link and photos through sharing.access (unknown 404, expired 410,
paused 404, password 401), and its list only through the visitor's own cookie: anyone else's
list is a 404. JSON with `Accept: application/json`; without JavaScript, forms that post and
come back to the same place.
"""

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.throttling import RateLimited, client_network, consume
from favourites.forms import CommentForm, StartListForm
from favourites.models import FavouriteList, FavouritesClosed, FavouritesSettings
from favourites.tasks import notify_photographer_of, send_resume_link
from favourites.visitor import remember_list, visitor_list, visitor_token
from sharing import access, stats, zips
from sharing.access import public_view, shared_link, shared_photo
from viewport.http import answer, next_url, posted_data, refuse, refuse_form, too_many_requests, wants_json


def link_with_favourites(request, share_id, *related):
    link = shared_link(request, share_id, *related)
    if not FavouritesSettings.of(link).favourites:
        raise Http404("This gallery has no favourites.")
    return link


def own_list(request, link):
    favourite_list = visitor_list(request, link)
    if favourite_list is None:
        raise Http404("You have no favourites on this browser yet.")
    return favourite_list


def resume_url(link, token):
    return settings.VIEWPORT_SITE_URL + reverse("favourites:resume", args=[link.pk, token])


def list_json(favourite_list, token, photos=False):
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
    return data


def back(request, link, anchor=""):
    """The page the form was posted from (within this link), else the gallery."""
    return next_url(request, link.get_absolute_url() + anchor, within=link.get_absolute_url())


def closed(request, link, error):
    """409: the list could not take the change. Nothing was saved."""
    return refuse(request, 409, str(error), "favourites/closed.html", {"link": link})


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
        return JsonResponse(list_json(favourite_list, visitor_token(request), photos=True))
    context = {"link": link, "gallery": link.gallery, "favourite_list": favourite_list, "form": StartListForm(link)}
    if favourite_list:
        favourites = list(favourite_list.favourites.select_related("photo").order_by("created_at"))
        label_photos(link.gallery, [favourite.photo for favourite in favourites])
        context["favourites"] = favourites
        context["resume_url"] = resume_url(link, visitor_token(request))
    return render(request, "favourites/favourite_list.html", context)


def label_photos(gallery, photos):
    """Give each photo `label`: how the client's pages name it, its file name or, where the
    photographer hides file names, "Photo 12 of 40" (its place in the gallery's order)."""
    if gallery.show_filenames:
        for photo in photos:
            photo.label = photo.original_filename
        return
    order = {pk: number for number, pk in enumerate(gallery.ordered_photos().values_list("pk", flat=True), 1)}
    for photo in photos:
        photo.label = f"Photo {order.get(photo.pk, '?')} of {len(order)}"


def start_list(request, link):
    """Start the visitor's list. Lists start slowly from each network (RATE_LIMITS["favourites-start"]);
    a client on another network can always start one."""
    registered = access.registration(request, link)
    form = StartListForm(link, posted_data(request), registered=registered)
    try:
        started = consume("favourites-start", link=link.pk, network=client_network(request))
    except RateLimited as limited:
        return too_many_requests(request, limited, "favourites/closed.html", {"link": link})
    if not form.is_valid():
        started.take_back()  # only lists that start count
        return refuse_form(request, form, "favourites/favourite_list.html", {"link": link, "gallery": link.gallery})
    favourite_list = form.save()
    if favourite_list.email and may_mail_resume_link(link):
        send_resume_link.enqueue(str(favourite_list.pk))
    photo = heart_that_asked(form.data, request, link)
    if photo:  # the heart that asked for a name: add its photo now
        try:
            if favourite_list.add(photo):
                stats.count(request, link, "favourites", photo=photo)
        except FavouritesClosed:
            pass  # a limit of none: the list is started, the photo is not in it
    response = answer(
        request,
        list_json(favourite_list, form.token),
        back(request, link, f"#tile-{photo.pk}" if photo else ""),
        f"Your favourites are saved on this browser, {favourite_list.name}.",
        status=201,
    )
    remember_list(response, link, form.token)
    if registered is None:  # a registered visitor is known by their address already
        stats.remember_visitor(response, link, visitor_of(favourite_list))
    return response


def may_mail_resume_link(link):
    """Whether a list started now may have its resume link mailed (RATE_LIMITS["favourites-resume-mail"])."""
    try:
        consume("favourites-resume-mail", link=link.pk)
    except RateLimited:
        return False
    return True


def heart_that_asked(data, request, link):
    """The photo whose heart asked the visitor for their name (`photo_id`), if any."""
    try:
        return shared_photo(request, link.pk, uuid.UUID(data.get("photo_id", "")))[1]
    except (ValueError, Http404):
        return None


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
        counts = favourite_list.add(photo)
    except FavouritesClosed as error:
        return closed(request, link, error)
    if counts:
        stats.count(request, link, "favourites", photo=photo)
    return answer(request, list_json(favourite_list, visitor_token(request)), back(request, link, f"#tile-{photo.pk}"))


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
    return answer(request, list_json(favourite_list, visitor_token(request)), back(request, link, f"#tile-{photo.pk}"))


@public_view
@require_POST
def favourite_comment(request, share_id, photo_id):
    link = link_with_favourites(request, share_id)
    if not FavouritesSettings.of(link).favourites_comments:
        raise Http404("Comments are off for this gallery.")
    photo = shared_photo(request, share_id, photo_id)[1]
    favourite_list = own_list(request, link)
    form = CommentForm(posted_data(request))
    if not form.is_valid():
        return refuse_form(request, form, "favourites/closed.html", {"link": link})
    try:
        counts = favourite_list.add(photo, comment=form.cleaned_data["comment"])
    except FavouritesClosed as error:
        return closed(request, link, error)
    if counts:
        stats.count(request, link, "favourites", photo=photo)
    return answer(
        request,
        list_json(favourite_list, visitor_token(request), photos=True),
        back(request, link, f"#tile-{photo.pk}"),
        "Comment saved.",
    )


@public_view
@require_POST
def favourite_submit(request, share_id):
    link = link_with_favourites(request, share_id)
    favourite_list = own_list(request, link)
    try:
        favourite_list.submit()
    except FavouritesClosed as error:
        return closed(request, link, error)
    notify_photographer_of(favourite_list)
    return answer(
        request,
        list_json(favourite_list, visitor_token(request)),
        back(request, link),
        "Sent! The photographer now has your favourites.",
    )


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
