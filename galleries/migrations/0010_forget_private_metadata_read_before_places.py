"""Private metadata read before the written place (XMP and IPTC city, address, country) was
blanked too: forgotten, so that it is read again (galleries/copies.py: prepare(), by the task
worker for ZIPs, within the request for a single download). Converted full-size JPEGs keep the
XMP and IPTC of their originals: their rows go, and they are made again."""

from django.db import migrations


def forget(apps, schema_editor):
    Photo = apps.get_model("galleries", "Photo")
    PhotoCopy = apps.get_model("galleries", "PhotoCopy")
    Photo.objects.exclude(private_metadata=None).update(private_metadata=None, stripped_crc32=None)
    PhotoCopy.objects.filter(kind="jpeg").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("galleries", "0009_watermarked_copies"),
    ]

    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
