"""Share-link statistics: what counts as a view or a download, and the days' series.

`count()` is the one counting path: every public view that counts calls it, and it calls
ShareLink.increment(), which updates the link's counters and today's LinkDay row together.

Unique visitors are counted without storing who they are: a visitor is an HMAC of the link, the
client's address and its User-Agent, under a key derived from SECRET_KEY and the date. The same
browser on the same day gives the same digest; tomorrow's key is another, so digests cannot be
linked across days, and nothing in the table turns back into an address.
"""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, Max
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.throttling import client_address
from galleries.models import Gallery
from sharing import extensions
from sharing.access import Visitor as Visitor  # other apps name their visitors as stats.Visitor
from sharing.access import registered_visitor, set_link_cookie, visitor_cookie_value, visitor_in_cookie
from sharing.models import LINK_COUNTERS, DownloadHash, LinkActivity, LinkDay, ShareLink, VisitorHash

VISITOR_COOKIE = "viewport_visitor"
VISITOR_SALT = "sharing.visitor"
VISITOR_MAX_AGE = 180 * 24 * 60 * 60
CHART_DAYS = 30
# The columns of the statistics (the link's page, its CSV, the digest), in order: the link's
# own, then other apps' (sharing.extensions).
COLUMNS = {
    "views": "Views",
    "unique_visitors": "Unique visitors",
    "zip_downloads": "ZIP downloads",
    "single_downloads": "Single downloads",
}


def columns():
    return COLUMNS | extensions.day_columns()


def count(request, link, counter, photo=None, version=None):
    """Count one `views`, `zip_downloads`, `single_downloads` (or another app's counter) of
    `link` for this request. Only a GET counts a view or a download (a HEAD fetches nothing:
    link checkers, previews of a pasted link). The photographer's own visits while logged in
    count nowhere (neither the link's counters nor its days), so the counters stay the sums of
    the days. A download of a `version` (an archive's ETag, a photo's id) counts once per
    visitor and day, as unique visitors do: fetched again, or range by range, it counts once."""
    if (counter in LINK_COUNTERS and request.method != "GET") or is_owner(request, link):
        return
    if version is not None:
        digest = download_digest(request, link, counter, version)
        if not DownloadHash.objects.add(link, timezone.localdate(), digest):
            return
    digest = visitor_digest(request, link) if counter == "views" else None
    link.increment(counter, visitor_digest=digest, visitor=identified_visitor(request, link), photo=photo)


def is_owner(request, link):
    user = request.user
    if not user.is_authenticated:
        return False
    if ShareLink.gallery.is_cached(link):
        return link.gallery.owner_id == user.pk
    return Gallery.objects.filter(pk=link.gallery_id, owner_id=user.pk).exists()


def visitor_digest(request, link, day=None):
    """The keyed hash that counts this visitor once per link and day (see the module's doc)."""
    day = day or timezone.localdate()
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:500]
    message = f"{link.pk}|{client_address(request)}|{user_agent}"
    return salted_hmac(f"sharing.visitor.{day.isoformat()}", message, algorithm="sha256").hexdigest()


def download_digest(request, link, counter, version):
    """The keyed hash that counts this visitor's download of `version` once per link and day."""
    key = f"sharing.download.{counter}.{version}"
    return salted_hmac(key, visitor_digest(request, link), algorithm="sha256").hexdigest()


def identified_visitor(request, link):
    """The Visitor this request comes from, if they said who they are on this link: registered
    (a link that asks for an address), or through another app (remember_visitor()); else None."""
    registered = registered_visitor(request, link)
    if registered:
        return registered
    value = request.get_signed_cookie(VISITOR_COOKIE, default="", salt=VISITOR_SALT, max_age=VISITOR_MAX_AGE)
    return visitor_in_cookie(value, link)


def remember_visitor(response, link, visitor):
    """Name this browser's visits to `link` from now on."""
    set_link_cookie(response, link, VISITOR_COOKIE, visitor_cookie_value(link, visitor), VISITOR_SALT, VISITOR_MAX_AGE)


# Series


def days_of(link, last=None, days=None):
    """The link's LinkDay rows from its first day (or the last `days` days) to `last` (today),
    one per day, days without a row filled with zeros, with other apps' counters."""
    last = last or timezone.localdate()
    first = last - timedelta(days=days - 1) if days else timezone.localdate(link.created_at)
    first = min(first, last)
    rows = {row.day: row for row in link.days.for_days(first, last)}
    return with_other_counters(
        [
            rows.get(first + timedelta(n)) or LinkDay(link=link, day=first + timedelta(n))
            for n in range((last - first).days + 1)
        ]
    )


def with_other_counters(rows):
    """LinkDay `rows` (of any links and days), each with the counters of other apps
    (sharing.extensions) as attributes, zero where they counted nothing."""
    if not rows:
        return rows
    link_ids = {row.link_id for row in rows}
    first, last = min(row.day for row in rows), max(row.day for row in rows)
    for extension in extensions.EXTENSIONS:
        counts = extension.day_counts(link_ids, first, last)
        for row in rows:
            for name in extension.day_columns:
                setattr(row, name, counts.get((row.link_id, row.day), {}).get(name, 0))
    return rows


def sparklines(links, days=CHART_DAYS):
    """{link id: [views per day, oldest first]} of the last `days` days, for many links in one query."""
    last = timezone.localdate()
    first = last - timedelta(days=days - 1)
    series = {link.pk: [0] * days for link in links}
    rows = LinkDay.objects.filter(link__in=list(series), day__gte=first).values_list("link_id", "day", "views")
    for link_id, day, views in rows:
        series[link_id][(day - first).days] = views
    return series


def with_sparklines(links):
    """The links as a list, each with `sparkline` (views of the last CHART_DAYS days)."""
    links = list(links)
    series = sparklines(links)
    for link in links:
        link.sparkline = series[link.pk]
    return links


def identified_activity(link, limit=200):
    """The latest views and downloads of visitors who said who they are, newest first."""
    return link.activities.select_related("photo")[:limit]


def visitor_columns():
    """What is counted for each registered visitor: the link's counters, then other apps'."""
    return [*LINK_COUNTERS, *extensions.day_columns()]


def visitors(link):
    """The link's registered visitors (sharing.models.LinkVisitor), newest first, each with
    `last_seen`, `counts` ({column: n} of visitor_columns(), from the activity log) and
    `downloaded` (the names of the photos they downloaded one by one). Three queries."""
    people = list(link.visitors.all())
    ids = [str(person.pk) for person in people]
    events = LinkActivity.objects.filter(link=link, visitor_id__in=ids)
    counts, last_seen, downloaded = defaultdict(dict), {}, defaultdict(set)
    for visitor_id, event, number, last in (
        events.values_list("visitor_id", "event").annotate(number=Count("pk"), last=Max("at")).order_by()
    ):
        counts[visitor_id][event] = number
        last_seen[visitor_id] = max(last, last_seen.get(visitor_id, last))
    single = events.filter(event="single_downloads", photo__isnull=False)
    for visitor_id, name in single.values_list("visitor_id", "photo__original_filename").distinct():
        downloaded[visitor_id].add(name)
    for person in people:
        key = str(person.pk)
        person.counts = {name: counts[key].get(name, 0) for name in visitor_columns()}
        person.last_seen = last_seen.get(key, person.first_seen)
        person.downloaded = sorted(downloaded[key])
    return people


def totals(days):
    return {name: sum(getattr(day, name) for day in days) for name in columns()}


def prune_visitor_hashes(keep_days):
    """Delete the keyed hashes (visitors', downloads') of days older than `keep_days` (today
    counts as one); counts stay."""
    first_kept = timezone.localdate() - timedelta(days=keep_days - 1)
    DownloadHash.objects.filter(day__lt=first_kept).delete()
    return VisitorHash.objects.filter(day__lt=first_kept).delete()[0]
