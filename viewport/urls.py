from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from accounts import views as accounts_views
from galleries.views import healthz, metrics

urlpatterns = [
    path("", accounts_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("unsubscribe/<str:token>/", accounts_views.unsubscribe, name="unsubscribe"),
    path("galleries/", include("galleries.urls")),
    path("", include("sharing.urls")),
    path("", include("favourites.urls")),
    path("healthz/", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("robots.txt", TemplateView.as_view(template_name="robots.txt", content_type="text/plain"), name="robots"),
    path("admin/", admin.site.urls),
]

handler400 = "viewport.http.bad_request"
handler404 = "viewport.http.page_not_found"
