import functools
import hashlib
import ipaddress
import re
import unicodedata
import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, validate_email
from django.db import models
from django.db.models.functions import Lower, Now
from django.urls import reverse
from django.utils import timezone

# C0 and C1 controls (CR, LF, NUL, ESC, NEL...), Unicode line and paragraph separators, and the
# bidirectional overrides and isolates that make text display in another order than it reads.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

refuse_control_characters = RegexValidator(
    CONTROL_CHARACTERS, "Names cannot contain line breaks or other control characters.", inverse_match=True
)


def validate_mail_address(address):
    """An address mail can really go to: Django's check, no control characters (a quoted local
    part carries them past that check, and then no mail is sent), and a domain on the internet."""
    validate_email(address)
    if CONTROL_CHARACTERS.search(address):
        raise ValidationError("This e-mail address holds characters no mail can be sent to.", code="invalid")
    validate_internet_domain(address)


def validate_internet_domain(address):
    """Mail goes to internet domains only: never `localhost`, an IP address (`a@[127.0.0.1]`) or
    a name without a dot, which reach the mail server's own machine or its neighbours."""
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    try:
        ipaddress.ip_address(domain.strip("[]").removeprefix("ipv6:"))
        is_address = True
    except ValueError:
        is_address = False
    if is_address or "." not in domain or domain == "localhost" or domain.endswith(".localhost"):
        raise ValidationError(
            "Mail goes only to addresses on an internet domain, not to “%(domain)s”.",
            code="not_internet",
            params={"domain": domain},
        )


@functools.cache
def time_zone_names():
    """The IANA zones a photographer may have: places (Area/City), UTC and Etc/*. Not the
    system's files that are no place (localtime, Factory, posixrules) nor the old names of
    rules (EST5EDT, GB, Japan)."""
    return frozenset(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")


def validate_time_zone(name):
    if name not in time_zone_names():
        raise ValidationError("Choose a time zone by its name, such as Europe/Berlin or America/New_York.")


class Font(models.TextChoices):
    """The display faces a photographer may give their galleries (static/fonts/README.md)."""

    CLASSIC = "classic", "Classic: Cormorant Garamond, a refined serif"
    MODERN = "modern", "Modern: Montserrat, a geometric sans"
    EDITORIAL = "editorial", "Editorial: Playfair Display, a magazine serif"
    CLEAN = "clean", "Clean: Inter, a neutral sans"


# Each face's CSS family (with fallbacks of a like shape) and its Latin file, to preload.
FONT_FACES = {
    Font.CLASSIC: (
        '"Cormorant Garamond", Garamond, "Times New Roman", serif',
        "fonts/cormorant-garamond/cormorant-garamond-latin-wght-normal.woff2",
    ),
    Font.MODERN: (
        'Montserrat, "Century Gothic", Futura, sans-serif',
        "fonts/montserrat/montserrat-latin-wght-normal.woff2",
    ),
    Font.EDITORIAL: (
        '"Playfair Display", Didot, "Bodoni MT", Georgia, serif',
        "fonts/playfair-display/playfair-display-latin-wght-normal.woff2",
    ),
    Font.CLEAN: ('Inter, "Helvetica Neue", Arial, sans-serif', "fonts/inter/inter-latin-wght-normal.woff2"),
}


class WatermarkPosition(models.TextChoices):
    CENTER = "center", "Centre"
    BOTTOM_RIGHT = "bottom-right", "Bottom right"
    BOTTOM_LEFT = "bottom-left", "Bottom left"
    TILED = "tiled", "Tiled over the whole photo"


WATERMARK_PERCENT = (5, 100)  # the opacity and scale a photographer may choose


class UserManager(BaseUserManager):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email):
        """One spelling per address: NFKC (full-width letters, `ſ` → `s`), then Unicode case folding
        (`ß` → `ss`, the Kelvin sign → `k`), without surrounding spaces.

        Every comparison of addresses uses this and then compares exactly: login, the login
        throttle, signup and profile uniqueness, password reset. Never `iexact`: PostgreSQL's UPPER
        folds `ı` and `ſ` into `I` and `S`, so it matches addresses this function keeps apart.
        """
        folded = unicodedata.normalize("NFKC", email or "").casefold()
        return unicodedata.normalize("NFKC", folded).strip()

    def get_by_natural_key(self, email):
        return self.get(email=self.normalize_email(email))

    def create_user(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("Users must have an email address.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A photographer. The email address is the login."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=255, unique=True)
    password = models.CharField("password", max_length=255, db_column="password_hash")
    display_name = models.CharField(  # noqa: DJ001 (nullable in the data model's spec)
        max_length=255, null=True, blank=True, validators=[refuse_control_characters]
    )
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log in to the admin site.")
    email_verified_at = models.DateTimeField(
        "e-mail address confirmed",
        null=True,
        blank=True,
        help_text="When the owner of the address confirmed it; until then nothing is mailed on the account's behalf.",
    )
    notify_favourites = models.BooleanField("e-mail me when a client submits favourites", default=True, db_default=True)
    notify_daily_digest = models.BooleanField(
        "e-mail me a daily summary of views and downloads",
        default=True,
        db_default=True,
        help_text="Sent only on days when your share links were opened.",
    )
    # Every time shown to the photographer (pages, their e-mails, CSVs) is in it, and "in 30 days"
    # ends at 23:59 there. Guessed from the browser at signup.
    time_zone = models.CharField(
        max_length=64, default="UTC", db_default="UTC", validators=[validate_time_zone], help_text="e.g. Europe/Berlin"
    )
    # The photographer's brand, on what clients see: shared galleries, their closed pages and the
    # e-mails (accounts/forms.py BrandingForm says what each may hold).
    brand_name = models.CharField(
        max_length=100, blank=True, default="", db_default="", validators=[refuse_control_characters]
    )
    logo_key = models.CharField(max_length=255, blank=True, default="", db_default="")
    logo_width = models.PositiveIntegerField(null=True, blank=True)
    logo_height = models.PositiveIntegerField(null=True, blank=True)
    accent_color = models.CharField(max_length=7, blank=True, default="", db_default="")
    font = models.CharField(max_length=10, choices=Font.choices, blank=True, default="", db_default="")
    website = models.URLField(max_length=200, blank=True, default="", db_default="")
    instagram = models.CharField(max_length=30, blank=True, default="", db_default="")
    contact_email = models.EmailField(max_length=254, blank=True, default="", db_default="")
    # The watermark that share links with `watermark` on burn into what clients see (accounts/forms.py
    # WatermarkForm): an image, else a text (the name clients see when empty).
    watermark_image_key = models.CharField(max_length=255, blank=True, default="", db_default="")
    watermark_text = models.CharField(
        max_length=100, blank=True, default="", db_default="", validators=[refuse_control_characters]
    )
    watermark_position = models.CharField(
        max_length=20,
        choices=WatermarkPosition.choices,
        default=WatermarkPosition.CENTER,
        db_default=WatermarkPosition.CENTER,
    )
    watermark_opacity = models.PositiveSmallIntegerField(
        default=50,
        db_default=50,
        validators=[MinValueValidator(WATERMARK_PERCENT[0]), MaxValueValidator(WATERMARK_PERCENT[1])],
    )
    watermark_scale = models.PositiveSmallIntegerField(
        default=30,
        db_default=30,
        validators=[MinValueValidator(WATERMARK_PERCENT[0]), MaxValueValidator(WATERMARK_PERCENT[1])],
    )
    storage_quota = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Bytes of originals this photographer may store; empty: the site's default (VIEWPORT_STORAGE_QUOTA).",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        db_table = "users"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="users_email_lower_unique"),
            models.CheckConstraint(condition=models.Q(font__in=["", *Font.values]), name="users_font_valid"),
            models.CheckConstraint(
                condition=models.Q(watermark_position__in=WatermarkPosition.values),
                name="users_watermark_position_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(watermark_opacity__range=WATERMARK_PERCENT), name="users_watermark_opacity_range"
            ),
            models.CheckConstraint(
                condition=models.Q(watermark_scale__range=WATERMARK_PERCENT), name="users_watermark_scale_range"
            ),
        ]

    def __str__(self):
        return self.email

    @property
    def name(self):
        """What clients see: the brand name, else the display name, else the part of the email
        before the @.

        On one line whatever was stored (names saved before they were checked, or by code that
        skips the forms), so it is safe in an e-mail header or a greeting.
        """
        for name in (self.brand_name, self.display_name):
            name = " ".join(CONTROL_CHARACTERS.sub(" ", name or "").split())
            if name:
                return name
        return self.email.split("@")[0]

    @property
    def quota(self):
        """Bytes of originals this photographer may store (galleries.uploads checks it)."""
        return self.storage_quota if self.storage_quota is not None else settings.VIEWPORT_STORAGE_QUOTA

    @property
    def own_name(self):
        """How to greet the photographer themself: their own name, not their brand's."""
        name = " ".join(CONTROL_CHARACTERS.sub(" ", self.display_name or "").split())
        return name or self.email.split("@")[0]

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def brand_version(self):
        """Changes whenever the brand's stylesheet or logo does: their URLs carry it, so browsers
        may keep them for good."""
        return hashlib.sha256(f"{self.accent_color}|{self.font}|{self.logo_key}".encode()).hexdigest()[:12]

    @property
    def has_brand_style(self):
        return bool(self.accent_color or self.font)

    @property
    def font_family(self):
        return FONT_FACES[self.font][0] if self.font else ""

    @property
    def font_file(self):
        return FONT_FACES[self.font][1] if self.font else ""

    @property
    def brand_css_url(self):
        return reverse("accounts:brand_css", args=[self.pk, self.brand_version])

    @property
    def logo_url(self):
        return reverse("accounts:brand_logo", args=[self.pk, self.brand_version]) if self.logo_key else ""

    @property
    def watermark_label(self):
        """What a text watermark says: the text set, else the name clients see."""
        return " ".join(self.watermark_text.split()) or self.name

    @property
    def watermark_font_file(self):
        """The bundled font a text watermark is drawn in: the brand's display face, else Montserrat."""
        return str(settings.BASE_DIR / "static" / FONT_FACES[self.font or Font.MODERN][1])

    @property
    def watermark_version(self):
        """Changes whenever the watermark does: watermarked copies are stored under keys that name
        it (galleries/watermarks.py), so a copy of another version is never served."""
        parts = [
            self.watermark_image_key or self.watermark_label,
            "" if self.watermark_image_key else self.font,
            self.watermark_position,
            self.watermark_opacity,
            self.watermark_scale,
        ]
        return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]

    @property
    def website_label(self):
        """`https://www.lenahart.com/` → `lenahart.com`."""
        label = self.website.split("://", 1)[-1].removeprefix("www.")
        return label.rstrip("/")

    @property
    def instagram_url(self):
        return f"https://www.instagram.com/{self.instagram}/" if self.instagram else ""

    @property
    def is_email_verified(self):
        """Whether the account proved it owns its address: mail goes out on its behalf only then
        (a new account could otherwise mail strangers in anyone's name)."""
        return self.email_verified_at is not None

    def confirm_email(self, email):
        """Mark `email` confirmed, if it is still the account's address and not confirmed yet.
        True if it was confirmed now (a confirmation link works once)."""
        confirmed = User.objects.filter(pk=self.pk, email=email, email_verified_at__isnull=True).update(
            email_verified_at=timezone.now()
        )
        self.refresh_from_db(fields=["email_verified_at"])
        return bool(confirmed)

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name


class RateLimitHit(models.Model):
    """One counted event (a reset mail, a wrong share-link password) for accounts.throttling.

    A row per event rather than a counter per fixed window: the window slides, so there is no
    burst of twice the limit across a window's edge, and inserting a row needs no lock, which is
    what lets throttling.try_record() stay exact under concurrent requests. Rows live at most a
    day (throttling.KEEP) and the limits are small, so the table stays small.
    """

    scope = models.CharField(max_length=50)
    key = models.CharField(max_length=64, help_text="A keyed hash of what is counted (an address, an e-mail).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "rate_limit_hits"
        indexes = [
            models.Index(fields=["scope", "key", "created_at"], name="rate_limit_hits_window"),
            models.Index(fields=["created_at"], name="rate_limit_hits_created_at"),
        ]

    def __str__(self):
        return f"{self.scope} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class SentMail(models.Model):
    """An e-mail that has been sent, by its key (`invitation:<id>`, `reminder:<link>:<address>`):
    accounts.mail.send_once() inserts the key before sending, so a task that runs twice, or two
    workers that run it at once, send it once."""

    key = models.CharField(max_length=255, unique=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sent_mails"

    def __str__(self):
        return self.key


class MailSuppression(models.Model):
    """A client who unsubscribed from one photographer's e-mails: invitations and reminders
    from that photographer skip the address."""

    photographer = models.ForeignKey(User, on_delete=models.DB_CASCADE, related_name="mail_suppressions")
    email = models.EmailField(max_length=254, help_text="Normalised (UserManager.normalize_email).")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "mail_suppressions"
        constraints = [models.UniqueConstraint(fields=["photographer", "email"], name="mail_suppressions_unique")]

    def __str__(self):
        return f"{self.email} from {self.photographer}"
