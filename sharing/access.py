"""What a request under /s/<share_id>/ may see: the one place that decides.

Every public view, thumbnail, download and ZIP gets its link and photos from here, so a rule
about links is written once and no route can skip it. In order:

- unknown link: 404;
- expired: 410;
- paused: 404, with a page that says the gallery is not available right now;
- password: 401 with the password form, until this browser unlocks this link (a signed cookie
  scoped to the link's path, which a password change invalidates);
- visitor registration (`require_email`): 401 with a form for an e-mail address and a name,
  until this browser gave them (a signed cookie scoped to the link's path);
- downloads the photographer turned off: 403;
- downloads behind a PIN: 401 with the PIN form, until this browser types it (a signed cookie
  scoped to the link's path, which a PIN change invalidates).
"""

from collections import namedtuple
from functools import wraps
from urllib.parse import quote, unquote

from django.conf import settings
from django.http import Http404
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts import challenges, throttling
from accounts.tasks import notify_photographer
from galleries.models import Photo
from sharing.models import ShareLink
from viewport.http import refuse, too_many_requests

UNLOCK_COOKIE = "viewport_unlock"
UNLOCK_SALT = "sharing.unlock"
UNLOCK_SECONDS = 24 * 60 * 60
REGISTRATION_COOKIE = "viewport_registration"
REGISTRATION_SALT = "sharing.registration"
VISITOR_SECONDS = 180 * 24 * 60 * 60
DOWNLOAD_PIN_COOKIE = "viewport_download_pin"
DOWNLOAD_PIN_SALT = "sharing.download-pin"
# The page that asks for each secret of a link (by its action in RATE_LIMITS), and what a wrong
# one reads.
FORMS = {
    "link-password": ("sharing/link_locked.html", "That password is not right. Please try again."),
    "download-pin": ("sharing/download_pin.html", "That PIN is not right. Please try again."),
}


class LinkClosed(Exception):
    """The link shows nothing to this request now: `status`, `template` and `message` say why;
    `limited`, a RateLimited, when it is a rate limit's 429; `challenge`: the form on the page
    carries a proof-of-work challenge (accounts.challenges)."""

    def __init__(self, status, template, message, link=None, limited=None, challenge=False):
        super().__init__(message)
        self.status = status
        self.template = template
        self.message = message
        self.link = link
        self.limited = limited
        self.challenge = challenge


def shared_link(request, share_id, *related, unlocked=True, registered=True):
    """The share link, if this request may see it; else LinkClosed (or Http404 when unknown).

    `unlocked=False` skips the password and the registration (for the unlock form itself),
    `registered=False` the registration only (for the registration form).
    """
    links = ShareLink.objects.with_extensions()
    link = get_object_or_404(links.select_related(*related) if related else links, pk=share_id)
    if link.is_expired:
        raise LinkClosed(410, "sharing/link_expired.html", "This link has expired.", link=link)
    if not link.is_active:
        raise LinkClosed(404, "sharing/link_paused.html", "This gallery is not available right now.", link=link)
    if unlocked and link.has_password and not is_unlocked(request, link):
        challenge = needs_challenge(request, link, "link-password")
        raise LinkClosed(
            401, FORMS["link-password"][0], "This gallery needs a password.", link=link, challenge=challenge
        )
    if unlocked and registered and link.require_email and not registered_visitor(request, link):
        message = "Tell us your e-mail address to see this gallery."
        raise LinkClosed(401, "sharing/register.html", message, link=link)
    return link


def shared_photo(request, share_id, photo_id, *related):
    """(link, photo) for a photo of the link's gallery; any other photo is a 404."""
    link = shared_link(request, share_id, *related)
    photo = Photo.objects.filter(pk=photo_id, gallery_id=link.gallery_id).first()
    if photo is None:
        raise Http404("No such photo in this gallery.")
    return link, photo


def check_download(request, link, kind):
    """Refuse a `zip` or `single` download the photographer turned off for this link (403), or
    one this browser has not typed the link's download PIN for (401, with the PIN form)."""
    if not (link.allow_zip if kind == "zip" else link.allow_single):
        raise LinkClosed(403, "sharing/downloads_off.html", "Downloads are turned off for this gallery.", link=link)
    if needs_download_pin(request, link):
        challenge = needs_challenge(request, link, "download-pin")
        message = "Downloads of this gallery need a PIN: type the one the photographer gave you."
        raise LinkClosed(401, FORMS["download-pin"][0], message, link=link, challenge=challenge)


# Visitors who said who they are

# Who a visitor said they are, for the link's statistics: an id and a name to show.
Visitor = namedtuple("Visitor", ["id", "label"])


def registered_visitor(request, link):
    """The Visitor this browser registered as on `link` (remember_registration()), or None."""
    value = request.get_signed_cookie(REGISTRATION_COOKIE, default="", salt=REGISTRATION_SALT, max_age=VISITOR_SECONDS)
    return visitor_in_cookie(value, link)


def registration(request, link):
    """The LinkVisitor this browser registered as on `link`, or None; with the name this browser
    typed (its cookie's label), not the stored one, which may be someone else's who gave that address."""
    visitor = registered_visitor(request, link)
    row = link.visitors.filter(pk=visitor.id).first() if visitor else None
    if row is not None:
        row.name = "" if visitor.label == row.email else visitor.label.removesuffix(f" ({row.email})")
    return row


def remember_registration(response, link, link_visitor):
    """Let this browser see a link that asks for an e-mail address, as `link_visitor`."""
    value = visitor_cookie_value(link, link_visitor)
    set_link_cookie(response, link, REGISTRATION_COOKIE, value, REGISTRATION_SALT, VISITOR_SECONDS)


def visitor_cookie_value(link, visitor):
    """A visitor (anything with `id` and `label`) as a cookie of `link` keeps them. The label is
    percent-encoded: a header carries Latin-1 only (gunicorn answers 500 for "Łukasz" or "李雷")."""
    return f"{link.pk}|{visitor.id}|{quote(visitor.label, safe='')}"


def visitor_in_cookie(value, link):
    """The Visitor a cookie's `value` (visitor_cookie_value()) names on `link`, or None."""
    link_id, _, visitor = value.partition("|")
    if link_id != str(link.pk) or "|" not in visitor:
        return None  # a cookie copied from another link names nobody here
    visitor_id, _, label = visitor.partition("|")
    return Visitor(visitor_id, unquote(label))


# Download PINs


def needs_download_pin(request, link):
    """Whether downloads of `link` still need its PIN in this browser."""
    if not link.has_download_pin:
        return False
    token = request.get_signed_cookie(DOWNLOAD_PIN_COOKIE, default="", salt=DOWNLOAD_PIN_SALT, max_age=UNLOCK_SECONDS)
    return not constant_time_compare(token, link.download_pin_token)


def check_download_pin(request, link, data):
    """Check the PIN of the link's PIN form (`data`, the posted fields): like its password."""
    check_guess(request, link, "download-pin", link.check_download_pin, data.get("pin", "").strip(), data)


def remember_download_pin(response, link):
    """Let this browser download from `link` for a day, until its PIN changes."""
    set_link_cookie(response, link, DOWNLOAD_PIN_COOKIE, link.download_pin_token, DOWNLOAD_PIN_SALT, UNLOCK_SECONDS)


# Passwords


def is_unlocked(request, link):
    token = request.get_signed_cookie(UNLOCK_COOKIE, default="", salt=UNLOCK_SALT, max_age=UNLOCK_SECONDS)
    return constant_time_compare(token, link.unlock_token)


def check_password(request, link, data):
    """Check the password of the link's form (`data`, the posted fields): wrong is LinkClosed 401.
    Too many wrong tries from the client's network (RATE_LIMITS["link-password"]) is LinkClosed
    429, even for the right password, so guessing stays slow whatever the guesser learns. Once
    the link has seen many wrong tries, each try needs a solved challenge (accounts.challenges):
    without one it is a 401 that asks for it, and its password is not checked."""
    check_guess(request, link, "link-password", link.check_password, data.get("password", ""), data)


def check_guess(request, link, action, check, guess, data):
    """Check a secret typed on one of the link's forms (its password, its download PIN) under
    `action`'s limits. Each try is counted before it is checked, so parallel guesses cannot all
    slip under the limits; a right one is taken back."""
    template, wrong = FORMS[action]
    network = throttling.client_network(request)
    try:
        solved = challenges.is_solved(data, challenges.cost(action, link=link.pk))
        attempt = throttling.consume(action, link=link.pk, network=network, solved=solved)
    except throttling.RateLimited as limited:
        raise LinkClosed(429, template, str(limited), link=link, limited=limited) from None
    except throttling.ChallengeRequired as required:
        raise LinkClosed(401, template, str(required), link=link, challenge=True) from None
    if not check(guess):
        if link.note_wrong_guess(action, network):
            warn_photographer_of_guessing(link)
        raise LinkClosed(401, template, wrong, link=link, challenge=needs_challenge(request, link, action))
    attempt.take_back()  # only wrong tries count


def warn_photographer_of_guessing(link):
    """E-mail the photographer (through the worker) that `link` is being guessed: what its page
    says (sharing/sharelink_detail.html), and a link to that page."""
    guessing = link.guessing()
    context = {
        "link_name": link.label or str(link.gallery),
        "gallery": str(link.gallery),
        "tries": guessing.tries,
        "warning": guessing.warning,
        "link_url": settings.VIEWPORT_SITE_URL + reverse("sharing:share_link_detail", args=[link.pk]),
    }
    key = f"{link.guessing_alert_key}:{timezone.now():%Y-%m-%dT%H:%M}"
    notify_photographer.enqueue(str(link.gallery.owner_id), "guessing", key, context)


def needs_challenge(request, link, action):
    """Whether the link's form for `action` should carry a challenge for the browser to solve."""
    return throttling.needs_challenge(action, link=link.pk, network=throttling.client_network(request))


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

# Client pages carry their stylesheet inline (sharing_tags.stylesheet): every page under /s/ is
# sent compressed, closed links' pages too. Downloads stream and images are compressed already.
_compress = GZipMiddleware(get_response=lambda request: None).process_response


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
        if not response.streaming and response.get("Content-Type", "").startswith("text/html"):
            response = _compress(request, response)
        return response

    return wrapper


def closed_response(request, closed):
    # Where a form on the page goes on to once answered (the download that asked for the PIN).
    go_on = request.POST.get("next", "") if request.method == "POST" else request.get_full_path()
    context = {"link": closed.link, "challenge": closed.challenge, "next": go_on}
    if closed.limited:
        response = too_many_requests(request, closed.limited, closed.template, context)
    else:
        response = refuse(request, closed.status, closed.message, closed.template, context)
    response["Cache-Control"] = "private, no-store"
    return response
