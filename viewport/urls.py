from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from galleries.views import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="galleries:gallery_list"), name="home"),
    path("accounts/", include("accounts.urls")),
    path("galleries/", include("galleries.urls")),
    path("", include("sharing.urls")),
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
