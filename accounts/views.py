import logging

from axes.helpers import get_cool_off
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts import mail
from accounts.forms import LoginForm, PasswordResetForm, ProfileForm, SignupForm
from accounts.throttling import RateLimited, client_network
from viewport.http import login_required, too_many_requests

logger = logging.getLogger(__name__)


def home(request):
    if request.user.is_authenticated:
        return redirect("galleries:gallery_list")
    return render(request, "home.html")


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("galleries:gallery_list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save_for(client_network(request))
        except RateLimited as limited:
            return too_many_requests(request, limited, "accounts/signup.html", {"form": form})
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Viewport! Create your first gallery to get started.")
        return redirect("galleries:gallery_list")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your profile has been saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset(request):
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return RedirectThenSend(reverse("accounts:password_reset_done"), form.save(client=client_network(request)))
    return render(request, "registration/password_reset_form.html", {"form": form})


class RedirectThenSend(HttpResponseRedirect):
    """A redirect that sends its e-mails once it has been delivered: the WSGI server calls
    close() after the last byte. A slow mail server then shows in no answer's timing."""

    def __init__(self, url, mails):
        super().__init__(url)
        self.mails = mails

    def close(self):
        super().close()
        for message in self.mails:
            try:
                message.send()
            except Exception:
                logger.exception("Could not send an e-mail to %s", message.to)


# RFC 8058's one-click unsubscribe is a POST from the mail client, which has no CSRF token: the
# signed token in the URL is what proves the request, and all it can do is stop mails.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """A client stops one photographer's e-mails: a page with a button (GET), or done (POST)."""
    found = mail.read_unsubscribe_token(token)
    context = {"valid": found is not None, "photographer": found and found[0], "address": found and found[1]}
    if request.method == "POST" and found:
        mail.unsubscribe(*found)
        context["done"] = True
    status = 200 if found else 400 if request.method == "POST" else 404
    return render(request, "accounts/unsubscribe.html", context, status=status)


def login_locked_out(request, response, credentials):
    """django-axes' answer once an account or an address has failed to log in too often."""
    minutes = max(1, round(get_cool_off(request).total_seconds() / 60))
    limited = RateLimited("login", retry_after=minutes * 60)
    return too_many_requests(request, limited, "429_locked_out.html", {"cooloff_minutes": minutes})
