from django.urls import path

from favourites.views import manage, public

app_name = "favourites"
urlpatterns = [
    # Clients, through a share link
    path("s/<uuid:share_id>/favourites/", public.favourite_list, name="favourite_list"),
    path("s/<uuid:share_id>/favourites/photos/<uuid:photo_id>/", public.favourite_add, name="favourite_add"),
    path(
        "s/<uuid:share_id>/favourites/photos/<uuid:photo_id>/delete/", public.favourite_remove, name="favourite_remove"
    ),
    path(
        "s/<uuid:share_id>/favourites/photos/<uuid:photo_id>/comment/",
        public.favourite_comment,
        name="favourite_comment",
    ),
    path("s/<uuid:share_id>/favourites/submit/", public.favourite_submit, name="favourite_submit"),
    path("s/<uuid:share_id>/favourites/zip/", public.favourite_zip, name="favourite_zip"),
    path("s/<uuid:share_id>/favourites/resume/<str:token>/", public.resume, name="resume"),
    # The photographer
    path("galleries/<uuid:gallery_id>/favourites/", manage.gallery_favourites, name="gallery_favourites"),
    path("galleries/<uuid:gallery_id>/favourites/favourites.csv", manage.favourites_csv, name="favourites_csv"),
    path(
        "galleries/<uuid:gallery_id>/favourites/filenames.txt", manage.favourites_filenames, name="favourites_filenames"
    ),
    path("galleries/<uuid:gallery_id>/favourites/zip/", manage.favourites_zip, name="favourites_zip"),
    path("galleries/<uuid:gallery_id>/favourites/<uuid:list_id>/reopen/", manage.list_reopen, name="list_reopen"),
    path("galleries/<uuid:gallery_id>/favourites/<uuid:list_id>/close/", manage.list_close, name="list_close"),
    path("galleries/<uuid:gallery_id>/favourites/<uuid:list_id>/delete/", manage.list_delete, name="list_delete"),
]
