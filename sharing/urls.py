from django.urls import path

from sharing.views import manage, public

app_name = "sharing"
urlpatterns = [
    path("galleries/<uuid:gallery_id>/share-links/", manage.share_link_create, name="share_link_create"),
    path("galleries/<uuid:gallery_id>/photos/zip/", manage.photos_zip, name="photos_zip"),
    path("accounts/profile/defaults/", manage.link_defaults, name="link_defaults"),
    path("share-links/", manage.share_link_list, name="share_link_list"),
    path("share-links/<uuid:link_id>/", manage.share_link_detail, name="share_link_detail"),
    path("share-links/<uuid:link_id>/stats.csv", manage.share_link_stats_csv, name="share_link_stats_csv"),
    path("share-links/<uuid:link_id>/visitors.csv", manage.share_link_visitors_csv, name="share_link_visitors_csv"),
    path("share-links/<uuid:link_id>/send/", manage.share_link_send, name="share_link_send"),
    path("share-links/<uuid:link_id>/settings/", manage.share_link_update, name="share_link_settings"),
    path("share-links/<uuid:link_id>/expiry/", manage.share_link_update, name="share_link_update"),
    path("share-links/<uuid:link_id>/delete/", manage.share_link_delete, name="share_link_delete"),
    path("s/<uuid:share_id>/", public.public_gallery, name="public_gallery"),
    path("s/<uuid:share_id>/unlock/", public.unlock, name="unlock"),
    path("s/<uuid:share_id>/download-pin/", public.download_pin, name="download_pin"),
    path("s/<uuid:share_id>/register/", public.register, name="register"),
    path("s/<uuid:share_id>/zip/", public.zip_download, name="zip_download"),
    path("s/<uuid:share_id>/sets/<uuid:set_id>/zip/", public.set_zip_download, name="set_zip_download"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/", public.public_photo, name="public_photo"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/thumbnail/", public.public_thumbnail, name="public_thumbnail"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/preview/", public.public_preview, name="public_preview"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/download/", public.photo_download, name="photo_download"),
    path("s/<uuid:share_id>/photos/<uuid:photo_id>/<str:name>", public.public_size, name="public_size"),
]
