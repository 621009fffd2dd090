import copy
import re
import zoneinfo
from datetime import datetime, time, timedelta

from django import forms
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts import throttling
from accounts.mail import is_unsubscribed
from accounts.models import User, refuse_control_characters, validate_mail_address
from sharing import extensions
from sharing.models import Invitation, LinkDefaults, LinkVisitor, ShareLink
from sharing.tasks import seal_password, send_invitation

EXPIRY_FIELDS = ["expires_in_days", "expires_at"]
# Far enough for any gallery; beyond the year 9999 in UTC a stored time can no longer be read back.
LONGEST_EXPIRY = timedelta(days=100 * 365)


class SwitchInput(forms.CheckboxInput):
    """A checkbox, which a script may also post as 0, off or no: Django would read those as on,
    and leave open a link the script meant to pause.

    On the page it comes after a hidden `false` of the same name, so that a browser posts the
    box unticked too (the last value wins): a setting a post leaves out is then one it did not
    name, which a new link takes from the photographer's defaults."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html('<input type="hidden" name="{}" value="false">', name) + super().render(
            name, value, attrs, renderer
        )

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if isinstance(value, str) and value.strip().lower() in ("0", "off", "no"):
            return False
        return super().value_from_datadict(data, files, name)


class DaysField(forms.TypedChoiceField):
    """A number of days: the page offers presets, a script may send any from 1 to 100 years'."""

    def valid_value(self, value):
        return (str(value).isdigit() and 1 <= int(value) <= LONGEST_EXPIRY.days) or super().valid_value(value)


class ShareLinkForm(forms.ModelForm):
    """A share link's settings: when it stops working, its label, password and download rules,
    and the settings other apps add to every link (sharing.extensions).

    Expiry: never, after a preset number of days, or at a given time. A date alone means
    midnight at the start of that day; times are in the site's time zone unless they carry an
    offset. A time that does not exist (a DST gap) or is ambiguous (a DST overlap) is refused by
    Django's DateTimeField.

    A script's JSON body (`partial`) changes only what it names: the rest keeps its value (a new
    link's defaults: active, both downloads allowed, originals), and its checkboxes say true or
    false. A form post is the whole form, where a browser leaves an unticked checkbox out: a
    missing checkbox is off. Except the expiry form (and a create form of old), which carries none
    of the settings and changes only the expiry.
    """

    expires_in_days = DaysField(
        label="Expires",
        choices=[("", "Never, or on a date"), (7, "In 7 days"), (30, "In 30 days"), (90, "In 90 days")],
        coerce=int,
        empty_value=None,
        required=False,
    )
    expires_at = forms.DateTimeField(
        label="Expires on",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty for a link that never expires.",
    )
    password = forms.CharField(
        label="Password",
        required=False,
        min_length=6,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Optional, at least 6 characters. Clients type it once per browser, for 24 hours.",
    )
    password_clear = forms.BooleanField(label="Remove the password", required=False, widget=SwitchInput)
    download_pin = forms.RegexField(
        label="Download PIN",
        regex=r"^[0-9]{4,8}$",
        required=False,
        strip=True,
        error_messages={"invalid": "A PIN is 4 to 8 digits."},
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric", "pattern": "[0-9]{4,8}"}),
        help_text="Optional, 4 to 8 digits: clients may look at the photos, and type it to download them.",
    )
    download_pin_clear = forms.BooleanField(label="Remove the download PIN", required=False, widget=SwitchInput)

    class Meta:
        model = ShareLink
        fields = [
            "label",
            "expires_at",
            "is_active",
            "allow_zip",
            "allow_single",
            "download_size",
            "watermark",
            "strip_location",
            "remind_days",
            "require_email",
        ]
        labels = {
            "label": "Label",
            "is_active": "Link is active (untick to pause it)",
            "allow_zip": "Allow “Download all” (ZIP)",
            "allow_single": "Allow downloading single photos",
            "download_size": "Downloads",
            "watermark": "Watermark",
            "strip_location": "Remove location from downloads",
            "remind_days": "Remind before expiry (days)",
            "require_email": "Ask visitors for their e-mail address",
        }
        help_texts = {
            "label": "For you, e.g. “Parents” or “Planner”; clients don’t see it.",
            "remind_days": (
                "E-mail the people you sent the link to this many days before it expires; 0 for no reminder."
            ),
            "download_size": (
                "Full-size JPEG: JPEG photos as they are, HEIC, PNG, TIFF and WebP converted, for computers "
                "that cannot open them."
            ),
            "strip_location": "GPS, the camera owner’s name and serial numbers. Your own downloads keep them.",
            "require_email": "Before they see anything; you see who viewed and downloaded what.",
        }
        widgets = {
            "label": forms.TextInput(attrs={"placeholder": "e.g. Parents"}),
            "is_active": SwitchInput,
            "allow_zip": SwitchInput,
            "allow_single": SwitchInput,
            "watermark": SwitchInput,
            "strip_location": SwitchInput,
            "require_email": SwitchInput,
        }

    field_order = [
        "label",
        "expires_in_days",
        "expires_at",
        "remind_days",
        "password",
        "password_clear",
        "is_active",
        "allow_zip",
        "allow_single",
        "download_size",
        "strip_location",
        "watermark",
        "download_pin",
        "download_pin_clear",
        "require_email",
    ]

    def __init__(self, data=None, *args, partial=False, defaults=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        # Other apps' settings come after the link's own.
        self.parts = [(extension, extension.settings_fields()) for extension in extensions.EXTENSIONS]
        for extension, fields in self.parts:
            self.fields.update(fields)
            self.initial.update(extension.settings(self.instance))
        # A new link starts from the photographer's defaults (LinkDefaults) in all it leaves out.
        self.is_new = self.instance._state.adding
        self.default_expiry_days = None
        if self.is_new and defaults is not None:
            self.initial.update({name: value for name, value in defaults.items() if name in self.fields})
            self.default_expiry_days = defaults["expiry_days"]
            self.initial["expires_in_days"] = defaults["expiry_days"] or None
            days, preset = defaults["expiry_days"], self.fields["expires_in_days"]
            if days and days not in dict(preset.choices):
                plural = "s" if days != 1 else ""
                preset.choices = [preset.choices[0], *sorted([*preset.choices[1:], (days, f"In {days} day{plural}")])]
        checkboxes = [name for name, field in self.fields.items() if isinstance(field, forms.BooleanField)]
        # Browsers post any value for a ticked box; scripts must say true or false.
        self.json_checkboxes = {name: data[name] for name in checkboxes if name in data} if partial else {}
        if data is not None:
            settings = [name for name in self.fields if name not in EXPIRY_FIELDS]
            keeps_the_rest = partial or self.is_new or not any(name in data for name in settings)
            self.data = self._with_missing_fields_kept(data, settings, [] if keeps_the_rest else checkboxes)
        self.fields["watermark"].help_text = format_html(
            'Your <a href="{}">watermark</a> in every thumbnail, full-screen view, web-size and JPEG '
            "download and ZIP of this link. <strong>Originals are delivered clean</strong>: choose "
            "“Web size” downloads for watermarked ones.",
            reverse("accounts:watermark"),
        )
        if self.instance.has_password:
            self.fields["password"].help_text = "This link has a password. Leave empty to keep it."
        if self.instance.has_download_pin:
            self.fields["download_pin"].help_text = "Downloads need a PIN. Leave empty to keep it."

    def _with_missing_fields_kept(self, data, settings, off_when_missing):
        data = data.copy()
        if not any(name in data for name in EXPIRY_FIELDS):
            if self.default_expiry_days:
                data.setlist("expires_in_days", [str(self.default_expiry_days)])
            else:
                expires_at = self.instance.expires_at
                data.setlist("expires_at", [expires_at.isoformat()] if expires_at else [""])
        for name in settings:  # self.initial: the link's values, its own and other apps'
            if name in data or name in off_when_missing or self.initial.get(name) is None:
                continue
            data.setlist(name, [as_posted(self.initial[name])])
        return data

    def extension_fieldsets(self):
        """[(legend, its bound fields)] of the settings other apps add, for the template."""
        return [(extension.name, [self[name] for name in fields]) for extension, fields in self.parts]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at and expires_at != self.instance.expires_at and expires_at <= timezone.now():
            raise forms.ValidationError("Choose a time in the future. To end a link now, revoke or pause it.")
        if expires_at and expires_at > timezone.now() + LONGEST_EXPIRY:
            raise forms.ValidationError("Choose a time within 100 years, or none for a link that never expires.")
        return expires_at

    def clean(self):
        cleaned_data = super().clean()
        days = cleaned_data.get("expires_in_days")
        if days:
            if cleaned_data.get("expires_at") and "expires_at" in self.changed_data:
                self.add_error("expires_in_days", "Choose a preset or a date, not both.")
            else:
                cleaned_data["expires_at"] = end_of_day(days, self.instance.gallery.owner.time_zone)
        for name, value in self.json_checkboxes.items():
            if value not in ("true", "false"):
                self.add_error(name, "Use true or false.")
        if cleaned_data.get("password") and cleaned_data.get("password_clear"):
            self.add_error("password", "Set a new password or remove it, not both.")
        if cleaned_data.get("download_pin") and cleaned_data.get("download_pin_clear"):
            self.add_error("download_pin", "Set a new PIN or remove it, not both.")
        return cleaned_data

    def save(self, commit=True):
        link = super().save(commit=False)
        if self.cleaned_data.get("password_clear"):
            link.set_password(None)
        elif self.cleaned_data.get("password"):
            link.set_password(self.cleaned_data["password"])
        if self.cleaned_data.get("download_pin_clear"):
            link.set_download_pin(None)
        elif self.cleaned_data.get("download_pin"):
            link.set_download_pin(self.cleaned_data["download_pin"])
        if commit:
            # All or nothing: a link whose other settings fail to save must not be left open.
            with transaction.atomic():
                link.save()
                for extension, fields in self.parts:
                    extension.save_settings(link, {name: self.cleaned_data[name] for name in fields})
        return link


def as_posted(value):
    """A setting's value as a form posts it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def end_of_day(days, time_zone):
    """23:59 of the day `days` from today, in the photographer's time zone (an IANA name): "in 30
    days" lasts to the end of that day where they are, whatever its offset then (daylight saving
    time may have begun or ended in between)."""
    zone = zoneinfo.ZoneInfo(time_zone)
    day = timezone.localdate(timezone=zone) + timedelta(days=days)
    return datetime.combine(day, time(23, 59), tzinfo=zone)


# The settings of a link that a photographer gives a default for new links (LinkDefaults), by
# their name in the link's form; "expiry_days" is the expiry, a number of days (0: never).
LINK_DEFAULTS = [
    "allow_zip",
    "allow_single",
    "download_size",
    "watermark",
    "favourites",
    "favourites_limit",
    "remind_days",
]


class LinkDefaultsForm(forms.Form):
    """`default_<setting>` for each of LINK_DEFAULTS, with the same rules as the link's own field,
    and `default_expiry_days`. A script's JSON body (`partial`) changes only what it names."""

    default_expiry_days = forms.IntegerField(
        label="Links expire after (days)",
        min_value=0,
        max_value=LONGEST_EXPIRY.days,
        help_text="At 23:59 of that day, in your time zone. 0 for links that never expire.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, data=None, *, photographer, partial=False, **kwargs):
        self.photographer = photographer
        current = LinkDefaults.of(photographer)
        super().__init__(data, initial={f"default_{name}": value for name, value in current.items()}, **kwargs)
        link_fields = ShareLinkForm().fields
        link_model_fields = {field.name for field in ShareLink._meta.fields}
        for name in LINK_DEFAULTS:
            field = copy.deepcopy(link_fields[name])
            field.help_text = ""
            if name in link_model_fields:  # a link checks these when it is saved (full_clean)
                field.validators = [*field.validators, *ShareLink._meta.get_field(name).validators]
            self.fields[f"default_{name}"] = field
        self.fields["default_favourites_limit"].label = "Most favourites per person (empty: no limit)"
        self.fields["default_remind_days"].label = "Remind clients before expiry (days, 0: no reminder)"
        self.fields["default_watermark"].label = "Watermark (your watermark in what clients see; originals stay clean)"
        checkboxes = [name for name, field in self.fields.items() if isinstance(field, forms.BooleanField)]
        self.json_checkboxes = {name: data[name] for name in checkboxes if name in data} if partial else {}
        if data is not None and partial:
            self.data = data.copy()
            for name, value in self.initial.items():
                if name not in data:
                    self.data[name] = as_posted(value)

    def clean(self):
        cleaned_data = super().clean()
        for name, value in self.json_checkboxes.items():
            if value not in ("true", "false"):
                self.add_error(name, "Use true or false.")
        return cleaned_data

    def save(self):
        values = {name.removeprefix("default_"): value for name, value in self.cleaned_data.items()}
        LinkDefaults.objects.update_or_create(photographer=self.photographer, defaults={"values": values})
        return values


class SendLinkForm(forms.Form):
    """E-mail a share link to up to MAX_RECIPIENTS people, with a message. All or nothing: one
    address that is not one, or a day's limit that would be passed, and nobody is sent anything.
    Addresses that unsubscribed from this photographer's mails are left out (and named)."""

    MAX_RECIPIENTS = 20

    emails = forms.CharField(
        label="Send to",
        max_length=5000,
        widget=forms.Textarea(
            attrs={"rows": 3, "autocomplete": "off", "placeholder": "anna@example.com, ben@example.com"}
        ),
        help_text=(
            f"Up to {MAX_RECIPIENTS} e-mail addresses, separated by commas or new lines. Each gets their own e-mail."
        ),
    )
    message = forms.CharField(
        label="Message",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional. Shown above the link.",
    )
    password = forms.CharField(
        label="The link’s password, to put in the e-mail",
        required=False,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text="Optional. Type the password again and each e-mail carries it; leave empty to tell them yourself.",
    )

    def __init__(self, data=None, *, link, **kwargs):
        super().__init__(data, **kwargs)
        self.link = link
        self.unsubscribed = []
        self.limited = None  # RateLimited, when too many wrong passwords were typed

    def check_password(self, password):
        """The link's password typed again, checked against its hash (only the hash is stored),
        within RATE_LIMITS["send-link-password"]. Raises a ValidationError for the password field."""
        if not self.link.has_password:
            raise forms.ValidationError("This link has no password. Nothing was sent.")
        try:
            attempt = throttling.consume("send-link-password", account=self.link.gallery.owner_id, link=self.link.pk)
        except throttling.RateLimited as limited:
            self.limited = limited
            raise forms.ValidationError(str(limited)) from None
        if not self.link.check_password(password):
            raise forms.ValidationError("That is not this link’s password. Nothing was sent.")
        attempt.take_back()  # only wrong passwords count

    def clean_emails(self):
        # A form posts one text; a script may post a JSON list, which arrives as several values.
        text = "\n".join(self.data.getlist("emails")) if hasattr(self.data, "getlist") else self.cleaned_data["emails"]
        addresses = [part.strip() for part in re.split(r"[,\r\n]+", text) if part.strip()]
        problems = {address: address_problem(address) for address in addresses}
        invalid = [address for address, problem in problems.items() if problem == "invalid"]
        if invalid:
            raise forms.ValidationError(
                "Not e-mail addresses: %(invalid)s. Nothing was sent.", params={"invalid": ", ".join(invalid)}
            )
        local = [address for address, problem in problems.items() if problem == "not_internet"]
        if local:
            raise forms.ValidationError(
                "Mail goes only to addresses on an internet domain, not to %(local)s (localhost, an IP address "
                "or a name without a dot). Nothing was sent.",
                params={"local": ", ".join(local)},
            )
        unique = list(dict.fromkeys(User.objects.normalize_email(address) for address in addresses))
        if not unique:
            raise forms.ValidationError("Enter at least one e-mail address.")
        if len(unique) > self.MAX_RECIPIENTS:
            raise forms.ValidationError(
                f"At most {self.MAX_RECIPIENTS} addresses at a time ({len(unique)} given). Nothing was sent."
            )
        return unique

    def clean(self):
        cleaned_data = super().clean()
        if self.link.status != "active":
            raise forms.ValidationError(
                f"This link is {self.link.status}: clients could not open it. Nothing was sent."
            )
        if self.errors or "emails" not in cleaned_data:
            return cleaned_data
        # Checked once everything else is right: a form that fails anyway tells nothing about it.
        if cleaned_data["password"]:
            try:
                self.check_password(cleaned_data["password"])
            except forms.ValidationError as error:
                self.add_error("password", error)
                return cleaned_data
        photographer = self.link.gallery.owner
        self.unsubscribed = [address for address in cleaned_data["emails"] if is_unsubscribed(photographer, address)]
        self.recipients = [address for address in cleaned_data["emails"] if address not in self.unsubscribed]
        # Counted last, once everything else is right: a refused form counts nothing.
        if self.recipients:
            try:
                throttling.consume("mail-recipients", count=len(self.recipients), photographer=photographer.pk)
            except throttling.RateLimited as limited:
                raise forms.ValidationError(str(limited)) from None
        return cleaned_data

    def save(self):
        """Record who the link goes to and queue one e-mail each. Returns the Invitations."""
        message = self.cleaned_data["message"]
        invitations = Invitation.objects.bulk_create(
            [Invitation(link=self.link, email=address, message=message) for address in self.recipients]
        )
        password = self.cleaned_data["password"]
        for invitation in invitations:
            # Only sealed for the mail: the queued task must not hold the password readable.
            send_invitation.enqueue(invitation.pk, seal_password(password, invitation.pk) if password else "")
        return invitations


def address_problem(address):
    """None for an address mail may go to, else why not: "invalid" or "not_internet"."""
    try:
        validate_mail_address(address)
    except forms.ValidationError as error:
        return "not_internet" if error.code == "not_internet" else "invalid"
    return None


class RegistrationForm(forms.Form):
    """Who opens a link that asks for an e-mail address: the address (as typed; nobody confirms
    it) and, if they like, a name."""

    email = forms.EmailField(
        label="Your e-mail address",
        max_length=254,
        validators=[validate_mail_address],
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    name = forms.CharField(
        label="Your name",
        max_length=100,
        required=False,
        validators=[refuse_control_characters],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    def save(self, link):
        """The link's visitor with this address (the same one when they come back on another
        device). Nobody confirmed the address, so a name given now never replaces one given
        before: whoever types someone's address cannot rename them."""
        email = User.objects.normalize_email(self.cleaned_data["email"])
        visitor, _ = LinkVisitor.objects.get_or_create(link=link, email=email)
        if self.cleaned_data["name"] and not visitor.name:
            LinkVisitor.objects.filter(pk=visitor.pk, name="").update(name=self.cleaned_data["name"])
        return visitor

    def as_typed(self, visitor):
        """Who this browser said it is: `visitor`'s id with the name typed here (never the one
        stored, which may be someone else's), for its cookie, its answer and its activity."""
        return LinkVisitor(id=visitor.id, email=visitor.email, name=self.cleaned_data["name"])
