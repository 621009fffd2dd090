from django.urls import path

from sharing import views

app_name = "sharing"
urlpatterns = [
    path("galleries/<uuid:gallery_id>/share-links/", views.share_link_create, name="share_link_create"),
    path("share-links/", views.share_link_list, name="share_link_list"),
    path("share-links/<uuid:link_id>/expiry/", views.share_link_update, name="share_link_update"),
    path("share-links/<uuid:link_id>/delete/", views.share_link_delete, name="share_link_delete"),
    path("s/<uuid:share_id>/", views.public_gallery, name="public_gallery"),
    path("s/<uuid:share_id>/zip/", views.zip_download, name="zip_download"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/", views.public_photo, name="public_photo"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/thumbnail/", views.public_thumbnail, name="public_thumbnail"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/preview/", views.public_preview, name="public_preview"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/download/", views.photo_download, name="photo_download"),
]
