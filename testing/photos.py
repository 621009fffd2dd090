"""Image files made on the fly, so tests need none on disk: photos, and hostile ones."""

import io
import os
import struct
import zlib
from functools import cache
from pathlib import Path

import pillow_heif
import pyvips
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin, TiffImagePlugin


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


def camera_jpeg(
    taken,
    make="NIKON CORPORATION",
    model="NIKON Z 6",
    *,
    subseconds=None,
    offset=None,
    jpeg=None,
    width=600,
    height=400,
    color=(200, 80, 40),
):
    """A JPEG as a camera writes it: EXIF Make, Model, DateTimeOriginal (`taken`, naive) and,
    when given, SubSecTimeOriginal and OffsetTimeOriginal ("+02:00").

    With `jpeg` (a real photo's bytes), its own EXIF block is replaced by one with these tags
    added to its tags (its orientation kept) and its pixels are left as they are; else a plain
    picture is made.
    """
    if jpeg is None:
        jpeg = image_bytes(width, height, color=color)
    with Image.open(io.BytesIO(jpeg)) as image:
        exif = image.getexif()
    exif[0x010F], exif[0x0110] = make, model
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if subseconds is not None:
        exif_ifd[0x9291] = subseconds
    if offset is not None:
        exif_ifd[0x9011] = offset
    block = exif.tobytes()
    segment = b"\xff\xe1" + struct.pack(">H", len(block) + 2) + block
    return jpeg[:2] + segment + _without_exif_segments(jpeg[2:])


def _without_exif_segments(data):
    """A JPEG's bytes after its SOI marker, less every APP1 Exif segment before its pixels."""
    kept, position = [], 0
    while data[position : position + 1] == b"\xff" and data[position + 1] not in (0xDA, 0xD9):
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        segment = data[position : position + 2 + length]
        if not (segment[1] == 0xE1 and segment[4:10] == b"Exif\0\0"):
            kept.append(segment)
        position += 2 + length
    return b"".join(kept) + data[position:]


def png_bomb(width=20_000, height=20_000):
    """A 100-byte, valid PNG whose header announces 400 megapixels: a decompression bomb."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def jpeg_bomb(width=30_000, height=30_000):
    """A small JPEG whose frame header claims 900 megapixels (the SOF0 size fields patched)."""
    data = bytearray(image_bytes(16, 16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


BLUE, RED, WHITE = (30, 90, 200), (255, 0, 0), (255, 255, 255)


@cache
def photo_bytes(format, width, height, bits=8, alpha=False, orientation=6, exif=None, **save_args):
    """An encoded photo whose upright picture is `width` × `height`: blue with a red top-left quarter
    and, with `alpha`, a transparent bottom-right quarter; stored turned for EXIF `orientation` (1 or 6).

    `bits` is 8 or 16 (HEIC: 16 is written as 10-bit). Drawn lazily by libvips, so a big one costs
    little memory; cached for the test session, so the same file serves several tests.
    """
    stored_width, stored_height = (height, width) if orientation == 6 else (width, height)
    xyz = pyvips.Image.xyz(stored_width, stored_height)
    if orientation == 6:  # the stored picture is shown turned 90° clockwise: stored (x, y) is upright (h - 1 - y, x)
        x, y = (stored_height - 1) - xyz[1], xyz[0]
    else:
        x, y = xyz[0], xyz[1]
    picture = ((x < width / 4) & (y < height / 4)).ifthenelse(list(RED), list(BLUE)).copy(interpretation="srgb")
    if alpha:
        picture = picture.bandjoin(((x >= width * 3 / 4) & (y >= height * 3 / 4)).ifthenelse(0, 255))
    if bits == 16:
        picture = (picture * 257).cast("ushort").copy(interpretation="rgb16")
    else:
        picture = picture.cast("uchar")
    if format == "HEIF":
        return _heif_bytes(picture, bits, alpha, orientation, exif, save_args)
    picture = picture.copy()
    if exif:
        picture.set_type(pyvips.GValue.blob_type, "exif-data", exif)
    if orientation != 1 or exif:
        picture.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    if format == "JPEG":
        return picture.jpegsave_buffer(Q=90, **save_args)
    if format == "PNG":
        return picture.pngsave_buffer(**{"compression": 1, **save_args})
    if format == "TIFF":
        return picture.tiffsave_buffer(**{"compression": "deflate", **save_args})
    if format == "WEBP":
        return picture.webpsave_buffer(Q=90, effort=0, **save_args)
    raise ValueError(format)


def _heif_bytes(picture, bits, alpha, orientation, exif, save_args):
    mode = ("RGBA" if alpha else "RGB") + (";16" if bits == 16 else "")
    heif = pillow_heif.from_bytes(mode, (picture.width, picture.height), picture.write_to_memory())
    exif_block = Image.Exif()
    if exif:
        exif_block.load(exif)
    exif_block[0x0112] = orientation
    buffer = io.BytesIO()
    heif.save(buffer, quality=90, enc_params={"preset": "ultrafast"}, exif=exif_block.tobytes(), **save_args)
    return buffer.getvalue()


# Photos that say where they were taken and whose camera took them (galleries/metadata.py).

# The real camera photos beside the repository (../shared/testdata), if they are there; tests that
# need them skip otherwise. VIEWPORT_TEST_PHOTOS points elsewhere (a worktree has another parent).
REAL_PHOTOS = Path(
    os.environ.get("VIEWPORT_TEST_PHOTOS", Path(__file__).resolve().parents[2] / "shared" / "testdata" / "orientation")
)
# What the private metadata below holds, as bytes that must not appear in a stripped copy.
# (With the place written as Lightroom and Photo Mechanic fill it in XMP and IPTC.)
PRIVATE_VALUES = (b"Jane Owner", b"SN-4471-0923", b"LN-88213", b"CANON-SERIAL-77", b"51,30.2N", b"0,7.65W")
PRIVATE_VALUES += (b"Paris", b"Anatole France", b"Ile-de-France", b"France", b"Champ de Mars", b"Europe")
GPS_LATITUDE = (51.0, 30.0, 12.5)
PRIVATE_XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" '
    b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'exif:GPSLatitude="51,30.2N" exif:GPSLongitude="0,7.65W" aux:SerialNumber="SN-4471-0923" xmp:Rating="4">\n'
    b"<aux:OwnerName>Jane Owner</aux:OwnerName>\n<exif:GPSAltitude>35/1</exif:GPSAltitude>\n"
    b"<dc:creator><rdf:Seq><rdf:li>Lena Hart Photography</rdf:li></rdf:Seq></dc:creator>\n"
    b'<photoshop:City xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">Paris</photoshop:City>\n'
    b'<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:State="Ile-de-France" '
    b'photoshop:Country="France" xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" '
    b'Iptc4xmpCore:Location="5 Avenue Anatole France" Iptc4xmpCore:CountryCode="FRA"/>\n'
    b'<Iptc4xmpExt:LocationCreated xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
    b'<rdf:Bag><rdf:li rdf:parseType="Resource"><Iptc4xmpExt:City>Paris</Iptc4xmpExt:City>'
    b"<Iptc4xmpExt:Sublocation>Champ de Mars</Iptc4xmpExt:Sublocation></rdf:li></rdf:Bag>"
    b"</Iptc4xmpExt:LocationCreated>\n"
    b'<Iptc4xmpExt:LocationShown xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
    b'<rdf:Bag><rdf:li Iptc4xmpExt:WorldRegion="Europe" Iptc4xmpExt:CountryName="France"/></rdf:Bag>'
    b"</Iptc4xmpExt:LocationShown>\n"
    b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def private_iptc():
    """IPTC IIM datasets as Photo Mechanic writes them: the place (content location, city,
    sub-location, province, country code and name) and a copyright notice, which stays."""
    datasets = [(26, b"Champ de Mars"), (90, b"Paris"), (92, b"5 Avenue Anatole France")]
    datasets += [(95, b"Ile-de-France"), (100, b"FRA"), (101, b"France"), (116, b"(c) Lena Hart")]
    return b"".join(struct.pack(">BBBH", 0x1C, 2, dataset, len(value)) + value for dataset, value in datasets)


def photoshop_resources(iptc):
    """Photoshop image resources holding `iptc` (resource 0x0404, after another resource)."""
    resolution = b"8BIM\x03\xed\0\0" + struct.pack(">I", 16) + bytes(16)
    return resolution + b"8BIM\x04\x04\0\0" + struct.pack(">I", len(iptc)) + iptc + b"\0" * (len(iptc) & 1)


def with_iptc(jpeg):
    """A JPEG's bytes with private_iptc() in an APP13 segment after its start."""
    block = b"Photoshop 3.0\0" + photoshop_resources(private_iptc())
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(block) + 2) + block + jpeg[2:]


def private_exif(orientation=1):
    """An EXIF block as a camera with GPS writes it: make, model, capture time, artist, the
    position, the owner's name, body and lens serial numbers, and a maker note holding the
    serial number again."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x013B] = "Canon", "Canon EOS R5", "Lena Hart"
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4], gps[6] = "N", GPS_LATITUDE, "W", (0.0, 7.0, 39.0), 35.0
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2024:06:01 14:03:22"
    exif_ifd[0xA430], exif_ifd[0xA431], exif_ifd[0xA435] = "Jane Owner", "SN-4471-0923", "LN-88213"
    exif_ifd[0x927C] = b"\x00\x02" + b"CANON-SERIAL-77\0" * 8
    return exif.tobytes()


def private_photo(format="JPEG", width=96, height=64, **save_args):
    """A photo in `format` (JPEG, PNG, WEBP, TIFF, HEIF; MPO: a JPEG with a second picture that
    has EXIF of its own) carrying private_exif(), PRIVATE_XMP and private_iptc() where the
    format allows (IPTC: JPEG, TIFF, PNG)."""
    image = image_with_corner(width, height)
    buffer = io.BytesIO()
    if format == "HEIF":
        pillow_heif.from_pillow(image).save(buffer, quality=90, exif=private_exif(), xmp=PRIVATE_XMP, **save_args)
    elif format == "TIFF":  # the TIFF's own directory is its EXIF: Pillow writes it from a dict
        exif = Image.Exif()
        exif.load(private_exif())
        tags = TiffImagePlugin.ImageFileDirectory_v2()
        for tag in (0x010F, 0x0110, 0x013B):
            tags[tag] = exif[tag]
        tags[0x8769], tags[0x8825], tags[700] = dict(exif.get_ifd(0x8769)), dict(exif.get_ifd(0x8825)), PRIVATE_XMP
        tags[33723], tags[34377] = private_iptc(), photoshop_resources(private_iptc())
        tags.tagtype[33723] = tags.tagtype[34377] = 7  # undefined: bytes
        image.save(buffer, "TIFF", tiffinfo=tags, **save_args)
    elif format == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", PRIVATE_XMP.decode())
        iptc = private_iptc().hex()
        info.add_text("Raw profile type iptc", f"\niptc\n{len(private_iptc()):8d}\n{iptc}\n")
        image.save(buffer, "PNG", exif=private_exif(), pnginfo=info, **save_args)
    elif format == "MPO":
        second = image_with_corner(width // 2, height // 2)
        second.encoderinfo = {"exif": private_exif()}
        image.save(buffer, "MPO", save_all=True, append_images=[second], exif=private_exif(), **save_args)
    else:
        image.save(buffer, format, exif=private_exif(), xmp=PRIVATE_XMP, **save_args)
    return with_iptc(buffer.getvalue()) if format == "JPEG" else buffer.getvalue()


def image_with_corner(width, height, color=(30, 90, 200)):
    image = Image.new("RGB", (width, height), color)
    image.paste((255, 0, 0), (0, 0, width // 4, height // 4))
    return image


def with_private_exif(jpeg):
    """A real JPEG's bytes with its EXIF replaced by private_exif() (its orientation kept),
    PRIVATE_XMP and private_iptc() added; its pixels are left as they are."""
    with Image.open(io.BytesIO(jpeg)) as image:
        orientation = image.getexif().get(0x0112, 1)
    exif = private_exif(orientation)
    xmp = b"http://ns.adobe.com/xap/1.0/\0" + PRIVATE_XMP
    segments = [b"\xff\xe1" + struct.pack(">H", len(block) + 2) + block for block in (exif, xmp)]
    return with_iptc(jpeg[:2] + b"".join(segments) + _without_exif_segments(jpeg[2:]))
