import re
import secrets

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import colours, throttling
from accounts.mail import compose
from accounts.models import Font, User, WatermarkPosition, time_zone_names, validate_mail_address
from galleries.images import ImageRejected, make_logo, make_watermark_image
from galleries.models import PendingDeletion
from galleries.storage import STORAGE_ERRORS
from galleries.tasks import after_watermark_change, delete_storage_objects


def check_current_password(user, password, wrong_message):
    """Raise a ValidationError unless `password` is `user`'s. Wrong passwords are limited per
    account (RATE_LIMITS["current-password"]): past the limit none is checked, so a stolen
    session cannot guess freely."""
    try:
        attempt = throttling.consume("current-password", account=user.pk)
    except throttling.RateLimited as limited:
        raise ValidationError(str(limited), code="too_many_tries") from None
    if not user.check_password(password):
        raise ValidationError(wrong_message, code="password_incorrect")
    attempt.take_back()  # only wrong passwords count


class UniqueEmailMixin:
    """Store the email normalised and refuse one already taken in any spelling.

    Addresses are stored normalised, so an exact comparison finds every spelling; the database's
    Lower("email") constraint would refuse some of them too, but as an IntegrityError.
    """

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError("An account with this email address already exists.", code="unique")
        return email


class SignupForm(UniqueEmailMixin, auth_forms.BaseUserCreationForm):
    # Filled in by the browser (static/js/time-zone.js); the profile changes it.
    time_zone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-guess-time-zone": ""})
    )

    class Meta:
        model = User
        fields = ["email", "display_name", "time_zone"]
        labels = {"display_name": "Your name or studio name"}
        help_texts = {"display_name": "Shown to your clients on shared galleries."}
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "email"})}

    def save_for(self, client, solved=False):
        """The new account, for a client at `client` (throttling.client_network), who `solved` a
        challenge or not. Raises RateLimited or ChallengeRequired, with the reason among the
        form's errors, past RATE_LIMITS["signup"]."""
        try:
            throttling.consume("signup", network=client, solved=solved)
        except (throttling.RateLimited, throttling.ChallengeRequired) as refused:
            self.add_error(None, str(refused))
            raise
        return self.save()

    def clean_time_zone(self):
        """A guess, never an error: without one (no JavaScript), the site's own time zone."""
        guess = self.cleaned_data["time_zone"]
        return guess if guess in time_zone_names() else settings.TIME_ZONE


class ProfileForm(UniqueEmailMixin, forms.ModelForm):
    """Name and login address. A new address needs the current password: whoever has a session
    (a shared computer, a stolen cookie) could otherwise take the account over with a reset."""

    current_password = forms.CharField(
        label="Current password",
        required=False,
        strip=False,
        help_text="Needed only to change your email address.",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    time_zone = forms.ChoiceField(
        label="Your time zone",
        required=False,
        help_text="Times on your pages and in your e-mails are shown in it; links “in 30 days” end at 23:59 there.",
    )

    class Meta(SignupForm.Meta):
        fields = [
            "display_name",
            "email",
            "current_password",
            "time_zone",
            "notify_favourites",
            "notify_daily_digest",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name.replace("_", " ")) for name in sorted(time_zone_names())]

    def clean_time_zone(self):
        return self.cleaned_data["time_zone"] or self.instance.time_zone  # left out: unchanged

    @property
    def email_changed(self):
        return self.cleaned_data.get("email", self.initial["email"]) != self.initial["email"]

    def save(self, commit=True):
        if self.email_changed:
            self.instance.email_verified_at = None  # a new address is confirmed anew
        return super().save(commit)

    def clean(self):
        cleaned_data = super().clean()
        email, password = cleaned_data.get("email"), cleaned_data.get("current_password")
        if email and email != self.instance.email:
            if not password:
                self.add_error("current_password", "Enter your current password to change your email address.")
            else:
                try:
                    check_current_password(self.instance, password, "Your password was entered incorrectly.")
                except ValidationError as error:
                    self.add_error("current_password", error)
        return cleaned_data


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        check_current_password(self.user, old_password, self.error_messages["password_incorrect"])
        return old_password


class SetPasswordForm(auth_forms.SetPasswordForm):
    """The new password from a reset link. It also lifts the account's login lockout: whoever can
    read the account's mail may log in at once, however many guesses others made meanwhile."""

    def save(self, commit=True):
        user = super().save(commit)
        throttling.clear_login_failures(user.email)
        user.confirm_email(user.email)  # the reset link reached that inbox: the address is theirs
        return user


class LoginForm(auth_forms.AuthenticationForm):
    """Django's login form with the address posted as `email`; `username` (Django's name) works too."""

    email = forms.EmailField(
        label="Email",
        max_length=255,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        # One message whether or not the account exists, so the form does not reveal who has one.
        "invalid_login": "That email and password don’t match. Please try again.",
        "inactive": "That email and password don’t match. Please try again.",
    }
    field_order = ["email", "password"]

    def __init__(self, request=None, data=None, *args, **kwargs):
        if data is not None and not data.get("email") and data.get("username"):
            data = data.copy()
            data["email"] = data["username"]
        super().__init__(request, data, *args, **kwargs)
        del self.fields["username"]

    def clean(self):
        self.cleaned_data["username"] = self.cleaned_data.get("email")
        return super().clean()


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, limited per address and per client, with links to VIEWPORT_SITE_URL.

    save() only prepares the mail: the view sends it after answering, so neither the answer nor
    its timing tells whether the address has an account or was limited.
    """

    def get_users(self, email):
        users = User.objects.filter(email=User.objects.normalize_email(email), is_active=True)
        return [user for user in users if user.has_usable_password()]

    def save(self, client):
        """The reset e-mails this request may send (none or one), for a client at `client`."""
        email = User.objects.normalize_email(self.cleaned_data["email"])
        try:
            throttling.consume("password-reset", network=client, address=email)
        except throttling.RateLimited:
            return []
        return [self.reset_mail(user) for user in self.get_users(email)]

    def reset_mail(self, user):
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        path = reverse("accounts:password_reset_confirm", args=[uid, default_token_generator.make_token(user)])
        context = {"user": user, "reset_url": settings.VIEWPORT_SITE_URL + path}
        return compose("accounts/mail/password_reset", context, user.email)


class BrandingForm(forms.ModelForm):
    """The photographer's brand on what clients see. A field the request leaves out keeps its
    value (a script may send just one); one sent empty is cleared. The logo is a file in a
    multipart form, re-encoded (galleries.images.make_logo) and stored with the photos."""

    LOGO_MAX_BYTES = 10 * 1024 * 1024

    logo = forms.FileField(
        label="Logo",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text="PNG (best with a transparent background), JPEG or WebP, up to 10 MB.",
    )
    logo_clear = forms.BooleanField(label="Remove the logo", required=False)
    # Read by clean_instagram() and clean_website(), which take what photographers paste: a
    # profile's whole address, a bare "lenahart.com".
    instagram = forms.CharField(
        label="Instagram",
        required=False,
        max_length=200,
        help_text="Your handle, e.g. @lenahart.",
        widget=forms.TextInput(attrs={"placeholder": "@lenahart", "spellcheck": "false"}),
    )
    website = forms.CharField(
        label="Website",
        required=False,
        max_length=200,
        help_text="An https:// address.",
        widget=forms.TextInput(attrs={"placeholder": "https://lenahart.com", "inputmode": "url"}),
    )

    class Meta:
        model = User
        fields = ["brand_name", "accent_color", "font", "website", "instagram", "contact_email"]
        labels = {
            "brand_name": "Brand name",
            "accent_color": "Accent colour",
            "font": "Display font",
            "contact_email": "Contact e-mail",
        }
        help_texts = {
            "brand_name": "Shown to clients instead of your name. Leave empty to use your name.",
            "accent_color": "For buttons and links, as #rrggbb. Empty for Viewport’s bronze.",
            "font": "For gallery titles and your name.",
            "contact_email": "Where clients may write to you; shown on your galleries.",
        }
        widgets = {
            "brand_name": forms.TextInput(attrs={"placeholder": "e.g. Lena Hart Photography"}),
            "accent_color": forms.TextInput(attrs={"placeholder": "#8a5a3c", "spellcheck": "false"}),
            "font": forms.RadioSelect,
            "contact_email": forms.EmailInput(attrs={"placeholder": "hello@lenahart.com"}),
        }

    def __init__(self, data=None, files=None, *args, **kwargs):
        super().__init__(data, files, *args, **kwargs)
        self.old_logo_key = self.instance.logo_key
        self.old_watermark_version = self.instance.watermark_version  # a text watermark's name and font
        self.fields["font"].choices = [("", "Viewport’s own (Iowan Old Style and system serifs)"), *Font.choices]
        self.fields["font"].error_messages["invalid_choice"] = (
            f"Choose one of {', '.join(Font.values)}, or nothing for Viewport’s own."
        )
        if data is not None:
            self.data = data.copy()
            for name in self.Meta.fields:
                if name not in data:
                    self.data[name] = getattr(self.instance, name)

    def clean_accent_color(self):
        colour = self.cleaned_data["accent_color"].strip().lower()
        if not colour:
            return ""
        if not colours.HEX_COLOUR.fullmatch(colour):
            raise ValidationError("Enter a colour as # and six hexadecimal digits, e.g. #8a5a3c.", code="invalid")
        ratio = colours.worst_contrast(colour, colours.LIGHT_PAGES)
        if ratio < colours.AA:
            darker = colours.readable_shade(colour, colours.LIGHT_PAGES, "#000000")
            raise ValidationError(
                f"{colour} is too light for links and text on your gallery’s white pages: its contrast is "
                f"{ratio:.1f}:1 where WCAG AA asks for 4.5:1. A darker shade such as {darker} reaches it.",
                code="contrast",
            )
        return colour

    def clean_website(self):
        website = self.cleaned_data["website"].strip()
        if website and "://" not in website:
            website = f"https://{website}"
        if website:
            URLValidator(schemes=["https"], message="Enter an https:// address, e.g. https://lenahart.com.")(website)
        return website

    def clean_instagram(self):
        handle = self.cleaned_data["instagram"].strip()
        handle = re.sub(r"^(https?://)?(www\.)?instagram\.com/", "", handle, flags=re.IGNORECASE)
        handle = handle.split("?")[0].strip("/").removeprefix("@")
        if handle and not re.fullmatch(r"(?!\.)(?!.*\.\.)[A-Za-z0-9._]{1,30}(?<!\.)", handle):
            raise ValidationError(
                "Enter your Instagram handle: up to 30 letters, digits, dots and underscores, e.g. @lenahart.",
                code="invalid",
            )
        return handle.lower()

    def clean_contact_email(self):
        address = self.cleaned_data["contact_email"].strip()
        if address:
            validate_mail_address(address)
        return address

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        if "logo" in self.data and "logo" not in self.files:
            raise ValidationError("Send the logo as a file in a multipart form.", code="not_a_file")
        if not upload:
            return None
        if upload.size > self.LOGO_MAX_BYTES:
            raise ValidationError("This file is larger than 10 MB: export the logo smaller.", code="too_large")
        try:
            return make_logo(upload)
        except ImageRejected as rejected:
            raise ValidationError(str(rejected), code="image") from None

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("logo") and cleaned_data.get("logo_clear"):
            self.add_error("logo_clear", "Upload a new logo or remove it, not both.")
        return cleaned_data

    def save(self):
        """Store a new logo first (it may raise one of galleries.storage.STORAGE_ERRORS, and then
        nothing is saved), then the row; the replaced logo is deleted once that commits."""
        user = super().save(commit=False)
        logo = self.cleaned_data.get("logo")
        if logo:
            key = f"brands/{user.pk}/logo-{secrets.token_hex(8)}.png"
            try:
                user.logo_key = default_storage.save(key, ContentFile(logo.data))
            except STORAGE_ERRORS as error:
                # A write that timed out may still land (a hung S3 catches up later): delete it
                # once storage answers again, rather than wait for it now.
                PendingDeletion.objects.remember({key: str(error) or type(error).__name__})
                raise
            user.logo_width, user.logo_height = logo.width, logo.height
        elif self.cleaned_data.get("logo_clear"):
            user.logo_key, user.logo_width, user.logo_height = "", None, None
        try:
            with transaction.atomic():
                user.save(update_fields=[*self.Meta.fields, "logo_key", "logo_width", "logo_height"])
                if user.watermark_version != self.old_watermark_version:
                    after_watermark_change(user)
                if self.old_logo_key and self.old_logo_key != user.logo_key:
                    old_key = self.old_logo_key
                    transaction.on_commit(lambda: delete_storage_objects.enqueue([old_key]), robust=True)
        except Exception:
            if logo:
                transaction.on_commit(lambda: delete_storage_objects.enqueue([user.logo_key]), robust=True)
            raise
        return user


class WatermarkForm(forms.ModelForm):
    """The watermark that share links with `watermark` on burn into what clients see: an image
    (re-encoded by galleries.images.make_watermark_image and stored with the photos), else a text.
    A field the request leaves out keeps its value, a post without a new image keeps the current
    one; one sent empty is cleared."""

    IMAGE_MAX_BYTES = 2 * 1024 * 1024

    watermark_image = forms.FileField(
        label="Watermark image",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
        help_text="A PNG with a transparent background (or a JPEG), up to 2 MB. Shown instead of the text.",
    )
    watermark_image_clear = forms.BooleanField(label="Remove the image and use the text", required=False)

    class Meta:
        model = User
        fields = ["watermark_text", "watermark_position", "watermark_opacity", "watermark_scale"]
        labels = {
            "watermark_text": "Text",
            "watermark_position": "Position",
            "watermark_opacity": "Opacity (%)",
            "watermark_scale": "Size (% of the photo’s shorter side)",
        }
        widgets = {
            "watermark_position": forms.RadioSelect,
            "watermark_opacity": forms.NumberInput(attrs={"type": "range", "min": 5, "max": 100, "step": 1}),
            "watermark_scale": forms.NumberInput(attrs={"type": "range", "min": 5, "max": 100, "step": 1}),
        }

    def __init__(self, data=None, files=None, *args, **kwargs):
        super().__init__(data, files, *args, **kwargs)
        self.old_image_key = self.instance.watermark_image_key
        self.old_version = self.instance.watermark_version
        self.fields[
            "watermark_text"
        ].help_text = f"Drawn in your brand’s display font. Empty: your name as clients see it, “{self.instance.name}”."
        self.fields["watermark_text"].widget.attrs["placeholder"] = self.instance.name
        self.fields["watermark_position"].error_messages["invalid_choice"] = (
            f"Choose one of {', '.join(WatermarkPosition.values)}."
        )
        for name in ("watermark_opacity", "watermark_scale"):
            self.fields[name].error_messages.update(
                min_value="Choose a percentage from 5 to 100.", max_value="Choose a percentage from 5 to 100."
            )
        if data is not None:
            self.data = data.copy()
            for name in self.Meta.fields:
                if name not in data:
                    self.data[name] = getattr(self.instance, name)

    def clean_watermark_image(self):
        upload = self.cleaned_data.get("watermark_image")
        if self.data.get("watermark_image") and "watermark_image" not in self.files:
            raise ValidationError("Send the watermark image as a file in a multipart form.", code="not_a_file")
        if not upload:
            return None
        if upload.size > self.IMAGE_MAX_BYTES:
            raise ValidationError(
                f"This file is {upload.size / 1024 / 1024:.1f} MB; a watermark image may be at most 2 MB. "
                "Export it smaller (a PNG of about 2000 pixels is plenty).",
                code="too_large",
            )
        try:
            return make_watermark_image(upload)
        except ImageRejected as rejected:
            raise ValidationError(str(rejected), code="image") from None

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("watermark_image") and cleaned_data.get("watermark_image_clear"):
            self.add_error("watermark_image_clear", "Upload a new image or remove it, not both.")
        return cleaned_data

    def save(self):
        """Store a new image first (it may raise one of galleries.storage.STORAGE_ERRORS, and then
        nothing is saved), then the row; the replaced image, and every watermarked copy of the
        old watermark, are deleted once that commits."""
        user = super().save(commit=False)
        image = self.cleaned_data.get("watermark_image")
        if image:
            key = f"brands/{user.pk}/watermark-{secrets.token_hex(8)}.png"
            try:
                user.watermark_image_key = default_storage.save(key, ContentFile(image))
            except STORAGE_ERRORS as error:
                PendingDeletion.objects.remember({key: str(error) or type(error).__name__})
                raise
        elif self.cleaned_data.get("watermark_image_clear"):
            user.watermark_image_key = ""
        try:
            with transaction.atomic():
                user.save(update_fields=[*self.Meta.fields, "watermark_image_key"])
                if user.watermark_version != self.old_version:
                    after_watermark_change(user)
                if self.old_image_key and self.old_image_key != user.watermark_image_key:
                    old_key = self.old_image_key
                    transaction.on_commit(lambda: delete_storage_objects.enqueue([old_key]), robust=True)
        except Exception:
            if image:
                transaction.on_commit(lambda: delete_storage_objects.enqueue([user.watermark_image_key]), robust=True)
            raise
        return user
