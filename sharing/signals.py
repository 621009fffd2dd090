from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from galleries.copies import Kind
from galleries.models import Photo
from galleries.tasks import prepare_copies
from sharing.models import ShareLink


# A link that hands out full-size JPEGs gets them made by the task worker as soon as it does, and
# for each photo uploaded to its gallery after, so that clients rarely wait for one.
@receiver(post_save, sender=ShareLink)
def make_jpeg_copies_for_link(sender, instance, **kwargs):
    if instance.download_size == Kind.JPEG:
        photos = instance.gallery.photos.without_copy(Kind.JPEG)
        _enqueue(list(photos.values_list("pk", flat=True)))


@receiver(post_save, sender=Photo)
def make_jpeg_copy_for_upload(sender, instance, created, **kwargs):
    if created and instance.content_type != "image/jpeg":
        if ShareLink.objects.filter(gallery_id=instance.gallery_id, download_size=Kind.JPEG).exists():
            _enqueue([instance.pk])


def _enqueue(photo_ids):
    if photo_ids:
        ids = [str(pk) for pk in photo_ids]
        transaction.on_commit(lambda: prepare_copies.enqueue(ids, Kind.JPEG), robust=True)
