from django.urls import path

from galleries import views

app_name = "galleries"
urlpatterns = [
    path("", views.gallery_list, name="gallery_list"),
    path("<uuid:gallery_id>/", views.gallery_detail, name="gallery_detail"),
    path("<uuid:gallery_id>/sharing/", views.gallery_sharing, name="gallery_sharing"),
    path("<uuid:gallery_id>/settings/", views.gallery_settings, name="gallery_settings"),
    path("<uuid:gallery_id>/rename/", views.gallery_rename, name="gallery_rename"),
    path("<uuid:gallery_id>/delete/", views.gallery_delete, name="gallery_delete"),
    path("<uuid:gallery_id>/cover/", views.gallery_cover, name="gallery_cover"),
    path("<uuid:gallery_id>/sort/", views.gallery_sort, name="gallery_sort"),
    path("<uuid:gallery_id>/presentation/", views.gallery_presentation, name="gallery_presentation"),
    path("<uuid:gallery_id>/sets/", views.set_create, name="set_create"),
    path("<uuid:gallery_id>/sets/order/", views.set_order, name="set_order"),
    path("<uuid:gallery_id>/sets/<uuid:set_id>/", views.set_rename, name="set_rename"),
    path("<uuid:gallery_id>/sets/<uuid:set_id>/delete/", views.set_delete, name="set_delete"),
    path("<uuid:gallery_id>/photos/", views.photo_upload, name="photo_upload"),
    path("<uuid:gallery_id>/uploads/", views.upload_start, name="upload_start"),
    path("<uuid:gallery_id>/uploads/<uuid:upload_id>/", views.upload_status, name="upload_status"),
    path("<uuid:gallery_id>/uploads/<uuid:upload_id>/complete/", views.upload_complete, name="upload_complete"),
    path("<uuid:gallery_id>/uploads/<uuid:upload_id>/dismiss/", views.upload_dismiss, name="upload_dismiss"),
    path("uploads/parts/<str:token>/", views.upload_part, name="upload_part"),
    path("<uuid:gallery_id>/photos/delete/", views.photo_delete, name="photo_delete"),
    path("<uuid:gallery_id>/photos/move/", views.photo_move, name="photo_move"),
    path("<uuid:gallery_id>/photos/order/", views.photo_order, name="photo_order"),
    path("<uuid:gallery_id>/photos/<uuid:photo_id>/thumbnail/", views.photo_thumbnail, name="photo_thumbnail"),
    path("<uuid:gallery_id>/photos/<uuid:photo_id>/preview/", views.photo_preview, name="photo_preview"),
    path("<uuid:gallery_id>/photos/<uuid:photo_id>/download/", views.photo_download, name="photo_download"),
    path("<uuid:gallery_id>/photos/<uuid:photo_id>/<str:name>", views.photo_size, name="photo_size"),
]
