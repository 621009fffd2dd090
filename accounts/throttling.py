"""Who is asking, and how often.

`client_address()` is the only reader of X-Forwarded-For; `client_network()` is what limits per
client count by. django-axes counts login failures with the address (AXES_CLIENT_IP_CALLABLE), with
`login_attempt_email()` (AXES_USERNAME_CALLABLE) and with `LoginFailureHandler` (AXES_HANDLER).
RATE_LIMITS is the table of every rate limit, `consume()` the one way to count against it, and
RateLimited the refusal that viewport.http.too_many_requests() answers; the hits are kept in the
database (RateLimitHit).
"""

import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import RateLimitHit, User

# Hits older than this are deleted as new ones are recorded: no window may be longer.
KEEP = timedelta(days=1)
# Where no address can be read at all (a socket that is no IP socket): one shared bucket.
UNKNOWN_ADDRESS = "0.0.0.0"


def client_address(request):
    """The client's IP address, as the outermost of VIEWPORT_PROXY_COUNT proxies saw it.

    Each proxy appends the address it got the request from to X-Forwarded-For, so the client's
    is the N-th entry from the right; entries left of it were written by the client and prove
    nothing. When that entry is missing or is no address (the request did not come through the
    proxies as configured), the socket's address is used: never anything further left.
    """
    proxies = settings.VIEWPORT_PROXY_COUNT
    if proxies:
        entries = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(entries) >= proxies and (forwarded := _parse_address(entries[-proxies])):
            return forwarded
    return _parse_address(request.META.get("REMOTE_ADDR", "")) or UNKNOWN_ADDRESS


def client_network(request, wide=False):
    """The client, for limits per client: its IPv4 address, or the /56 its IPv6 address is in.
    `wide`: the neighbourhood it is in, for a looser limit shared with its neighbours: the /24
    of its IPv4 address, the /48 of its IPv6 one (what one site or provider customer holds).

    One IPv6 subscriber gets at least a /64, and a home connection commonly a /56 (256 /64s), so
    counting single addresses or /64s would give one home many fresh limits; and one customer
    often gets a /48, or several IPv4 addresses side by side. (django-axes keeps the address:
    its column holds addresses only.)
    """
    address = ipaddress.ip_address(client_address(request))
    if address.version == 4 and not wide:
        return str(address)
    prefix = (48 if wide else 56) if address.version == 6 else 24
    return str(ipaddress.ip_network((address, prefix), strict=False))


def _parse_address(text):
    """`text` as one canonical IP address string, or None. Accepts the port or IPv6 zone some
    proxies add (`[2001:db8::1]:443`, `203.0.113.7:51234`, `fe80::1%eth0`)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def login_attempt_email(request, credentials=None):
    """The account a login attempt is for, as django-axes counts it: normalised exactly as the
    login itself looks it up, so every spelling of an address shares one count."""
    data = credentials or request.POST
    return User.objects.normalize_email(data.get("username") or data.get("email") or "")


class LoginFailureHandler(AxesDatabaseHandler):
    """django-axes' database handler, counting each attempt before its password is checked.

    Axes checks the counts, checks the password, and counts the failure afterwards: a burst of
    attempts all pass the check before the first is counted, and each gets its password checked.
    Here `is_allowed()` counts the attempt first, like `consume()`: an attempt that the count
    puts over the limit is refused unchecked and taken back; a successful login takes back its
    count with the account's others. The counts are then exactly the wrong passwords checked, so:

    - an attempt refused because its account or address is locked out is never counted
      (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False marks it `axes_locked_out`), so
      neither an attacker going on, from a locked address or not, nor the owner trying the right
      password again keeps an account locked: the cool-off runs from the last password checked;
    - nothing of the request's form or query is stored: axes appends up to 1 KB of each to the
      attempt's row on every failure.

    A successful login clears only the failures of the account that logged in. Axes' own reset
    also deletes every failure from the same address: signup is open, so anyone could log in to
    an account of their own after each few guesses at someone else's password.
    """

    def is_allowed(self, request, credentials=None):
        return super().is_allowed(request, credentials) and self.count_attempt(request, credentials)

    def count_attempt(self, request, credentials):
        """Count the attempt as a failure of its account and address. False, and taken back, when
        that makes more than the limit: others were counted first."""
        self.clean_expired_user_attempts(request, credentials)
        with transaction.atomic():
            attempt, created = AccessAttempt.objects.select_for_update().get_or_create(
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
                user_agent=request.axes_user_agent,
                defaults={
                    "http_accept": request.axes_http_accept,
                    "path_info": request.axes_path_info,
                    "failures_since_start": 1,
                },
            )
            if not created:
                attempt.failures_since_start = F("failures_since_start") + 1
                attempt.attempt_time = request.axes_attempt_time
                attempt.save(update_fields=["failures_since_start", "attempt_time"])
        request.axes_failures_since_start = self.get_failures(request, credentials)
        if request.axes_failures_since_start > get_failure_limit(request, credentials):
            AccessAttempt.objects.filter(pk=attempt.pk).update(failures_since_start=F("failures_since_start") - 1)
            return False
        return True

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        """The attempt was counted, or refused uncounted, before its password was checked: only
        say whether the answer is the lockout page."""
        if request is None:
            return
        if request.axes_failures_since_start is None and not request.axes_locked_out:
            # It did not come through is_allowed(), as every login does: count it late, not never.
            self.count_attempt(request, credentials)
        if request.axes_locked_out or request.axes_failures_since_start >= get_failure_limit(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            username = get_client_username(request, credentials)
            user_locked_out.send("axes", request=request, username=username, ip_address=request.axes_ip_address)

    def reset_user_attempts(self, request, credentials=None):
        return clear_login_failures(get_client_username(request, credentials))


def clear_login_failures(email):
    """Forget the failed logins to one account (from any address): it is no longer locked out.
    Failures from those addresses at other accounts still count."""
    count, _ = AccessAttempt.objects.filter(username=email).delete()
    return count


# The rate limiter. Keys are stored as keyed hashes, so the table holds no e-mail addresses.

MINUTES_15, HOUR, DAY = timedelta(minutes=15), timedelta(hours=1), timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """At most `count` events for each value of the keys named in `per` ("network", "link
    network") within a sliding `window`. Either may name the setting that holds it. A
    `challenge` limit refuses nobody: past it, each event needs a solved proof-of-work challenge
    (accounts.challenges), which costs a browser a second and a mass guesser that much per guess."""

    per: str
    count: int | str
    window: timedelta | str
    challenge: bool = False

    @property
    def size(self):
        return getattr(settings, self.count) if isinstance(self.count, str) else self.count

    @property
    def span(self):
        return getattr(settings, self.window) if isinstance(self.window, str) else self.window

    def key(self, keys):
        return ":".join(str(keys[name]) for name in self.per.split())


@dataclass(frozen=True)
class Action:
    """The limits of one action, and what a refused person reads ({when}: "in 15 minutes",
    {limit}: the first limit's number); no message: refused in silence."""

    limits: tuple
    message: str = ""


# Every rate limit of the site.
RATE_LIMITS = {
    # Wrong passwords at login, per account and per address (VIEWPORT_LOGIN_FAILURE_LIMIT, 5,
    # and VIEWPORT_LOGIN_LOCKOUT_MINUTES, 15). Counted by django-axes (LoginFailureHandler above),
    # not consume(): its lockout runs from the last failure rather than in a sliding window.
    "login": Action(
        (
            Limit("account", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME"),
            Limit("address", "AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME"),
        ),
        "Too many failed log-in attempts. Please try again {when}.",
    ),
    # Wrong current passwords in a logged-in session (changing the e-mail or the password): a
    # stolen session cannot guess freely. Only wrong ones count.
    "current-password": Action(
        (Limit("account", 10, MINUTES_15),), "Too many wrong passwords. Please try again {when}."
    ),
    # Each new account costs an Argon2 hash (100 MiB, all cores for a moment) and a row. A
    # network's 4th and 5th account of the hour need a solved challenge: a person signing up is
    # never asked.
    "signup": Action(
        (Limit("network", 5, HOUR), Limit("network", 3, HOUR, challenge=True)),
        "Too many accounts were created from your network. Please try again {when}.",
    ),
    # Reset mails, refused in silence: the answer is the same whatever happened.
    "password-reset": Action((Limit("network", 10, HOUR), Limit("address", 3, HOUR))),
    # Wrong passwords of a share link. Only wrong ones count. Per client network: past the limit
    # even the right one is refused. Against guessers with many networks, a link that has seen
    # many wrong passwords asks every try for a solved challenge, and never refuses its clients.
    # Across all links a network's wrong tries count too: one account's own links with a password
    # are no source of fresh tries.
    "link-password": Action(
        (
            Limit("link network", 10, MINUTES_15),
            Limit("network", 30, MINUTES_15),
            Limit("link", 20, HOUR, challenge=True),
        ),
        "Too many wrong passwords. Please wait a few minutes and try again.",
    ),
    # A link's password typed again by its photographer, to send it by e-mail (each check is an
    # Argon2 hash). Only wrong ones count, per account and link: past the limit none is checked.
    "send-link-password": Action(
        (Limit("account link", 10, HOUR),),
        "Too many wrong passwords for this link. Nothing was sent; please try again {when}.",
    ),
    # Visitors registering on a share link that asks for their address (a row each): a venue's
    # wifi may carry a whole wedding party.
    "link-registration": Action(
        (Limit("link network", 60, HOUR),),
        "Too many visitors gave their address from your network just now. Please try again {when}.",
    ),
    # Lists of favourites started on a share link, per client network. No limit per link: one
    # would let a dozen networks turn favourites off for every client of the link.
    "favourites-start": Action(
        (Limit("link network", 5, HOUR),),
        "Too many lists of favourites were started here just now. Please try again later.",
    ),
    # Lists started with an e-mail address, whose resume link is mailed: past this the list still
    # starts, and its resume link is on the visitor's page only (visitor-mail below limits the rest).
    "favourites-resume-mail": Action((Limit("link", 60, HOUR),)),
    # Clients a photographer's account may e-mail per day (links sent, reminders, resume links).
    "mail-recipients": Action(
        (Limit("photographer", "VIEWPORT_MAIL_RECIPIENTS_PER_DAY", DAY),),
        "You have reached today’s limit of {limit} recipients. Nothing was sent; please try again tomorrow.",
    ),
    # Mail to addresses that visitors of a share link typed (favourites' resume link, reminders):
    # never the photographer's recipient limit. One a day per address, a day's most for the link,
    # and for all of a photographer's links as many as their own recipients: a photographer who
    # types strangers' addresses on their own link mails no more of them than by sending it.
    "visitor-mail": Action(
        (
            Limit("link address", 1, DAY),
            Limit("link", 100, DAY),
            Limit("photographer", "VIEWPORT_MAIL_RECIPIENTS_PER_DAY", DAY),
        )
    ),
    # Wrong download PINs of a share link: like its passwords.
    "download-pin": Action(
        (
            Limit("link network", 10, MINUTES_15),
            Limit("network", 30, MINUTES_15),
            Limit("link", 20, HOUR, challenge=True),
        ),
        "Too many wrong PINs. Please wait a few minutes and try again.",
    ),
    # The watermark's page (accounts.views.watermark*): every post decodes an uploaded image, and
    # each save has the task worker make every watermarked gallery of the photographer anew. The
    # live preview asks once per pause in typing or dragging.
    "watermark-preview": Action(
        (Limit("account", 200, MINUTES_15),),
        "Too many previews were asked for just now. Please try again {when}.",
    ),
    "watermark-save": Action(
        (Limit("account", 20, HOUR),),
        "Your watermark was changed {limit} times in the last hour. Nothing was saved; please try again {when}.",
    ),
    # Share links a photographer creates (VIEWPORT_LINK_CREATE_PER_HOUR, 200): generous for any
    # real work, and a stolen session or a script cannot fill the database with links.
    "link-create": Action(
        (Limit("account", "VIEWPORT_LINK_CREATE_PER_HOUR", HOUR),),
        "You created {limit} share links in the last hour. Nothing was created; please try again {when}.",
    ),
    # Saves of share links (VIEWPORT_LINK_UPDATE_PER_HOUR, 300; each may have the worker prepare
    # copies): far more than editing by hand makes, and a script cannot keep the worker busy.
    "link-update": Action(
        (Limit("account", "VIEWPORT_LINK_UPDATE_PER_HOUR", HOUR),),
        "You saved share links {limit} times in the last hour. Nothing was saved; please try again {when}.",
    ),
    # The photographer's e-mail that a link is under a guessing attack (ShareLink.note_wrong_guess):
    # once a link a day.
    "guessing-alert": Action((Limit("link", 1, DAY),)),
    # A solved challenge (accounts.challenges) is good for one event.
    "challenge-solution": Action((Limit("solution", 1, DAY),)),
    # Mails asking to confirm an account's address (signup, a changed address, "send it again"),
    # also per address they go to: accounts that take a stranger's address in turn mail them little.
    "address-confirmation": Action(
        (Limit("account", 3, HOUR), Limit("network", 10, HOUR), Limit("address", 5, DAY)),
        "Too many confirmation e-mails were asked for. Please try again {when}.",
    ),
}


class RateLimited(Exception):
    """An action refused by its limits. `retry_after`: seconds until it would pass; str(): what
    the refused person reads."""

    def __init__(self, action, retry_after):
        rules = RATE_LIMITS[action]
        super().__init__(rules.message.format(when=in_minutes(retry_after), limit=rules.limits[0].size))
        self.action = action
        self.retry_after = retry_after


class ChallengeRequired(Exception):
    """An action past one of its challenge limits, tried without a solved challenge."""

    def __init__(self, action):
        super().__init__(
            "Many wrong attempts were made here, so your browser proves it is a person before each try. "
            "Please try again: with JavaScript on it happens by itself."
        )
        self.action = action


class Hits(list):
    """The hits one consume() recorded."""

    def take_back(self):
        """For an event that turned out not to count (the right password, a form that failed)."""
        RateLimitHit.objects.filter(pk__in=[hit.pk for hit in self]).delete()


def consume(action, count=1, solved=False, **keys):
    """Count `count` events of `action` (a name in RATE_LIMITS) against each of its limits, by the
    keys they name (`network=…`, `link=…`). Returns the Hits when every limit holds; else takes
    them all back and raises RateLimited, saying when the action would pass again, or, when only
    challenge limits are passed and the event came without a `solved` challenge,
    ChallengeRequired.

    Exact under concurrent requests without a lock: each caller inserts first and counts after,
    and takes its hits back if any limit is passed. Of the callers that keep theirs, the last to
    insert counts all the others, so no limit lets more through. (A burst may be refused beyond
    that, while hits being taken back are still counted: it errs on the safe side.) This needs each
    insert committed before the count: call it outside transaction.atomic().
    """
    limits = [(limit, limit.key(keys)) for limit in RATE_LIMITS[action].limits]
    hits = Hits(hit for limit, key in limits for hit in record(_scope(action, limit), key, count))
    passed = [
        (limit, key) for limit, key in limits if _hits(_scope(action, limit), key, limit.span).count() > limit.size
    ]
    refused = [(limit, key) for limit, key in passed if not limit.challenge]
    if refused:
        hits.take_back()
        raise RateLimited(action, max(retry_after(action, key, limit.size, limit.span) for limit, key in refused))
    if passed and not solved:
        hits.take_back()
        raise ChallengeRequired(action)
    return hits


def needs_challenge(action, **keys):
    """Whether the next event of `action` for these keys would need a solved challenge: forms
    show the widget then, so that the browser solves it before the visitor's first try."""
    return any(
        _hits(_scope(action, limit), limit.key(keys), limit.span).count() >= limit.size
        for limit in RATE_LIMITS[action].limits
        if limit.challenge
    )


def challenge_pressure(action, **keys):
    """How many times over its challenge limit `action` is for these keys (0 below it): how much
    harder each challenge gets (accounts.challenges.cost())."""
    return max(
        (
            _hits(_scope(action, limit), limit.key(keys), limit.span).count() // limit.size
            for limit in RATE_LIMITS[action].limits
            if limit.challenge
        ),
        default=0,
    )


def _scope(action, limit):
    """Where a limit's hits are kept: a challenge limit's apart, so that it may count by the same
    keys as another limit of the action (signup counts per network for both)."""
    return f"{action}:challenge" if limit.challenge else action


def in_minutes(seconds):
    """When a limit that frees up in `seconds` lets the user try again, as in "in 15 minutes"."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"in {minutes} minute{'s' if minutes != 1 else ''}"


def record(scope, key, count=1):
    """Count `count` events for `key` in `scope`; returns the hits. Deletes hits too old to count
    for anything on the way (one indexed DELETE)."""
    now = timezone.now()
    RateLimitHit.objects.filter(created_at__lt=now - KEEP).delete()
    return RateLimitHit.objects.bulk_create(
        RateLimitHit(scope=scope, key=_digest(key), created_at=now) for _ in range(count)
    )


def tally(scopes, window):
    """What record() counted in each of `scopes` within the last `window`: ({scope: events},
    how many distinct keys they were counted for, all scopes together)."""
    hits = RateLimitHit.objects.filter(scope__in=scopes, created_at__gt=timezone.now() - window)
    counts = dict(hits.values_list("scope").annotate(events=Count("pk")).order_by())
    return {scope: counts.get(scope, 0) for scope in scopes}, hits.values("key").distinct().count()


def is_limited(scope, key, limit, window):
    """Whether `key` already has `limit` hits in `scope` within the last `window` (a timedelta)."""
    return _hits(scope, key, window).count() >= limit


def retry_after(scope, key, limit, window):
    """Seconds until `is_limited()` turns False for these arguments; 0 if it is False now."""
    times = list(_hits(scope, key, window).order_by("-created_at").values_list("created_at", flat=True)[:limit])
    if len(times) < limit:
        return 0
    # Below the limit again once the limit-th newest hit leaves the window.
    return max(1, math.ceil((times[-1] + window - timezone.now()).total_seconds()))


def _hits(scope, key, window):
    if window > KEEP:
        raise ValueError(f"Rate-limit windows can be at most {KEEP}: older hits are deleted.")
    return RateLimitHit.objects.filter(scope=scope, key=_digest(key), created_at__gt=timezone.now() - window)


def _digest(key):
    return salted_hmac("accounts.throttling", str(key), algorithm="sha256").hexdigest()
