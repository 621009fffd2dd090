from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("TODO", status=501)


share_link_create = share_link_list = share_link_update = share_link_delete = _todo
public_gallery = zip_download = public_photo = public_thumbnail = public_preview = photo_download = _todo
