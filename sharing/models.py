import hashlib
import threading
import uuid
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.validators import MaxValueValidator
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, get_random_string, salted_hmac

from accounts import throttling
from galleries.copies import Delivery, Kind
from galleries.models import Gallery, Photo
from sharing import extensions

# A link's password and download PIN are stored as a keyed hash, fast on purpose: the rate limits
# on wrong tries are what stop guessing (docs/SECURITY.md), and a slow hash per try was itself a
# way to keep the server busy. Links made before kept an Argon2 hash: checked one at a time per
# process, and made anew at the next right entry.
LINK_SECRET_ALGORITHM = "hmac-sha256"
LEGACY_SECRET_CHECKS = threading.Semaphore(1)


def hash_link_secret(secret):
    salt = get_random_string(16)
    return f"{LINK_SECRET_ALGORITHM}${salt}${_link_secret_digest(secret, salt, settings.SECRET_KEY)}"


def check_link_secret(secret, stored):
    """(whether `secret` matches the `stored` hash, whether that hash should be made anew: an
    Argon2 one of before, or one under a retired SECRET_KEY)."""
    algorithm, _, rest = stored.partition("$")
    if algorithm != LINK_SECRET_ALGORITHM:
        with LEGACY_SECRET_CHECKS:
            return check_password(secret, stored), True
    salt, _, digest = rest.partition("$")
    for n, key in enumerate([settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]):
        if constant_time_compare(digest, _link_secret_digest(secret, salt, key)):
            return True, n > 0
    return False, False


def _link_secret_digest(secret, salt, key):
    return salted_hmac("sharing.link-secret", f"{salt}${secret}", secret=key, algorithm="sha256").hexdigest()


# What a wrong password or download PIN on a link is counted as, for the photographer's warning
# (ShareLink.guessing()): its action in RATE_LIMITS, and what the warning calls it.
GUESSES = {"link-password": "password", "download-pin": "download PIN"}
GUESSING_WINDOW = timedelta(hours=1)


class Guessing(NamedTuple):
    """Wrong secrets typed on one link within GUESSING_WINDOW: `wrong` ({action: tries}) and
    from how many client networks (an IPv4 address, an IPv6 /56) in all."""

    wrong: dict
    networks: int

    @property
    def tries(self):
        return sum(self.wrong.values())

    @property
    def is_attack(self):
        """The one rule of when the photographer is warned: VIEWPORT_GUESSING_ALERT wrong tries
        within the hour, whoever made them. Guessers are held back either way (the
        limits of RATE_LIMITS["link-password"] and ["download-pin"])."""
        return self.tries >= settings.VIEWPORT_GUESSING_ALERT

    def __str__(self):
        kinds = " and ".join(
            f"{count} wrong {GUESSES[action]}{'s' if count != 1 else ''}"
            for action, count in self.wrong.items()
            if count
        )
        return f"{kinds} in the last hour from {self.networks} network{'s' if self.networks != 1 else ''}"

    @property
    def warning(self):
        """What the photographer reads on the link's page and in the e-mail."""
        secrets = " and the ".join(GUESSES[action] for action, count in self.wrong.items() if count)
        return (
            f"{self}. Guessers are slowed down and must solve a challenge for each try; "
            f"change the {secrets} if you did not expect this."
        )


def mark_being_guessed(links):
    """`links` as a list, each with `being_guessed` (Guessing.is_attack now): for the lists of
    links, in two queries however many there are."""
    links = list(links)
    scopes = {link._guess_scope(action): (link.pk, action) for link in links for action in GUESSES}
    counts, _ = throttling.tally(list(scopes), GUESSING_WINDOW) if scopes else ({}, 0)
    wrong = {link.pk: {} for link in links}
    for scope, count in counts.items():
        link_id, action = scopes[scope]
        wrong[link_id][action] = count
    for link in links:
        link.being_guessed = Guessing(wrong[link.pk], networks=0).is_attack
    return links


# The longest expiry reminder a link may ask for, in days.
MAX_REMIND_DAYS = 30
# The one statement of when a link has not expired; is_expired below says the same of one row.
UNEXPIRED = Q(expires_at__isnull=True) | Q(expires_at__gt=Now())


class ShareLinkQuerySet(models.QuerySet):
    def active(self):
        """Links that open their gallery now: not paused, not expired."""
        return self.filter(UNEXPIRED, is_active=True)

    def expired(self):
        return self.exclude(UNEXPIRED)

    def paused(self):
        return self.filter(UNEXPIRED, is_active=False)

    def with_status(self, status):
        return {"active": self.active, "paused": self.paused, "expired": self.expired}.get(status, self.all)()

    def owned_by(self, user):
        return self.filter(gallery__owner=user)

    def with_extensions(self):
        """With the rows other apps keep for each link (sharing.extensions), in the same query."""
        related = extensions.related()
        return self.select_related(*related) if related else self


class ShareLink(models.Model):
    """A public link to one gallery. Its UUID is the link; counters change only through F()."""

    DownloadSize = Kind  # what downloads hand out: galleries/copies.py

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery = models.ForeignKey(Gallery, on_delete=models.DB_CASCADE, related_name="share_links")
    expires_at = models.DateTimeField(null=True, blank=True)
    views = models.IntegerField(default=0, db_default=0)
    zip_downloads = models.IntegerField(default=0, db_default=0)
    single_downloads = models.IntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    label = models.CharField(max_length=100, blank=True, default="", db_default="")
    password_hash = models.CharField(max_length=255, blank=True, default="", db_default="", editable=False)
    is_active = models.BooleanField("active", default=True, db_default=True)
    allow_zip = models.BooleanField("allow ZIP downloads", default=True, db_default=True)
    allow_single = models.BooleanField("allow single downloads", default=True, db_default=True)
    download_size = models.CharField(
        max_length=10, choices=DownloadSize.choices, default=DownloadSize.ORIGINAL, db_default=DownloadSize.ORIGINAL
    )
    watermark = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Burn the photographer's watermark into every thumbnail, preview and web-size or JPEG "
        "download served through this link (galleries/watermarks.py); originals are delivered clean.",
    )
    strip_location = models.BooleanField(
        "remove location from downloads",
        default=True,
        db_default=True,
        help_text="Downloads leave out where the photo was taken (GPS), the camera owner's name and the camera "
        "and lens serial numbers; everything else stays byte for byte. Your own downloads keep them.",
    )
    download_pin_hash = models.CharField(max_length=255, blank=True, default="", db_default="", editable=False)
    require_email = models.BooleanField("ask visitors for their e-mail address", default=False, db_default=False)
    remind_days = models.PositiveSmallIntegerField(
        "expiry reminder",
        default=0,
        db_default=0,
        validators=[MaxValueValidator(MAX_REMIND_DAYS)],
        help_text="Days before the link expires to remind the people it was sent to (0: no reminder).",
    )
    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        db_table = "share_links"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.label or self.gallery} ({self.pk})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self._prepared_for = self._preparation()

    def get_absolute_url(self):
        return reverse("sharing:public_gallery", args=[self.pk])

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def status(self):
        """`expired`, `paused` or `active`: what a client of the link meets (a password or not)."""
        if self.is_expired:
            return "expired"
        return "active" if self.is_active else "paused"

    @property
    def has_password(self):
        return bool(self.password_hash)

    def set_password(self, password):
        """Keep a keyed hash of `password` (hash_link_secret()); None or empty removes it."""
        self.password_hash = hash_link_secret(password) if password else ""

    def check_password(self, password):
        return self.has_password and self._check_secret("password_hash", password)

    def _check_secret(self, field, secret):
        """Whether `secret` matches the hash in `field`; a right one to a hash of before is hashed anew."""
        stored = getattr(self, field)
        matches, outdated = check_link_secret(secret, stored)
        if matches and outdated:
            setattr(self, field, hash_link_secret(secret))
            ShareLink.objects.filter(pk=self.pk, **{field: stored}).update(**{field: getattr(self, field)})
        return matches

    @property
    def unlock_token(self):
        """What an unlock cookie of this link carries. It changes whenever the password does
        (even to the same password: a new salt), which ends every earlier unlock."""
        return salted_hmac("sharing.unlock", f"{self.pk}:{self.password_hash}", algorithm="sha256").hexdigest()

    @property
    def has_download_pin(self):
        return bool(self.download_pin_hash)

    def set_download_pin(self, pin):
        """Hash like a password; None or empty removes the PIN."""
        self.download_pin_hash = hash_link_secret(pin) if pin else ""

    def check_download_pin(self, pin):
        return self.has_download_pin and self._check_secret("download_pin_hash", pin)

    @property
    def download_pin_token(self):
        """What a browser that typed the download PIN keeps: it changes with the PIN."""
        return salted_hmac(
            "sharing.download-pin", f"{self.pk}:{self.download_pin_hash}", algorithm="sha256"
        ).hexdigest()

    def note_wrong_guess(self, action, network):
        """Count a wrong password or PIN (`action`, a key of GUESSES) typed from `network`. True
        when it is time to e-mail the photographer: the link is under attack (Guessing.is_attack),
        and they were not told of this link, with its secrets as they are now, within a day (a
        changed password or PIN that is guessed in turn is news)."""
        throttling.record(self._guess_scope(action), network)
        if not self.guessing().is_attack:
            return False
        try:
            throttling.consume("guessing-alert", link=self.guessing_alert_key)
        except throttling.RateLimited:
            return False
        return True

    @property
    def guessing_alert_key(self):
        """The link with its secrets as they are now: what one guessing alert is about."""
        secrets = f"{self.password_hash}:{self.download_pin_hash}"
        return f"{self.pk}:{hashlib.sha256(secrets.encode()).hexdigest()[:16]}"

    def guessing(self):
        """The wrong passwords and PINs typed on this link in the last hour (Guessing)."""
        counts, networks = throttling.tally([self._guess_scope(action) for action in GUESSES], GUESSING_WINDOW)
        return Guessing({action: counts[self._guess_scope(action)] for action in GUESSES}, networks)

    def _guess_scope(self, action):
        return f"{action}@{self.pk.hex}"

    # What the task worker prepares copies for (sharing/signals.py): a save that changes none of
    # these queues no work, however often a link is saved.
    PREPARED_FOR = ("watermark", "download_size", "is_active")

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        link = super().from_db(db, field_names, values, **kwargs)
        link._prepared_for = link._preparation()
        return link

    def _preparation(self):
        return tuple(self.__dict__.get(name) for name in self.PREPARED_FOR)

    @property
    def needs_preparing(self):
        """Whether the save under way (post_save) is the link's first, or changed what its copies are."""
        return getattr(self, "_prepared_for", None) != self._preparation()

    @property
    def serves_web_size(self):
        return self.download_size == self.DownloadSize.WEB

    @property
    def delivery(self):
        """What this link's downloads hand out (galleries/copies.py), watermarked or not."""
        watermark = self.gallery.owner.watermark_version if self.watermark else ""
        return Delivery(self.download_size, strip=self.strip_location, watermark=watermark)

    def still_allows_zip(self):
        """Whether the link still opens, and allows ZIPs, as when a download began: a ZIP in
        progress asks, so that revoking, pausing, expiring or a new password also stop it."""
        return ShareLink.objects.active().filter(pk=self.pk, password_hash=self.password_hash, allow_zip=True).exists()

    def cache_seconds(self, longest=3600):
        """How long a browser may keep what this link shows: never past the link's expiry."""
        if self.expires_at is None:
            return longest
        return max(0, min(longest, int((self.expires_at - timezone.now()).total_seconds())))

    @property
    def total_downloads(self):
        return self.zip_downloads + self.single_downloads

    def increment(self, counter, visitor_digest=None, visitor=None, photo=None):
        """Count one `views`, `zip_downloads` or `single_downloads` (or a counter of another app's,
        sharing.extensions, which it counts by the day on its own): the link's counter (one
        atomic UPDATE) and today's row of its statistics, in one transaction, so the counters
        always equal the sums of the days. `visitor_digest` (a keyed hash, see sharing.stats)
        counts a unique visitor once a day; an identified `visitor` (a sharing.stats.Visitor)
        is written to the activity log with the `photo` downloaded."""
        if counter not in DAY_COUNTERS and counter not in extensions.day_columns():
            raise ValueError(f"Unknown counter {counter!r}")
        with transaction.atomic(savepoint=False):
            # The link's row is locked first, by every counting path that has a counter there:
            # concurrent counts of one link queue here rather than deadlock on the rows below.
            # (Other apps' counters are counted by the day only.)
            if counter in LINK_COUNTERS:
                ShareLink.objects.filter(pk=self.pk).update(**{counter: F(counter) + 1})
            day = timezone.localdate()
            is_new_visitor = visitor_digest is not None and VisitorHash.objects.add(self, day, visitor_digest)
            # Every day with anything to count has its row, zeros and all: the daily digest reads them.
            LinkDay.objects.add(self, day, counter if counter in DAY_COUNTERS else None, int(is_new_visitor))
            extensions.add_to_day(self, day, counter)
            if visitor is not None:
                LinkActivity.objects.create(
                    link=self, event=counter, visitor_id=visitor.id, visitor_label=visitor.label, photo=photo
                )

    def reminder_recipients(self):
        """The addresses that get this link's expiry reminder: everyone it was sent to, and whom
        other apps name (sharing.extensions: visitors who left their address)."""
        addresses = set(self.invitations.values_list("email", flat=True))
        for extension in extensions.EXTENSIONS:
            addresses |= extension.reminder_recipients(self)
        return sorted(addresses)

    def reminder_due(self, now=None):
        """Whether the reminder should go out now: the link opens and expires within remind_days."""
        now = now or timezone.now()
        return bool(
            self.remind_days
            and self.expires_at
            and self.is_active
            and now < self.expires_at <= now + timedelta(days=self.remind_days)
        )


class LinkDefaults(models.Model):
    """What a photographer's new share links start with, where the link's form or JSON leaves a
    setting out: `values` holds one value per name of LINK_DEFAULTS (sharing.forms), the
    link's settings and other apps' (favourites), so a new setting gets a default by being
    named there. Until the photographer saves theirs, FIRST holds."""

    # What most photographers choose: a month, downloads on, favourites on without a limit, and
    # a reminder three days before the end.
    FIRST = {
        "expiry_days": 30,
        "allow_zip": True,
        "allow_single": True,
        "download_size": "original",
        "watermark": False,
        "favourites": True,
        "favourites_limit": None,
        "remind_days": 3,
    }

    photographer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, primary_key=True, related_name="+"
    )
    values = models.JSONField(default=dict)

    class Meta:
        db_table = "share_link_defaults"

    def __str__(self):
        return f"Defaults for new links of {self.photographer_id}"

    @classmethod
    def of(cls, photographer):
        """The photographer's defaults: FIRST with what they saved over it."""
        saved = cls.objects.filter(photographer=photographer).values_list("values", flat=True).first() or {}
        return {**cls.FIRST, **saved}


class ZipStreamQuerySet(models.QuerySet):
    def live(self):
        return self.filter(seen_at__gt=timezone.now() - ZipStream.STALE)

    def start(self, network, wide_network, limit, wide_limit):
        """A new stream from `network` (in `wide_network`), or None when either would have more
        than its limit of live ones. Recorded first and counted after, so that parallel requests
        cannot all slip under the limit (they may all be refused instead; they try again later)."""
        self.filter(seen_at__lte=timezone.now() - ZipStream.STALE).delete()  # a few rows at most
        stream = self.create(network=network, wide_network=wide_network)
        live = self.live()
        if live.filter(network=network).count() > limit or live.filter(wide_network=wide_network).count() > wide_limit:
            stream.end()
            return None
        return stream


class ZipStream(models.Model):
    """A ZIP download streaming now, and the client network it streams to (sharing.zips limits
    how many one network holds). Deleted when the stream ends; a row whose server died stops
    counting once it has not been seen for STALE."""

    STALE = timedelta(minutes=3)

    network = models.CharField(max_length=64)
    wide_network = models.CharField(max_length=64, default="", help_text="Its /24 or /48 (client_network(wide=True)).")
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    objects = ZipStreamQuerySet.as_manager()

    class Meta:
        db_table = "share_link_zip_streams"
        indexes = [
            models.Index(fields=["network", "seen_at"], name="share_link_zip_streams_live"),
            models.Index(fields=["wide_network", "seen_at"], name="share_link_zip_streams_wide"),
        ]

    def __str__(self):
        return f"{self.network} since {self.started_at:%H:%M:%S}"

    def touch(self):
        ZipStream.objects.filter(pk=self.pk).update(seen_at=timezone.now())

    def end(self):
        ZipStream.objects.filter(pk=self.pk).delete()


class Invitation(models.Model):
    """The share link e-mailed to one person (POST /share-links/<id>/send/): who it was sent to."""

    link = models.ForeignKey(ShareLink, on_delete=models.DB_CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    message = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "share_link_invitations"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.link} to {self.email}"


class LinkVisitor(models.Model):
    """Someone who gave their e-mail address (and perhaps a name) to open a link that asks for it
    (`require_email`): what they did there is in the activity log under their id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    link = models.ForeignKey(ShareLink, on_delete=models.DB_CASCADE, related_name="visitors")
    email = models.EmailField(max_length=254, help_text="As typed, normalised; nobody confirmed it.")
    name = models.CharField(max_length=100, blank=True, default="", db_default="")
    first_seen = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "share_link_visitors"
        ordering = ["-first_seen"]
        constraints = [models.UniqueConstraint(fields=["link", "email"], name="share_link_visitors_one_per_address")]

    def __str__(self):
        return self.label

    @property
    def label(self):
        """How the visitor is shown to the photographer."""
        return f"{self.name} ({self.email})" if self.name else self.email


# Statistics. One row per link and day; the counters on ShareLink are their sums.
LINK_COUNTERS = ("views", "zip_downloads", "single_downloads")
DAY_COUNTERS = ("views", "unique_visitors", "zip_downloads", "single_downloads")


class DayCountsQuerySet(models.QuerySet):
    """Rows of counters per share link and day (a model with `link`, `day`, unique together, and
    integer counters): the link's statistics, and other apps' counters of their own."""

    def add_counts(self, link, day, **counts):
        """Add `counts` ({counter: n}) to the link's row for `day`, creating it: one INSERT ... ON
        CONFLICT DO UPDATE, exact under concurrency on SQLite and PostgreSQL."""
        link_id = ShareLink._meta.pk.get_db_prep_value(link.pk, connection)
        table = self.model._meta.db_table
        columns = "".join(f", {name}" for name in counts)
        updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in counts)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (link_id, day{columns}) VALUES (%s, %s{', %s' * len(counts)}) "
                f"ON CONFLICT (link_id, day) DO UPDATE SET {updates}",
                [link_id, day, *counts.values()],
            )

    def for_days(self, first, last):
        return self.filter(day__gte=first, day__lte=last)


class LinkDayQuerySet(DayCountsQuerySet):
    def add(self, link, day, counter, unique_visitors=0):
        """Add one to `counter` (None: none) and `unique_visitors` to the link's row for `day`."""
        if counter is not None and counter not in DAY_COUNTERS:
            raise ValueError(f"Unknown counter {counter!r}")
        counts = {name: 0 for name in DAY_COUNTERS} | ({counter: 1} if counter else {})
        counts["unique_visitors"] += unique_visitors
        self.add_counts(link, day, **counts)


class LinkDay(models.Model):
    """What one share link saw on one day (in the site's time zone)."""

    link = models.ForeignKey(ShareLink, on_delete=models.DB_CASCADE, related_name="days")
    day = models.DateField()
    views = models.IntegerField(default=0, db_default=0)
    unique_visitors = models.IntegerField(default=0, db_default=0)
    zip_downloads = models.IntegerField(default=0, db_default=0)
    single_downloads = models.IntegerField(default=0, db_default=0)

    objects = LinkDayQuerySet.as_manager()

    class Meta:
        db_table = "share_link_days"
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["link", "day"], name="share_link_days_link_day")]

    def __str__(self):
        return f"{self.link_id} on {self.day}"


class DayHashQuerySet(models.QuerySet):
    def add(self, link, day, digest):
        """Remember a keyed hash for the link and day; True if it was new."""
        link_id = ShareLink._meta.pk.get_db_prep_value(link.pk, connection)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.model._meta.db_table} (link_id, day, digest) VALUES (%s, %s, %s) "
                "ON CONFLICT (link_id, day, digest) DO NOTHING",
                [link_id, day, digest],
            )
            return cursor.rowcount == 1


class DayHash(models.Model):
    """A keyed hash remembered for a link and a day, to count something once a day (the hash's
    key changes every day: sharing.stats). Deleted after a few days; the counts stay."""

    link = models.ForeignKey(ShareLink, on_delete=models.DB_CASCADE, related_name="+")
    day = models.DateField(db_index=True)
    digest = models.CharField(max_length=64)

    objects = DayHashQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.link_id} on {self.day}"


class VisitorHash(DayHash):
    """A visitor of a link on a day, as a keyed hash of address and browser
    (sharing.stats.visitor_digest): it counts unique visitors, and neither says who they are nor
    links one day's visitors to another's."""

    class Meta:
        db_table = "share_link_visitor_hashes"
        constraints = [
            models.UniqueConstraint(fields=["link", "day", "digest"], name="share_link_visitor_hashes_unique")
        ]


class DownloadHash(DayHash):
    """A download counted on a day, as a keyed hash of the visitor (as VisitorHash), the counter
    and the version of what was downloaded (sharing.stats.download_digest): one visitor's
    download of one archive or photo counts once a day, however it is split into ranges."""

    class Meta:
        db_table = "share_link_download_hashes"
        constraints = [
            models.UniqueConstraint(fields=["link", "day", "digest"], name="share_link_download_hashes_unique")
        ]


# How each event reads in the activity log; other apps' events are theirs (sharing.extensions).
ACTIVITY = {
    "views": "Viewed the gallery",
    "zip_downloads": "Downloaded all (ZIP)",
    "single_downloads": "Downloaded {photo}",
}


class LinkActivity(models.Model):
    """A view, a download or another app's event (sharing.extensions) by a visitor who said who
    they are (`visitor_id` names them on the link), for "who viewed what, when"."""

    link = models.ForeignKey(ShareLink, on_delete=models.DB_CASCADE, related_name="activities")
    at = models.DateTimeField(default=timezone.now, db_default=Now())
    event = models.CharField(max_length=20)
    visitor_id = models.CharField(max_length=64)
    visitor_label = models.CharField(max_length=255, blank=True, default="", db_default="")
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.DB_SET_NULL, related_name="+")

    class Meta:
        db_table = "share_link_activities"
        ordering = ["-at"]
        indexes = [models.Index(fields=["link", "-at"], name="share_link_activities_link_at")]

    def __str__(self):
        return f"{self.visitor_label or self.visitor_id}: {self.event} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def description(self):
        text = (ACTIVITY | extensions.activity()).get(self.event, self.event)
        return text.format(photo=self.photo or "a photo")
