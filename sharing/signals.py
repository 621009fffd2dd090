from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from galleries.copies import Kind
from galleries.models import Gallery, Photo
from galleries.tasks import make_watermarked, prepare_copies
from galleries.watermarks import watermark_changed
from sharing.models import ShareLink


# A link that hands out full-size JPEGs gets them made by the task worker as soon as it does, and
# for each photo uploaded to its gallery after, so that clients rarely wait for one.
@receiver(post_save, sender=ShareLink)
def make_jpeg_copies_for_link(sender, instance, **kwargs):
    if instance.download_size == Kind.JPEG and instance.needs_preparing:
        photos = instance.gallery.photos.without_copy(Kind.JPEG)
        _enqueue(list(photos.values_list("pk", flat=True)))


@receiver(post_save, sender=Photo)
def make_jpeg_copy_for_upload(sender, instance, created, **kwargs):
    if created and instance.content_type != "image/jpeg":
        if ShareLink.objects.filter(gallery_id=instance.gallery_id, download_size=Kind.JPEG).exists():
            _enqueue([instance.pk])


# Watermarked renditions are made by the task worker for a gallery when a link starts watermarking
# it, when its photographer's watermark changes, and for each photo uploaded to it after; what a
# client asks for before that is made on demand (galleries/watermarks.py).
@receiver(post_save, sender=ShareLink)
def make_watermarked_for_link(sender, instance, **kwargs):
    if instance.watermark and instance.needs_preparing:
        _make_watermarked(instance.gallery_id)


@receiver(watermark_changed)
def make_watermarked_again(sender, photographer, **kwargs):
    links = ShareLink.objects.filter(gallery__owner=photographer, watermark=True).active()
    for gallery_id in set(links.values_list("gallery_id", flat=True)):
        _make_watermarked(gallery_id)


@receiver(post_save, sender=Photo)
def make_watermarked_for_upload(sender, instance, created, **kwargs):
    if created and ShareLink.objects.filter(gallery_id=instance.gallery_id, watermark=True).exists():
        _make_watermarked(instance.gallery_id, [str(instance.pk)])


def _make_watermarked(gallery_id, photo_ids=None):
    """Queued with the watermark's version (a task of an older one does nothing), and with the
    full-size JPEGs when a link of the gallery hands those out watermarked."""
    gallery_id = str(gallery_id)
    gallery = Gallery.objects.select_related("owner").filter(pk=gallery_id).first()
    version = gallery.owner.watermark_version if gallery else None
    links = ShareLink.objects.filter(gallery_id=gallery_id, watermark=True, download_size=Kind.JPEG)
    full_size = links.active().exists()
    transaction.on_commit(lambda: make_watermarked.enqueue(gallery_id, photo_ids, full_size, version), robust=True)


def _enqueue(photo_ids):
    if photo_ids:
        ids = [str(pk) for pk in photo_ids]
        transaction.on_commit(lambda: prepare_copies.enqueue(ids, Kind.JPEG), robust=True)
