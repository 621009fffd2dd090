import base64
import re
import uuid
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import models, transaction
from django.db.models import Count, F, FilteredRelation, Max, Q, Sum
from django.db.models.functions import Coalesce, Lower, Now
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from galleries import ordering
from galleries.images import PREVIEW_SIZE, SIZES, THUMBNAIL_SIZE, fit_within
from galleries.ordering import Sort


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
        """Annotate `cover_id`: the cover photo, else the first photo in its gallery's order."""
        first_photo = Photo.objects.filter(gallery=models.OuterRef("pk")).in_display_order().values("pk")[:1]
        return self.annotate(cover_id=Coalesce("cover_photo_id", models.Subquery(first_photo)))

    def with_upload_tiles(self):
        """Annotate `has_upload_tiles`: whether any file uploaded to it is not a photo yet and
        has a tile of its own (Upload.objects.shown_in_grid()), so that a page can skip asking
        for them when there are none, as there mostly are not."""
        tiles = Upload.objects.shown_in_grid().filter(gallery=models.OuterRef("pk"))
        return self.annotate(has_upload_tiles=models.Exists(tiles))


class CoverLayout(models.TextChoices):
    FULL = "full", "Full: the cover fills the screen, the title over it"
    SPLIT = "split", "Split: the cover beside the title"
    FRAME = "frame", "Frame: the cover framed, the title under it"
    MINIMAL = "minimal", "Minimal: the title alone, the photos at once"


class GridSpacing(models.TextChoices):
    NONE = "none", "None: edge to edge"
    SMALL = "small", "Small"
    LARGE = "large", "Large"


SLIDESHOW_SECONDS = (2, 30)  # the slideshow intervals a photographer may choose, in seconds


class Gallery(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DB_CASCADE, related_name="galleries")
    name = models.CharField(default="", db_default="")
    cover_photo = models.ForeignKey("Photo", null=True, blank=True, on_delete=models.DB_SET_NULL, related_name="+")
    sort = models.CharField(
        max_length=20, choices=Sort.choices, default=Sort.CAPTURE_TIME, db_default=Sort.CAPTURE_TIME
    )
    # How clients see it (galleries/forms.py PresentationForm).
    cover_layout = models.CharField(
        max_length=10, choices=CoverLayout.choices, default=CoverLayout.FULL, db_default=CoverLayout.FULL
    )
    grid_spacing = models.CharField(
        max_length=10, choices=GridSpacing.choices, default=GridSpacing.SMALL, db_default=GridSpacing.SMALL
    )
    show_filenames = models.BooleanField(default=False, db_default=False)
    slideshow_seconds = models.PositiveSmallIntegerField(default=5, db_default=5)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    objects = GalleryQuerySet.as_manager()

    class Meta:
        db_table = "galleries"
        verbose_name_plural = "galleries"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cover_layout__in=CoverLayout.values), name="galleries_cover_layout_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(grid_spacing__in=GridSpacing.values), name="galleries_grid_spacing_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(slideshow_seconds__range=SLIDESHOW_SECONDS), name="galleries_slideshow_seconds_range"
            ),
        ]

    def __str__(self):
        return self.name or "Untitled gallery"

    def get_absolute_url(self):
        return reverse("galleries:gallery_detail", args=[self.pk])

    def cover_or_first_photo(self):
        if self.cover_photo_id:
            return self.cover_photo
        return self.ordered_photos().first()

    def ordered_photos(self):
        """The gallery's photos in the order it shows them (galleries/ordering.py)."""
        return self.photos.in_display_order(self.sort)

    def overview(self):
        """What the gallery's pages show around its photos, read once per version of the gallery
        (a cache that every change passes by, see `version`): {"photo_count", "total_size" (the
        originals' bytes), "web_size" (the previews'), "unsized_previews" (photos stored before
        preview sizes were recorded), "sets" (in order, with their photo counts), "cover" (the
        cover, else the first photo, or None)}."""
        key = f"gallery-overview:{self.pk}:{self.version}"
        overview = cache.get(key)
        if overview is None:
            overview = self.photos.aggregate(
                photo_count=Count("pk"),
                total_size=Coalesce(Sum("file_size"), 0),
                web_size=Coalesce(Sum("preview_size"), 0),
                unsized_previews=Count("pk", filter=Q(preview_size__isnull=True)),
            )
            overview.update(sets=list(self.sets.with_photo_counts()), cover=self.cover_or_first_photo())
            cache.set(key, overview, None)
        return overview

    def photo_page(self, number, overview=None):
        """One page of photos in order, with the gallery's sets (`page.sets`, with their photo
        counts); each photo knows its place in its set (ordering.SectionedPhotos). The photos are
        read only when the page's tiles are drawn, so a page whose tiles come from a cache reads
        none; the counts come from the `overview()`."""
        overview = overview or self.overview()
        paginator = Paginator(self.photos.none(), PhotoQuerySet.PER_PAGE)
        paginator.count = overview["photo_count"]
        page = paginator.get_page(number)
        page.sets = overview["sets"]
        page.object_list = ordering.SectionedPhotos(self.ordered_photos, page, page.sets, PhotoQuerySet.PER_PAGE)
        return page

    def change_sort(self, sort):
        """Show the photos in `sort` order from now on. Manual order starts from the order
        shown until now, so the first move changes only what it moves."""
        with transaction.atomic():
            if sort == Sort.MANUAL and self.sort != Sort.MANUAL:
                ordering.renumber(self.photos, self.sort)
            self.sort = sort
            self.save(update_fields=["sort", "updated_at"])

    def touch(self):
        """Mark the gallery as changed now, without loading or saving the row."""
        Gallery.objects.filter(pk=self.pk).update(updated_at=timezone.now())

    @property
    def version(self):
        """What the gallery shows of its photos and sets, as a key for caches: `updated_at`, which
        every change to them moves (GalleryContentQuerySet, and save() through auto_now)."""
        return self.updated_at.isoformat()


class GalleryContentQuerySet(models.QuerySet):
    """The rows a gallery shows (photos, sets). Every write through the ORM touches their
    galleries, in the same transaction, so that a cached grid keyed by Gallery.version is never
    shown after a change, whichever code made it (a view, a command, the admin, a bulk update).
    Raw SQL that writes these tables must touch the gallery itself."""

    def _touch_galleries(self, gallery_ids=None):
        galleries = Gallery.objects.filter(pk__in=self.values("gallery_id") if gallery_ids is None else gallery_ids)
        galleries.update(updated_at=timezone.now())

    def update(self, **kwargs):
        with transaction.atomic(savepoint=False):
            self._touch_galleries()
            return super().update(**kwargs)

    def delete(self):
        with transaction.atomic(savepoint=False):
            self._touch_galleries()
            return super().delete()

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        with transaction.atomic(savepoint=False):
            self._touch_galleries({obj.gallery_id for obj in objs})
            return super().bulk_update(objs, fields, batch_size=batch_size)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(savepoint=False):
            self._touch_galleries({obj.gallery_id for obj in objs})
            return super().bulk_create(objs, *args, **kwargs)


class GalleryContent(models.Model):
    """A row a gallery shows: saving or deleting it touches the gallery (see GalleryContentQuerySet)."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        with transaction.atomic(savepoint=False):
            Gallery(pk=self.gallery_id).touch()
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic(savepoint=False):
            Gallery(pk=self.gallery_id).touch()
            return super().delete(*args, **kwargs)


class PhotoSetQuerySet(GalleryContentQuerySet):
    def with_photo_counts(self):
        return self.annotate(photo_count=Count("photos")).order_by("position")

    def renumber(self, photo_sets):
        """Give `photo_sets` (all of a gallery's) positions 0, 1, 2, … in that order."""
        for position, photo_set in enumerate(photo_sets):
            if photo_set.position != position:
                photo_set.position = position
                self.filter(pk=photo_set.pk).update(position=position)


class PhotoSet(GalleryContent):
    """A chapter of a gallery ("Getting ready", "Ceremony"): a photo belongs to one set or none."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery = models.ForeignKey(Gallery, on_delete=models.DB_CASCADE, related_name="sets")
    name = models.CharField(max_length=100)
    position = models.IntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    objects = PhotoSetQuerySet.as_manager()

    class Meta:
        db_table = "photo_sets"
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint("gallery", Lower("name"), name="photo_sets_unique_name_per_gallery"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self._state.adding and self.gallery_id:  # a new set comes last
            last = PhotoSet.objects.filter(gallery_id=self.gallery_id).aggregate(last=Max("position"))["last"]
            self.position = -1 if last is None else last
            self.position += 1
        super().save(*args, **kwargs)


class PhotoQuerySet(GalleryContentQuerySet):
    # A gallery page opens with the first page of photos; static/js/photo-pages.js fetches the
    # next ones (`?page=N&partial=1`, just the tiles) as the visitor scrolls, so a gallery of
    # thousands of photos renders as fast as one of a hundred. 60 fill several screens of the
    # largest display; 120 cost a phone ~0.2 s more before its first paint (docs/PERFORMANCE.md).
    PER_PAGE = 60

    def in_display_order(self, sort=None):
        """In the order a gallery shows them: set by set, each by `sort` (a gallery's sort;
        without it, each photo's own gallery's). The photos carry their order's keys, so
        before() and after() find their neighbours."""
        keys = ordering.order_keys(sort)
        return self.annotate(**keys).order_by(*keys, "id")

    def after(self, photo):
        """The photos after `photo` (one of these, in display order), nearest first."""
        keys = self.query.order_by
        return self.filter(ordering.keyset(photo, keys, "gt"))

    def before(self, photo):
        """The photos before `photo` (one of these, in display order), nearest first."""
        keys = self.query.order_by
        return self.filter(ordering.keyset(photo, keys, "lt")).order_by(*(f"-{key}" for key in keys))

    def stats(self, kind="original"):
        """{"photo_count": …, "total_size": …} in one query: the bytes of the originals, of the
        previews (`web`: what a web-size download gives), or of the full-size JPEGs (`jpeg`:
        JPEG originals and the copies made of the others, their originals while not made yet)."""
        photos = self.annotate(jpeg=FilteredRelation("copies", condition=Q(copies__kind="jpeg")))
        sizes = {"original": F("file_size"), "web": F("preview_size"), "jpeg": Coalesce("jpeg__size", "file_size")}
        return photos.aggregate(photo_count=Count("pk"), total_size=Coalesce(Sum(sizes[kind]), 0))

    def fill_preview_sizes(self):
        """Read the preview size from storage for photos stored before it was recorded."""
        for photo in self.filter(preview_size__isnull=True).only("pk", "preview_object_key"):
            Photo.objects.filter(pk=photo.pk).update(preview_size=default_storage.size(photo.preview_object_key))

    def without_copy(self, kind):
        """The photos that need a copy of `kind` made (galleries/copies.py) and have none yet:
        for a full-size JPEG, every photo whose original is not a JPEG."""
        return self.exclude(content_type="image/jpeg").exclude(copies__kind=kind)

    def object_keys(self):
        """Every storage key these photos own: originals, thumbnails, previews, their sizes and the
        copies made from them (PhotoCopy)."""
        keys = []
        for photo in self.only("object_key", "thumbnail_object_key", "preview_object_key", "size_keys"):
            keys.extend(photo.rendition_keys)
        keys.extend(PhotoCopy.objects.filter(photo__in=self.values("pk")).values_list("object_key", flat=True))
        return keys

    def referencing(self, keys):
        """The photos that own any of these storage keys. A size's key names its photo, which is
        taken whether or not it lists that size: callers intersect with their object_keys()."""
        photo_ids = {match[1] for key in keys if (match := SIZE_KEY.match(key))}
        copies = PhotoCopy.objects.filter(object_key__in=keys).values("photo_id")
        return self.filter(
            Q(object_key__in=keys)
            | Q(thumbnail_object_key__in=keys)
            | Q(preview_object_key__in=keys)
            | Q(pk__in=photo_ids)
            | Q(pk__in=copies)
        )


# Where a photo's sizes for srcset are stored: `<gallery>/sizes/<photo>/<name>` (see Photo.size_key).
SIZE_KEY = re.compile(r"[^/]+/sizes/([0-9a-f-]{36})/[^/]+$")


class Photo(GalleryContent):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery = models.ForeignKey(Gallery, on_delete=models.DB_CASCADE, related_name="photos")
    object_key = models.CharField(unique=True)
    thumbnail_object_key = models.CharField()
    preview_object_key = models.CharField(default="", db_default="")
    size_keys = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        editable=False,
        help_text="{name: storage key} of the sizes made for srcset (galleries.images.SIZES), e.g. 320.webp.",
    )
    placeholder = models.BinaryField(
        default=b"",
        db_default=b"",
        blank=True,
        editable=False,
        help_text="A tiny WebP shown until the thumbnail arrives.",
    )
    original_filename = models.CharField(max_length=255, default="", db_default="")
    sort_key = models.CharField(max_length=500, default="", db_default="")
    photo_set = models.ForeignKey(
        PhotoSet, null=True, blank=True, on_delete=models.DB_SET_NULL, related_name="photos", verbose_name="set"
    )
    captured_at = models.DateTimeField(
        null=True, blank=True, help_text="When the photo was taken (EXIF), if the camera said so."
    )
    position = models.BigIntegerField(
        default=ordering.upload_position, db_default=0, help_text="Place in the gallery's manual order."
    )
    content_type = models.CharField(max_length=50, default="image/jpeg", db_default="image/jpeg")
    file_size = models.IntegerField()
    sha256 = models.CharField(
        max_length=64, blank=True, default="", db_default="", help_text="SHA-256 of the original, in hex."
    )
    preview_size = models.IntegerField(null=True, blank=True, help_text="Bytes of the preview JPEG.")
    # What downloads need to know before their first byte (galleries/copies.py): computed once,
    # at upload, or by the task worker for photos stored before they were recorded.
    crc32 = models.BigIntegerField("CRC-32", null=True, blank=True, help_text="Of the original.")
    private_metadata = models.JSONField(
        null=True,
        blank=True,
        help_text="Where the original keeps its location, owner and serial numbers: patches that blank them "
        "(galleries/metadata.py).",
    )
    stripped_crc32 = models.BigIntegerField(
        "CRC-32 without location", null=True, blank=True, help_text="Of the original with those patches applied."
    )
    preview_crc32 = models.BigIntegerField("CRC-32 of the preview", null=True, blank=True)
    width = models.IntegerField(null=True, blank=True)
    height = models.IntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now, db_default=Now())

    objects = PhotoQuerySet.as_manager()

    class Meta:
        db_table = "photos"
        indexes = [
            models.Index(fields=["gallery", "sort_key", "uploaded_at"], name="photos_display_order_idx"),
            models.Index(fields=["gallery", "sha256"], name="photos_gallery_sha256_idx"),
        ]

    def __str__(self):
        return self.original_filename or self.object_key

    def save(self, *args, **kwargs):
        self.sort_key = natural_sort_key(self.original_filename or self.object_key)
        super().save(*args, **kwargs)

    def assign_object_keys(self):
        """Where this photo's original and renditions are stored. Every key holds the photo's
        own UUID, so no two photos share an object and an upload never writes to a key that an
        earlier, failed one left waiting to be deleted."""
        self.object_key = f"{self.gallery_id}/{self.pk}/{self.original_filename}"
        self.thumbnail_object_key = f"{self.gallery_id}/thumbnails/{self.pk}.jpg"
        self.preview_object_key = f"{self.gallery_id}/previews/{self.pk}.jpg"

    def size_key(self, name):
        """Where the size `name` (of galleries.images.SIZES) of this photo is stored."""
        return f"{self.gallery_id}/sizes/{self.pk}/{name}"

    @property
    def web_filename(self):
        """`IMG_0001.HEIC` → `IMG_0001.jpg`: the name of the web-size copy."""
        return f"{PurePosixPath(self.original_filename or 'photo').stem}.jpg"

    def copy_key(self, kind):
        """Where a copy of `kind` made from this photo (PhotoCopy) is stored: `<gallery>/jpeg/<photo>.jpg`."""
        return f"{self.gallery_id}/{kind}/{self.pk}.jpg"

    @property
    def storage_keys(self):
        """Every key this photo owns: its original, renditions and copies (PhotoCopy)."""
        keys = self.rendition_keys
        if not self._state.adding:
            keys += self.copies.values_list("object_key", flat=True)
        return keys

    @property
    def rendition_keys(self):
        """The keys of the original and what the upload made of it: thumbnail, preview, sizes."""
        keys = (self.object_key, self.thumbnail_object_key, self.preview_object_key, *self.size_keys.values())
        return [key for key in keys if key]

    def srcset(self, format, up_to=None):
        """[(name, width)] of this photo's files in `format` ("webp" or "jpg"), smallest first,
        with long edges up to `up_to`: its sizes, and for JPEG its thumbnail ("thumbnail") and
        preview ("preview") too. No WebP until the photo has its sizes."""
        names = [name for name in self.size_keys if name.endswith(f".{format}") and name in SIZES]
        candidates = [(name, SIZES[name][0]) for name in names]
        if format == "jpg":
            candidates += [("thumbnail", THUMBNAIL_SIZE), ("preview", PREVIEW_SIZE)]
        upright = (self.width or 3, self.height or 2)
        widths = {}
        for name, long_edge in sorted(candidates, key=lambda candidate: candidate[1]):
            if up_to is None or long_edge <= up_to:
                width = fit_within(upright, long_edge)[0]
                widths.setdefault(width, name)  # a file no larger than the one before adds nothing
        return [(name, width) for width, name in widths.items()]

    @property
    def placeholder_url(self):
        """The placeholder as a data: URL, for an <img> (the CSP allows images from data:)."""
        if not self.placeholder:
            return ""
        return "data:image/webp;base64," + base64.b64encode(self.placeholder).decode()

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

    @property
    def tile_sizes(self):
        """The public grid's `sizes` for a tile loaded before layout (the first screen's, where
        `sizes="auto"` does not apply): its width in the justified rows, its aspect ratio times the
        row height (under a third of a phone's width, 13vw on wider screens), with room for the
        row's stretch."""
        ratio = self.ratio_step / 20
        return f"(max-width: 40rem) {min(round(ratio * 36), 100)}vw, {min(round(ratio * 16), 100)}vw"


class PhotoCopy(models.Model):
    """A copy made from a photo's original for delivery, such as a full-size JPEG of a HEIC
    (galleries/copies.py): made once, kept in storage, deleted with the photo."""

    # Watermarked ones (galleries/watermarks.py) are stored under keys that name the watermark's version.
    KINDS = ("jpeg", "watermarked-web", "watermarked-jpeg")

    photo = models.ForeignKey(Photo, on_delete=models.DB_CASCADE, related_name="copies")
    kind = models.CharField(max_length=20, choices=[(kind, kind) for kind in KINDS])
    object_key = models.CharField(unique=True)
    size = models.BigIntegerField()
    crc32 = models.BigIntegerField("CRC-32")
    private_metadata = models.JSONField(default=list, blank=True)
    stripped_crc32 = models.BigIntegerField("CRC-32 without location")
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "photo_copies"
        constraints = [models.UniqueConstraint(fields=["photo", "kind"], name="photo_copies_one_per_kind")]

    def __str__(self):
        return self.object_key


class UploadStatus(models.TextChoices):
    UPLOADING = "uploading", "Uploading"
    PROCESSING = "processing", "Processing"
    FAILED = "failed", "Failed"
    DONE = "done", "Done"


UNFINISHED = [UploadStatus.UPLOADING, UploadStatus.PROCESSING]


class UploadQuerySet(models.QuerySet):
    def unfinished(self):
        """Uploads whose bytes are on their way or being made into a photo: they hold their size
        of the owner's quota."""
        return self.filter(status__in=UNFINISHED)

    def shown_in_grid(self):
        """The tiles of photos that are not photos yet: being processed, or failed (with why)."""
        return self.filter(status__in=[UploadStatus.PROCESSING, UploadStatus.FAILED]).order_by("created_at")


class Upload(models.Model):
    """One file on its way into a gallery (galleries/uploads.py): its parts arrive in storage
    (an S3 multipart upload, or part files on local disk), then it is completed into the
    original's object and the task worker makes it a photo, which takes `photo_id` as its own.
    A failed one stays as a tile that says why, until the next upload of the file or a day."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gallery = models.ForeignKey(Gallery, on_delete=models.DB_CASCADE, related_name="uploads")
    photo_set = models.ForeignKey(PhotoSet, null=True, blank=True, on_delete=models.DB_SET_NULL, related_name="+")
    photo_id = models.UUIDField(default=uuid.uuid4, unique=True, help_text="The photo it becomes.")
    file_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    declared_type = models.CharField(max_length=100, blank=True, default="")
    sha256 = models.CharField(max_length=64)
    object_key = models.CharField(unique=True)
    storage_upload_id = models.CharField(blank=True, default="", help_text="The multipart upload in storage.")
    part_size = models.IntegerField()
    status = models.CharField(max_length=20, choices=UploadStatus.choices, default=UploadStatus.UPLOADING)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, help_text="When it was last asked for or moved on.")

    objects = UploadQuerySet.as_manager()

    class Meta:
        db_table = "uploads"
        constraints = [
            # One upload of a file at a time per gallery: two tabs dropping it resume the same one.
            models.UniqueConstraint(
                "gallery", "sha256", condition=models.Q(status__in=UNFINISHED), name="uploads_one_per_file"
            ),
        ]

    def __str__(self):
        return self.file_name

    @property
    def part_count(self):
        return max(1, -(-self.size // self.part_size))

    def part_length(self, number):
        """Bytes of part `number` (from 1): all are part_size but the last."""
        return min(self.part_size, self.size - (number - 1) * self.part_size)


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


class PeriodicTaskQuerySet(models.QuerySet):
    def claim(self, task_path, next_run_at):
        """Move `task_path`'s next run to `next_run_at` unless it is there already; whether this
        call moved it. Two schedulers that fire for the same run both ask; the row lock of the
        UPDATE makes the second wait for the first and then find nothing to move."""
        self.bulk_create([PeriodicTask(task_path=task_path)], ignore_conflicts=True)
        due = self.filter(Q(next_run_at__isnull=True) | Q(next_run_at__lt=next_run_at), task_path=task_path)
        return bool(due.update(next_run_at=next_run_at, last_queued_at=timezone.now()))


class PeriodicTask(models.Model):
    """When a periodic task is next due, as every scheduler (`manage.py crontask`) sees it: the
    scheduler that queues a run moves `next_run_at` on in the same transaction, so the task is
    queued once per run however many schedulers fire for it (galleries.tasks.periodic)."""

    task_path = models.CharField(primary_key=True, max_length=255)
    next_run_at = models.DateTimeField(null=True)
    last_queued_at = models.DateTimeField(null=True)

    objects = PeriodicTaskQuerySet.as_manager()

    class Meta:
        db_table = "periodic_tasks"

    def __str__(self):
        return self.task_path


class WatermarkRunQuerySet(models.QuerySet):
    def claim(self, gallery_id, version, full_size):
        """Claim the gallery's watermark run (galleries.tasks.make_watermarked) for a run of
        `version`: (the WatermarkRun that holds it, whether this call claimed it). A run that
        has not reported progress for WatermarkRun.STALE is presumed dead (its worker stopped)
        and taken over. Two runs that ask at once insert the same primary key: the database
        lets one in, and the other finds its row."""
        now = timezone.now()
        self.filter(gallery_id=gallery_id, beat_at__lt=now - WatermarkRun.STALE).delete()
        mine = WatermarkRun(gallery_id=gallery_id, version=version, full_size=full_size, beat_at=now)
        self.bulk_create([mine], ignore_conflicts=True)
        run = self.filter(gallery_id=gallery_id).first()
        if run is None:  # finished between the two statements: free again
            return self.claim(gallery_id, version, full_size)
        return run, run.token == mine.token


class WatermarkRun(models.Model):
    """The watermark run in progress for a gallery, at most one at a time across every task
    worker: it makes the gallery's watermarked renditions for `version` (and with `full_size`
    its watermarked full-size JPEGs). The run reports progress (`beat_at`) as it goes, and
    deletes its row when it ends."""

    STALE = timedelta(minutes=10)

    gallery = models.OneToOneField(Gallery, primary_key=True, on_delete=models.DB_CASCADE, related_name="+")
    token = models.UUIDField(default=uuid.uuid4)  # which run holds it
    version = models.CharField()
    full_size = models.BooleanField()
    beat_at = models.DateTimeField()

    objects = WatermarkRunQuerySet.as_manager()

    class Meta:
        db_table = "watermark_runs"

    def __str__(self):
        return f"{self.gallery_id} at {self.version}"

    def covers(self, version, full_size):
        """Whether this run does what a whole-gallery run of `version` would."""
        return self.version == version and (self.full_size or not full_size)

    def beat(self):
        """Report progress; whether this run still holds the gallery (not taken over as stale)."""
        return bool(WatermarkRun.objects.filter(pk=self.pk, token=self.token).update(beat_at=timezone.now()))

    def release(self):
        WatermarkRun.objects.filter(pk=self.pk, token=self.token).delete()
