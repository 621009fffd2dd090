import uuid

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone

from galleries.models import Gallery


class ShareLinkQuerySet(models.QuerySet):
    def active(self):
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))

    def expired(self):
        return self.filter(expires_at__lte=timezone.now())

    def owned_by(self, user):
        return self.filter(gallery__owner=user)


class ShareLink(models.Model):
    """A public link to one gallery. Its UUID is the link; counters change only through F()."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery = models.ForeignKey(Gallery, on_delete=models.DB_CASCADE, related_name="share_links")
    expires_at = models.DateTimeField(null=True, blank=True)
    views = models.IntegerField(default=0, db_default=0)
    zip_downloads = models.IntegerField(default=0, db_default=0)
    single_downloads = models.IntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        db_table = "share_links"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.gallery} ({self.pk})"

    def get_absolute_url(self):
        return reverse("sharing:public_gallery", args=[self.pk])

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

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
