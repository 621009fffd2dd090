from datetime import timedelta

from django import forms
from django.utils import timezone

from sharing.models import ShareLink


class ShareLinkForm(forms.ModelForm):
    """When a share link stops working: never, after a preset number of days, or at a given time.

    A date alone means midnight at the start of that day; times are in the site's time zone
    unless they carry an offset. A time that does not exist (a DST gap) or is ambiguous (a DST
    overlap) is refused by Django's DateTimeField.
    """

    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        choices=[("", "Never, or on the date below"), (7, "In 7 days"), (30, "In 30 days"), (90, "In 90 days")],
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

    class Meta:
        model = ShareLink
        fields = ["expires_at"]

    field_order = ["expires_in_days", "expires_at"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at and expires_at <= timezone.now():
            raise forms.ValidationError("Choose a time in the future. To end a link now, revoke it.")
        return expires_at

    def clean(self):
        cleaned_data = super().clean()
        days = cleaned_data.get("expires_in_days")
        if days:
            if cleaned_data.get("expires_at"):
                self.add_error("expires_in_days", "Choose a preset or a date, not both.")
            else:
                cleaned_data["expires_at"] = timezone.now() + timedelta(days=days)
        return cleaned_data
