from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm
from django.core.exceptions import ValidationError

from accounts.models import User


def login_attempt_email(request, credentials=None):
    """The email a login attempt is for, as django-axes should count it (lower-cased)."""
    data = credentials or request.POST
    return (data.get("username") or data.get("email") or "").strip().lower()


class UniqueEmailMixin:
    """Store the email normalised and refuse one already taken in any letter case.

    The database's Lower("email") constraint would refuse it too, but as an IntegrityError.
    """

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError("An account with this email address already exists.", code="unique")
        return email


class SignupForm(UniqueEmailMixin, BaseUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "display_name"]
        labels = {"display_name": "Your name or studio name"}
        help_texts = {"display_name": "Shown to your clients on shared galleries."}
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "email"})}


class ProfileForm(UniqueEmailMixin, forms.ModelForm):
    class Meta(SignupForm.Meta):
        fields = ["display_name", "email"]


class LoginForm(AuthenticationForm):
    """Django's login form with the address posted as `email`; `username` (Django's name) works too."""

    email = forms.EmailField(
        label="Email",
        max_length=255,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
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
