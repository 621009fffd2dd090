"""Who is asking, and how often.

`client_address()` is the only reader of X-Forwarded-For. django-axes counts login failures with it
(AXES_CLIENT_IP_CALLABLE), with `login_attempt_email()` (AXES_USERNAME_CALLABLE) and with
`LoginFailureHandler` (AXES_HANDLER). `record()`, `is_limited()`, `retry_after()` and
`try_record()` are a small rate limiter for any app, kept in the database (RateLimitHit).
"""

import ipaddress
import math
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
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
    """django-axes' database handler, except that a successful login clears only the failures of
    the account that logged in.

    Axes' own reset also deletes every failure from the same address. Signup is open, so anyone
    could log in to an account of their own after each few guesses at someone else's password
    and never be locked out.
    """

    def reset_user_attempts(self, request, credentials=None):
        count, _ = AccessAttempt.objects.filter(username=get_client_username(request, credentials)).delete()
        return count


# The rate limiter. Keys are stored as keyed hashes, so the table holds no e-mail addresses.


def record(scope, key):
    """Count one event for `key` in `scope`; returns the hit, which a caller may delete to take
    it back. Deletes hits too old to count for anything on the way (one indexed DELETE)."""
    now = timezone.now()
    RateLimitHit.objects.filter(created_at__lt=now - KEEP).delete()
    return RateLimitHit.objects.create(scope=scope, key=_digest(key), created_at=now)


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


def try_record(scope, key, limit, window, count=1):
    """Record `count` more hits (one by default) unless `key` would then pass `limit`; True if
    they were recorded.

    Exact under concurrent requests without a lock: each caller inserts first and counts after,
    and takes its hit back if the count is over the limit. Of the callers that keep theirs, the
    last to insert counts all the others, so at most `limit` are kept. (A burst may be refused
    beyond that, while hits being taken back are still counted: it errs on the safe side.) This
    needs each insert committed before the count: call it outside transaction.atomic().
    """
    hits = [record(scope, key) for _ in range(count)]
    if _hits(scope, key, window).count() > limit:
        RateLimitHit.objects.filter(pk__in=[hit.pk for hit in hits]).delete()
        return False
    return True


def _hits(scope, key, window):
    if window > KEEP:
        raise ValueError(f"Rate-limit windows can be at most {KEEP}: older hits are deleted.")
    return RateLimitHit.objects.filter(scope=scope, key=_digest(key), created_at__gt=timezone.now() - window)


def _digest(key):
    return salted_hmac("accounts.throttling", str(key), algorithm="sha256").hexdigest()
