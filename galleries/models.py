import re
import unicodedata
import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, Now
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from galleries.images import THUMBNAIL_SIZE, ImageRejected, fit_within, make_renditions


def clean_filename(name):
    """The uploaded file's own name, without folders, control characters or characters that
    break headers and file systems, and at most 150 characters (keeping the extension)."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '<>:"|?*')
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix[:10]
    return (stem[: 150 - len(suffix)].strip() or "photo") + suffix


def natural_sort_key(filename):
    """'IMG_2.jpg' sorts before 'IMG_10.jpg': digit runs are zero-padded, letters case-folded."""
    return re.sub(r"\d+", lambda m: m.group().rjust(20, "0"), filename.casefold())[:500]


class GalleryQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def with_photo_stats(self):
        return self.annotate(
            photo_count=Count("photos"),
            total_size=Coalesce(Sum("photos__file_size"), 0),
        )

    def with_cover_id(self):
        """Annotate `cover_id`: the cover photo, else the first photo in display order."""
        first_photo = Photo.objects.filter(gallery=models.OuterRef("pk")).in_display_order().values("pk")[:1]
        return self.annotate(cover_id=Coalesce("cover_photo_id", models.Subquery(first_photo)))


class Gallery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="galleries")
    name = models.CharField(default="", db_default="")
    cover_photo = models.ForeignKey(
        "Photo", null=True, blank=True, on_delete=models.DB_SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    objects = GalleryQuerySet.as_manager()

    class Meta:
        db_table = "galleries"
        verbose_name_plural = "galleries"
        ordering = ["-created_at"]

    def __str__(self):
        return self.name or "Untitled gallery"

    def get_absolute_url(self):
        return reverse("galleries:gallery_detail", args=[self.pk])

    def cover_or_first_photo(self):
        if self.cover_photo_id:
            return self.cover_photo
        return self.photos.in_display_order().first()

    def add_photo(self, upload):
        """Store one uploaded photo: original byte for byte, thumbnail and preview, then the row.

        Raises ImageRejected with a message for the photographer, or a storage error. Either way
        nothing of the file is left behind: no row without its objects, no object without a row.
        """
        if upload.size == 0:
            raise ImageRejected("This file is empty.")
        if upload.size > settings.VIEWPORT_MAX_UPLOAD_SIZE:
            raise ImageRejected(
                f"This file is {filesizeformat(upload.size)}; the limit is "
                f"{filesizeformat(settings.VIEWPORT_MAX_UPLOAD_SIZE)} per photo."
            )
        renditions = make_renditions(upload, settings.VIEWPORT_MAX_IMAGE_PIXELS)
        filename = clean_filename(upload.name)
        photo = Photo(
            gallery=self,
            original_filename=filename,
            content_type=renditions.content_type,
            file_size=upload.size,
            width=renditions.width,
            height=renditions.height,
        )
        photo.thumbnail_object_key = f"{self.pk}/thumbnails/{photo.pk}.jpg"
        photo.preview_object_key = f"{self.pk}/thumbnails/{photo.pk}-preview.jpg"
        upload.content_type = renditions.content_type  # stored with the object, whatever the browser said
        written, writing = [], None
        try:
            for attempt in range(5):
                # The unique object_key reserves the name, so two IMG_0001.jpg never share an object.
                photo.object_key = f"{self.pk}/{filename}" if attempt == 0 else f"{self.pk}/{_with_token(filename)}"
                try:
                    with transaction.atomic():
                        photo.save(force_insert=True)
                        for key, content in [
                            (photo.thumbnail_object_key, ContentFile(renditions.thumbnail)),
                            (photo.preview_object_key, ContentFile(renditions.preview)),
                            (photo.object_key, upload),
                        ]:
                            writing = key
                            written.append(default_storage.save(key, content))
                            writing = None
                            if written[-1] != key:
                                raise RuntimeError(f"storage renamed {key} to {written[-1]}")
                    break
                except IntegrityError:
                    if written or attempt == 4:
                        raise
        except BaseException as error:
            if written:
                from galleries.tasks import delete_storage_objects

                delete_storage_objects.call(written)
            if writing:
                # A write that failed or timed out may still land (a hung S3 catches up later):
                # delete it once storage answers again, rather than wait for it now.
                PendingDeletion.objects.remember({writing: str(error) or type(error).__name__})
            raise
        Gallery.objects.filter(pk=self.pk).update(updated_at=timezone.now())
        return photo


def _with_token(filename):
    path = PurePosixPath(filename)
    return f"{path.stem}-{uuid.uuid4().hex[:8]}{path.suffix}"


class PhotoQuerySet(models.QuerySet):
    def in_display_order(self):
        return self.order_by("sort_key", "uploaded_at", "id")

    def stats(self):
        """{"photo_count": …, "total_size": …} in one query."""
        return self.aggregate(photo_count=Count("pk"), total_size=Coalesce(Sum("file_size"), 0))

    def object_keys(self):
        """Every storage key these photos own: originals, thumbnails and previews."""
        keys = []
        for row in self.values_list("object_key", "thumbnail_object_key", "preview_object_key"):
            keys.extend(key for key in row if key)
        return keys


class Photo(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery = models.ForeignKey(Gallery, on_delete=models.DB_CASCADE, related_name="photos")
    object_key = models.CharField(unique=True)
    thumbnail_object_key = models.CharField()
    preview_object_key = models.CharField(default="", db_default="")
    original_filename = models.CharField(max_length=255, default="", db_default="")
    sort_key = models.CharField(max_length=500, default="", db_default="")
    content_type = models.CharField(max_length=50, default="image/jpeg", db_default="image/jpeg")
    file_size = models.IntegerField()
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now, db_default=Now())

    objects = PhotoQuerySet.as_manager()

    class Meta:
        db_table = "photos"
        indexes = [models.Index(fields=["gallery", "sort_key", "uploaded_at"], name="photos_display_order_idx")]

    def __str__(self):
        return self.original_filename or self.object_key

    def save(self, *args, **kwargs):
        self.sort_key = natural_sort_key(self.original_filename or self.object_key)
        super().save(*args, **kwargs)

    @cached_property
    def thumbnail_size(self):
        """(width, height) of the grid thumbnail, for <img> attributes that reserve its space."""
        return fit_within((self.width or 3, self.height or 2), THUMBNAIL_SIZE)

    @property
    def thumbnail_width(self):
        return self.thumbnail_size[0]

    @property
    def thumbnail_height(self):
        return self.thumbnail_size[1]

    @property
    def ratio_step(self):
        """The aspect ratio in steps of 0.05 between 0.25 and 4, for the public grid's `rNN` CSS
        classes that size each tile (the CSP allows no inline styles)."""
        return min(max(round(self.thumbnail_width / self.thumbnail_height * 20), 5), 80)


class PendingDeletionQuerySet(models.QuerySet):
    def remember(self, failures):
        """Record objects that could not be deleted ({key: error}), counting the attempts."""
        now = timezone.now()
        for key, error in failures.items():
            pending, created = self.get_or_create(
                object_key=key, defaults={"last_error": error[:2000], "last_attempt_at": now}
            )
            if not created:
                self.filter(pk=pending.pk).update(
                    attempts=models.F("attempts") + 1, last_error=error[:2000], last_attempt_at=now
                )


class PendingDeletion(models.Model):
    """A storage object whose delete failed; retry_storage_deletes tries again until it is gone."""

    object_key = models.CharField(unique=True)
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(default=timezone.now)

    objects = PendingDeletionQuerySet.as_manager()

    class Meta:
        db_table = "pending_storage_deletions"

    def __str__(self):
        return self.object_key


# Rows go with database cascades (ON DELETE CASCADE), which send no signals for the photos they
# take along, so the keys are collected here from whatever is being deleted: a user, a gallery
# or photos, whether from a view, a QuerySet or the admin. The objects are deleted only once the
# transaction commits, so a rollback never loses a photo's bytes.
@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
@receiver(pre_delete, sender=Gallery)
@receiver(pre_delete, sender=Photo)
def delete_storage_objects_on_commit(sender, instance, **kwargs):
    if sender is Photo:
        keys = [instance.object_key, instance.thumbnail_object_key, instance.preview_object_key]
    elif sender is Gallery:
        keys = instance.photos.object_keys()
    else:
        keys = Photo.objects.filter(gallery__owner=instance).object_keys()
    keys = [key for key in keys if key]
    if keys:
        from galleries.tasks import delete_storage_objects

        transaction.on_commit(lambda: delete_storage_objects.enqueue(keys), robust=True)
