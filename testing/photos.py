"""Image files made on the fly, so tests need none on disk: photos, and hostile ones."""

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(width=600, height=400, format="JPEG", orientation=None, color=(200, 80, 40), mode="RGB", **save_args):
    """Encoded image bytes.

    With `orientation`, the EXIF Orientation tag is written; the pixels are drawn so that the
    picture is upright only once that orientation is applied (a red top-left corner).
    """
    image = Image.new(mode, (width, height), color)
    if mode == "RGB":
        image.paste((255, 0, 0), (0, 0, width // 4, height // 4))
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        save_args["exif"] = exif
    buffer = io.BytesIO()
    image.save(buffer, format, **save_args)
    return buffer.getvalue()


def jpeg_upload(name="IMG_0001.jpg", content_type="image/jpeg", **kwargs):
    """An uploaded JPEG as a view receives it; `kwargs` go to image_bytes()."""
    return SimpleUploadedFile(name, image_bytes(**kwargs), content_type=content_type)


def upload_of(path):
    """An uploaded JPEG with the bytes and name of a file on disk."""
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/jpeg")


def png_bomb(width=20_000, height=20_000):
    """A 100-byte, valid PNG whose header announces 400 megapixels: a decompression bomb."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def jpeg_bomb(width=30_000, height=30_000):
    """A small JPEG whose frame header claims 900 megapixels (the SOF0 size fields patched)."""
    data = bytearray(image_bytes(16, 16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)
