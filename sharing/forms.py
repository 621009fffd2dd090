from django import forms

from sharing.models import ShareLink


class ShareLinkForm(forms.ModelForm):
    expires_at = forms.DateTimeField(required=False)

    class Meta:
        model = ShareLink
        fields = ["expires_at"]
