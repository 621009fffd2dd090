from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


class LoginView(auth_views.LoginView):
    pass


def signup(request):
    return HttpResponse("TODO")


@login_required
def profile(request):
    return HttpResponse("TODO")


def login_locked_out(request, response, credentials):
    return HttpResponse("Too many failed attempts", status=429)
