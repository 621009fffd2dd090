"""What a shared copy leaves out (galleries/metadata.py): the position (GPS and the written place),
the owner's name and the serial numbers, blanked in place in every format we store, and nothing else changed."""

import io
import struct

import pytest
from PIL import Image

import galleries.images  # noqa: F401  (reads HEIC)
from galleries import metadata
from testing.photos import PRIVATE_VALUES, REAL_PHOTOS, image_bytes, private_photo, with_private_exif

FORMATS = ["JPEG", "MPO", "PNG", "WEBP", "TIFF", "HEIF"]


def stripped(data):
    patches = metadata.private_metadata(io.BytesIO(data))
    return metadata.apply(data, 0, patches), patches


def assert_nothing_private(data):
    """No position, owner or serial number, for Pillow nor in the bytes, in any of its pictures."""
    with Image.open(io.BytesIO(data)) as image:
        for frame in range(getattr(image, "n_frames", 1)):
            image.seek(frame)
            exif = image.getexif()
            assert 0x8825 not in exif and not exif.get_ifd(0x8825)
            assert not {0xA430, 0xA431, 0xA435, 0x927C} & set(exif.get_ifd(0x8769))
    for value in PRIVATE_VALUES + (b"GPSLatitude", b"GPSAltitude", b"OwnerName", b"SerialNumber"):
        assert value not in data and value.hex().encode() not in data, value  # (hex: PNG's IPTC text)


def pixels(data):
    with Image.open(io.BytesIO(data)) as image:
        return [image.seek(frame) or image.convert("RGB").tobytes() for frame in range(getattr(image, "n_frames", 1))]


@pytest.mark.parametrize("format", FORMATS)
def test_a_stripped_copy_has_no_position_owner_or_serial_and_every_other_byte(format):
    original = private_photo(format)
    copy, patches = stripped(original)
    assert len(copy) == len(original)
    assert_nothing_private(copy)
    # Everything else is the original's: the pixels, and the bytes outside the patches.
    assert pixels(copy) == pixels(original)
    changed = {n for n, (a, b) in enumerate(zip(original, copy, strict=True)) if a != b}
    assert changed <= {offset + n for offset, data in patches for n in range(len(data))}
    with Image.open(io.BytesIO(copy)) as image:
        exif = image.getexif()
        assert (exif.get(0x010F), exif.get(0x0110), exif.get(0x013B)) == ("Canon", "Canon EOS R5", "Lena Hart")
        assert exif.get_ifd(0x8769)[0x9003] == "2024:06:01 14:03:22"
    if format != "MPO":
        assert b"Lena Hart Photography" in copy and b'xmp:Rating="4"' in copy
    if format in ("JPEG", "TIFF"):
        assert b"(c) Lena Hart" in copy  # IPTC's copyright notice stays


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP", "TIFF", "HEIF"])
def test_a_photo_without_private_metadata_needs_no_patch(format):
    assert metadata.private_metadata(io.BytesIO(image_bytes(32, 24, format=format, orientation=6))) == []


def test_an_exif_block_that_does_not_parse_is_blanked_whole():
    original = private_photo("JPEG")
    start = original.index(b"Exif\0\0") + 6
    damaged = original[:start] + b"XX" + original[start + 2 :]  # no byte order: not a TIFF header
    copy, _ = stripped(damaged)
    assert len(copy) == len(damaged)
    assert b"Jane Owner" not in copy and b"SN-4471-0923" not in copy
    assert pixels(copy) == pixels(damaged)


def test_patches_keep_their_length_and_apply_across_chunk_boundaries():
    data = bytes(range(256)) * 4
    patches = metadata.merge([(10, b"\0" * 20), (25, b"ab"), (500, b"xyz" * 3)])
    assert patches == [(10, b"\0" * 15 + b"ab" + b"\0" * 3), (500, b"xyzxyzxyz")]
    whole = metadata.apply(data, 0, patches)
    assert b"".join(metadata.apply(data[n : n + 7], n, patches) for n in range(0, len(data), 7)) == whole
    assert metadata.decode(metadata.encode(patches)) == patches
    assert metadata.encode([(3, b"\0" * 5000)]) == [[3, 5000, 0]]  # a run of one byte stays small


@pytest.mark.skipif(not REAL_PHOTOS.is_dir(), reason="the shared test photos (../shared/testdata) are not here")
@pytest.mark.parametrize("path", sorted(REAL_PHOTOS.glob("*.jpg")), ids=lambda path: path.name)
def test_real_camera_photos_lose_their_position_and_keep_their_pixels_and_orientation(path):
    real = path.read_bytes()
    original = with_private_exif(real)
    copy, _ = stripped(original)
    assert_nothing_private(copy)
    assert len(copy) == len(original)
    with Image.open(io.BytesIO(copy)) as image, Image.open(io.BytesIO(real)) as source:
        assert image.getexif().get(0x0112) == source.getexif().get(0x0112)
        assert image.tobytes() == source.tobytes()
    assert stripped(real)[0] == real  # nothing private in them as they are: nothing changes


def test_a_gps_pointer_into_nowhere_is_removed():
    original = bytearray(private_photo("JPEG"))
    tiff = original.index(b"Exif\0\0") + 6
    order = "<" if original[tiff : tiff + 2] == b"II" else ">"
    first = tiff + struct.unpack(order + "I", original[tiff + 4 : tiff + 8])[0]
    count = struct.unpack(order + "H", original[first : first + 2])[0]
    for n in range(count):
        entry = first + 2 + 12 * n
        if struct.unpack(order + "H", original[entry : entry + 2])[0] == 0x8825:
            original[entry + 8 : entry + 12] = struct.pack(order + "I", 0x7FFFFFF0)
    copy, _ = stripped(bytes(original))
    with Image.open(io.BytesIO(copy)) as image:
        assert 0x8825 not in image.getexif()
