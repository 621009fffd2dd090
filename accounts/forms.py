from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import throttling
from accounts.mail import compose
from accounts.models import User


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
    class Meta:
        model = User
        fields = ["email", "display_name"]
        labels = {"display_name": "Your name or studio name"}
        help_texts = {"display_name": "Shown to your clients on shared galleries."}
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "email"})}

    def save_for(self, client):
        """The new account, for a client at `client` (throttling.client_network). Raises
        RateLimited, with the reason among the form's errors, past RATE_LIMITS["signup"]."""
        try:
            throttling.consume("signup", network=client)
        except throttling.RateLimited as limited:
            self.add_error(None, str(limited))
            raise
        return self.save()


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

    class Meta(SignupForm.Meta):
        fields = ["display_name", "email", "current_password", "notify_favourites", "notify_daily_digest"]

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
