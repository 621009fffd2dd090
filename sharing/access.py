"""What a request under /s/<share_id>/ may see: the one place that decides.

Every public view, thumbnail, download and ZIP gets its link and photos from here, so a rule
about links is written once and no route can skip it. In order:

- unknown link: 404;
- expired: 410;
- paused: 404, with a page that says the gallery is not available right now;
- password: 401 with the password form, until this browser unlocks this link (a signed cookie
  scoped to the link's path, which a password change invalidates);
- downloads the photographer turned off: 403.
"""

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.crypto import constant_time_compare

from accounts import throttling
from galleries.models import Photo
from sharing.models import ShareLink
from viewport.http import refuse, too_many_requests

UNLOCK_COOKIE = "viewport_unlock"
UNLOCK_SALT = "sharing.unlock"
UNLOCK_SECONDS = 24 * 60 * 60


class LinkClosed(Exception):
    """The link shows nothing to this request now: `status`, `template` and `message` say why;
    `limited`, a RateLimited, when it is a rate limit's 429."""

    def __init__(self, status, template, message, link=None, limited=None):
        super().__init__(message)
        self.status = status
        self.template = template
        self.message = message
        self.link = link
        self.limited = limited


def shared_link(request, share_id, *related, unlocked=True):
    """The share link, if this request may see it; else LinkClosed (or Http404 when unknown).

    `unlocked=False` skips only the password (for the unlock form itself).
    """
    links = ShareLink.objects.with_extensions()
    link = get_object_or_404(links.select_related(*related) if related else links, pk=share_id)
    if link.is_expired:
        raise LinkClosed(410, "sharing/link_expired.html", "This link has expired.", link=link)
    if not link.is_active:
        raise LinkClosed(404, "sharing/link_paused.html", "This gallery is not available right now.", link=link)
    if unlocked and link.has_password and not is_unlocked(request, link):
        raise LinkClosed(401, "sharing/link_locked.html", "This gallery needs a password.", link=link)
    return link


def shared_photo(request, share_id, photo_id, *related):
    """(link, photo) for a photo of the link's gallery; any other photo is a 404."""
    link = shared_link(request, share_id, *related)
    photo = Photo.objects.filter(pk=photo_id, gallery_id=link.gallery_id).first()
    if photo is None:
        raise Http404("No such photo in this gallery.")
    return link, photo


def check_download(link, kind):
    """Refuse a `zip` or `single` download the photographer turned off for this link."""
    if not (link.allow_zip if kind == "zip" else link.allow_single):
        raise LinkClosed(403, "sharing/downloads_off.html", "Downloads are turned off for this gallery.", link=link)


# Passwords


def is_unlocked(request, link):
    token = request.get_signed_cookie(UNLOCK_COOKIE, default="", salt=UNLOCK_SALT, max_age=UNLOCK_SECONDS)
    return constant_time_compare(token, link.unlock_token)


def check_password(request, link, password):
    """Check a password typed on the link's form: wrong is LinkClosed 401. Too many wrong tries
    (RATE_LIMITS["link-password"], per client network and per link) is LinkClosed 429, even for
    the right password, so guessing stays slow whatever the guesser learns. Each try is counted
    before its password is checked, so parallel guesses cannot all slip under the limits."""
    try:
        attempt = throttling.consume("link-password", link=link.pk, network=throttling.client_network(request))
    except throttling.RateLimited as limited:
        raise LinkClosed(429, "sharing/link_locked.html", str(limited), link=link, limited=limited) from None
    if not link.check_password(password):
        raise LinkClosed(401, "sharing/link_locked.html", "That password is not right. Please try again.", link=link)
    attempt.take_back()  # only wrong tries count


def remember_unlock(response, link):
    """Let this browser see `link` for a day, and no other link."""
    set_link_cookie(response, link, UNLOCK_COOKIE, link.unlock_token, UNLOCK_SALT, UNLOCK_SECONDS)


def set_link_cookie(response, link, name, value, salt, max_age):
    """What a browser keeps about one share link (an unlock, who the visitor is, their list): a
    signed cookie sent to that link's URLs only, HttpOnly, SameSite=Lax, Secure in production."""
    response.set_signed_cookie(
        name,
        value,
        salt=salt,
        max_age=max_age,
        path=link.get_absolute_url(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


# Answers


def public_view(view):
    """Wrap a view under /s/: a closed link gets its page (or JSON) with its status, an unknown
    one the not-found page. No public answer may be indexed, and none may leak the link's
    address to other sites through the Referer header. (`same-origin`, not `no-referrer`:
    with no referrer at all Chromium sends `Origin: null` on the pages' own forms, such as the
    password form, and the CSRF check refuses them.)"""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except LinkClosed as closed:
            response = closed_response(request, closed)
        except Http404:
            response = closed_response(request, LinkClosed(404, "sharing/link_not_found.html", "No such gallery."))
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapper


def closed_response(request, closed):
    context = {"link": closed.link}
    if closed.limited:
        response = too_many_requests(request, closed.limited, closed.template, context)
    else:
        response = refuse(request, closed.status, closed.message, closed.template, context)
    response["Cache-Control"] = "private, no-store"
    return response
