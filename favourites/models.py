import hashlib
import secrets
import uuid

from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.db.models import Count
from django.db.models.functions import Now
from django.utils import timezone

from galleries.models import Photo
from sharing.models import DayCountsQuerySet, ShareLink

# More than any gallery holds, well below what the database's integer column takes.
HIGHEST_FAVOURITES_LIMIT = 10_000


class FavouritesSettings(models.Model):
    """Whether clients of a share link may choose favourites, and how (the link's settings form
    and JSON carry these fields by these names). A link without a row has the defaults."""

    link = models.OneToOneField(
        ShareLink, primary_key=True, on_delete=models.DB_CASCADE, related_name="favourites_settings"
    )
    favourites = models.BooleanField("clients may choose favourites", default=False, db_default=False)
    favourites_limit = models.PositiveIntegerField(
        "most favourites per person",
        null=True,
        blank=True,
        validators=[MaxValueValidator(HIGHEST_FAVOURITES_LIMIT)],
        help_text="Empty for no limit.",
    )
    favourites_title = models.CharField(
        "title of the favourites", max_length=100, default="Favourites", db_default="Favourites"
    )
    favourites_require_email = models.BooleanField("ask for an e-mail address", default=False, db_default=False)
    favourites_comments = models.BooleanField("clients may comment on photos", default=False, db_default=False)

    class Meta:
        db_table = "favourites_settings"
        verbose_name_plural = "favourites settings"

    def __str__(self):
        return f"Favourites of {self.link}"

    @classmethod
    def of(cls, link):
        """The settings of `link`: its row, or the defaults (unsaved) when it has none (a new link)."""
        try:
            return cls(link=link) if link._state.adding else link.favourites_settings
        except cls.DoesNotExist:
            return cls(link=link)


class FavouriteDay(models.Model):
    """Photos added to clients' lists through one share link on one day (the site's time zone):
    a column of the link's statistics."""

    link = models.ForeignKey(ShareLink, on_delete=models.DB_CASCADE, related_name="+")
    day = models.DateField()
    favourites = models.IntegerField(default=0, db_default=0)

    objects = DayCountsQuerySet.as_manager()

    class Meta:
        db_table = "favourite_days"
        constraints = [models.UniqueConstraint(fields=["link", "day"], name="favourite_days_link_day")]

    def __str__(self):
        return f"{self.link_id} on {self.day}"


class FavouritesClosed(Exception):
    """A change the list cannot take now (sent to the photographer, or full): the message says
    why, for the client. Nothing of the change was saved."""


def token_hash(token):
    """Resume tokens are long and random: a fast hash is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


class FavouriteListQuerySet(models.QuerySet):
    def of_gallery(self, gallery):
        return self.filter(link__gallery=gallery)

    def with_token(self, token):
        if not token:
            return self.none()
        digest = token_hash(token)
        return self.filter(models.Q(token_hash=digest) | models.Q(email_token_hash=digest))

    def with_counts(self):
        return self.annotate(photo_count=Count("favourites"))

    def waiting(self):
        """Lists submitted since the photographer last looked at the gallery's favourites."""
        return self.filter(submitted_at__isnull=False).filter(
            models.Q(seen_at__isnull=True) | models.Q(seen_at__lt=models.F("submitted_at"))
        )


class FavouriteList(models.Model):
    """One person's choice of photos on one share link. Clients have no account: the list is
    theirs through a cookie on their browser, or through a personal resume link."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    link = models.ForeignKey(ShareLink, on_delete=models.DB_CASCADE, related_name="favourite_lists")
    name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254, blank=True, default="", db_default="")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The e-mailed resume link carries a token of its own, made when the mail is sent, so that no
    # raw token waits in the task queue.
    email_token_hash = models.CharField(max_length=64, blank=True, default="", db_default="", editable=False)
    resume_sent_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # When the photographer last opened the gallery's favourites: a list submitted after it waits.
    seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    objects = FavouriteListQuerySet.as_manager()

    class Meta:
        db_table = "favourite_lists"
        ordering = ["-updated_at"]

    def __str__(self):
        return f"{self.name} ({self.link})"

    def new_token(self):
        """Give the list a new resume token and return it; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        self.token_hash = token_hash(token)
        return token

    def new_email_token(self):
        """A second token, for the e-mailed resume link; returned once, only its hash is kept."""
        token = secrets.token_urlsafe(32)
        FavouriteList.objects.filter(pk=self.pk).update(email_token_hash=token_hash(token))
        return token

    @property
    def is_submitted(self):
        return self.submitted_at is not None

    @property
    def limit(self):
        return FavouritesSettings.of(self.link).favourites_limit

    def photo_ids(self):
        return set(self.favourites.values_list("photo_id", flat=True))

    def add(self, photo, comment=None):
        """Add `photo` (again: no change) and, if given, set its comment. Returns whether it
        counts in the link's favourites statistic: the first time this list chose the photo
        (CountedFavourite), whatever was removed since. Raises FavouritesClosed once the list was
        sent or is full. The list's row is locked meanwhile, so clients choosing at once never
        pass the limit."""
        with transaction.atomic():
            locked = (
                FavouriteList.objects.select_for_update(of=("self",))
                .select_related("link__favourites_settings")
                .get(pk=self.pk)
            )
            if locked.is_submitted:
                raise FavouritesClosed(SENT_MESSAGE)
            favourite = locked.favourites.filter(photo=photo).first()
            is_new = favourite is None
            if is_new:
                if locked.limit is not None and locked.favourites.count() >= locked.limit:
                    raise FavouritesClosed(
                        f"You have chosen {locked.limit} of {locked.limit} photos, the most this gallery allows. "
                        "Remove one to choose another."
                    )
                favourite = Favourite(favourite_list=locked, photo=photo)
            if comment is not None:
                favourite.comment = comment
            favourite.save()
            locked.save(update_fields=["updated_at"])
            return is_new and CountedFavourite.objects.get_or_create(favourite_list=locked, photo=photo)[1]

    def remove(self, photo):
        with transaction.atomic():
            locked = FavouriteList.objects.select_for_update().get(pk=self.pk)
            if locked.is_submitted:
                raise FavouritesClosed(SENT_MESSAGE)
            if locked.favourites.filter(photo=photo).delete()[0]:
                locked.save(update_fields=["updated_at"])

    def submit(self):
        """Send the list to the photographer: it is locked until they reopen it. Raises
        FavouritesClosed when it is empty, or was sent already (also by a request at the same time)."""
        if not self.favourites.exists():
            raise FavouritesClosed("Choose at least one photo before you send your favourites.")
        sent = FavouriteList.objects.filter(pk=self.pk, submitted_at__isnull=True).update(
            submitted_at=timezone.now(), updated_at=timezone.now()
        )
        if not sent:
            raise FavouritesClosed(SENT_MESSAGE)
        self.refresh_from_db(fields=["submitted_at", "updated_at"])

    def reopen(self):
        FavouriteList.objects.filter(pk=self.pk).update(submitted_at=None, updated_at=timezone.now())

    def close(self):
        FavouriteList.objects.filter(pk=self.pk, submitted_at__isnull=True).update(
            submitted_at=timezone.now(), updated_at=timezone.now()
        )


SENT_MESSAGE = (
    "You sent these favourites to the photographer, so they can no longer change. "
    "Ask the photographer to reopen them if you need to."
)


class Favourite(models.Model):
    favourite_list = models.ForeignKey(FavouriteList, on_delete=models.DB_CASCADE, related_name="favourites")
    photo = models.ForeignKey(Photo, on_delete=models.DB_CASCADE, related_name="favourites")
    comment = models.CharField(max_length=500, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "favourites"
        constraints = [models.UniqueConstraint(fields=["favourite_list", "photo"], name="favourites_one_per_photo")]

    def __str__(self):
        return f"{self.photo} ({self.favourite_list.name})"


class CountedFavourite(models.Model):
    """A photo that one list has chosen at some time, which the link's favourites statistic has
    counted: a photo removed and chosen again counts once per list."""

    favourite_list = models.ForeignKey(FavouriteList, on_delete=models.DB_CASCADE, related_name="+")
    photo = models.ForeignKey(Photo, on_delete=models.DB_CASCADE, related_name="+")

    class Meta:
        db_table = "counted_favourites"
        constraints = [
            models.UniqueConstraint(fields=["favourite_list", "photo"], name="counted_favourites_one_per_photo")
        ]

    def __str__(self):
        return f"{self.photo_id} in {self.favourite_list_id}"
