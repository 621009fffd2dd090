import uuid

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from galleries.models import Gallery

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


class ShareLink(models.Model):
    """A public link to one gallery. Its UUID is the link; counters change only through F()."""

    class DownloadSize(models.TextChoices):
        ORIGINAL = "original", "Originals"
        WEB = "web", "Web size (2048 px JPEG)"

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
    # Client favourites (the favourites app): whether clients of this link may choose photos.
    favourites = models.BooleanField("clients may choose favourites", default=False, db_default=False)
    favourites_limit = models.PositiveIntegerField(
        "most favourites per person", null=True, blank=True, help_text="Empty for no limit."
    )
    favourites_title = models.CharField(
        "title of the favourites", max_length=100, default="Favourites", db_default="Favourites"
    )
    favourites_require_email = models.BooleanField("ask for an e-mail address", default=False, db_default=False)
    favourites_comments = models.BooleanField("clients may comment on photos", default=False, db_default=False)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        db_table = "share_links"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.label or self.gallery} ({self.pk})"

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
        """Hash with the site's password hasher (Argon2); None or empty removes the password."""
        self.password_hash = make_password(password) if password else ""

    def check_password(self, password):
        return self.has_password and check_password(password, self.password_hash)

    @property
    def unlock_token(self):
        """What an unlock cookie of this link carries. It changes whenever the password does
        (even to the same password: a new salt), which ends every earlier unlock."""
        return salted_hmac("sharing.unlock", f"{self.pk}:{self.password_hash}", algorithm="sha256").hexdigest()

    @property
    def serves_web_size(self):
        return self.download_size == self.DownloadSize.WEB

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

    def increment(self, counter):
        """Add one to `views`, `zip_downloads` or `single_downloads` in a single atomic UPDATE."""
        ShareLink.objects.filter(pk=self.pk).update(**{counter: F(counter) + 1})
