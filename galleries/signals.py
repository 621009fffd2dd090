from django.conf import settings
from django.db import transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from galleries.models import Gallery, Photo
from galleries.tasks import delete_storage_objects, discard_stale_watermarks


# Rows go with database cascades (ON DELETE CASCADE), which send no signals for the photos they
# take along, so the keys are collected here from whatever is being deleted: a user, a gallery
# or photos, whether from a view, a QuerySet or the admin. The objects are deleted only once the
# transaction commits, so a rollback never loses a photo's bytes.
@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
@receiver(pre_delete, sender=Gallery)
@receiver(pre_delete, sender=Photo)
def delete_storage_objects_on_commit(sender, instance, **kwargs):
    if sender is Photo:
        keys = instance.storage_keys
    elif sender is Gallery:
        keys = instance.photos.object_keys()
    else:
        keys = [
            *Photo.objects.filter(gallery__owner=instance).object_keys(),
            *filter(None, [instance.logo_key, instance.watermark_image_key]),
        ]
    if keys:
        transaction.on_commit(lambda: delete_storage_objects.enqueue(keys), robust=True)
    # Watermarked renditions are found by listing (galleries/watermarks.py), once the rows are gone.
    if sender is Photo:
        watermarked = [(str(instance.gallery_id), str(instance.pk))]
    else:
        galleries = [instance] if sender is Gallery else Gallery.objects.filter(owner=instance)
        watermarked = [(str(gallery.pk), None) for gallery in galleries]
    for gallery_id, photo_id in watermarked:
        transaction.on_commit(lambda g=gallery_id, p=photo_id: discard_stale_watermarks.enqueue(g, p), robust=True)
