"""What a shared copy of a photo leaves out: where it was taken, whose camera took it.

`private_metadata(file)` finds, in a stored photo's bytes, the GPS position, the camera owner's
name and the serial numbers of body and lens, and returns patches that blank them in place:
(offset, replacement) pairs, each replacement as long as what it replaces. The stripped copy is
the original with the patches applied: the same length, every other byte the same (the image
data is never touched, let alone re-encoded), so an offset in one is the same offset in the
other, and a range of the stripped copy is read from the same range of the original.

What is blanked, in every format that carries it:
- EXIF (a TIFF structure: in a JPEG's APP1 segment, a HEIC's Exif item, a PNG's eXIf chunk, a
  WebP's EXIF chunk, or a TIFF file's own directories): the GPS directory, CameraOwnerName,
  BodySerialNumber, LensSerialNumber, DNG's CameraSerialNumber, and the MakerNote (vendors'
  opaque block, where Canon, Nikon, Sony and Fujifilm keep serial numbers and the owner's name
  again). Their directory entries are removed (the entries after them move up, so the directory
  ends 12 bytes a tag earlier) and their values are overwritten with zeros.
- XMP (text): every property whose name holds GPS, Gps, Latitude or Longitude (exif:GPS*, DJI's
  drone-dji:Gps*), the serial-number and owner properties (aux:SerialNumber,
  exifEX:BodySerialNumber, aux:OwnerName, ...), and the written place (photoshop:City, State,
  Country; Iptc4xmpCore:Location, CountryCode; Iptc4xmpExt:LocationCreated and LocationShown
  with all they hold, Sublocation, WorldRegion, ...) are overwritten with spaces, which XML ignores.
- IPTC (IIM datasets, as Lightroom and Photo Mechanic write them: in a JPEG's APP13 Photoshop
  resources, a TIFF's IPTC-NAA or Photoshop tag): the values of the place's datasets (2:26 and
  2:27 content location, 2:90 city, 2:92 sub-location, 2:95 province or state, 2:100 and 2:101
  country) are overwritten with spaces. (Photoshop's digest of the IPTC block then no longer
  matches: readers take the XMP, which says the same.)
- JPEG: also the second pictures of multi-picture files (MPF), which carry EXIF of their own.
- PNG: chunks have checksums, which are patched too; compressed XMP or EXIF text chunks (rare)
  and IPTC or Photoshop resources written as hex text ("Raw profile type iptc") cannot be edited
  in place and are blanked whole.

A metadata block we cannot parse is blanked whole rather than risked. Everything else stays:
capture time, camera and lens model, exposure, copyright, artist, colour profile, orientation.
"""

import re
import struct
import zlib

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
XMP_TAG = 700
MPF_ENTRIES = 0xB002
# Tags whose entry is removed and whose value is zeroed, in whatever directory they appear.
PRIVATE_TAGS = {
    GPS_IFD,
    0xA430,  # CameraOwnerName
    0xA431,  # BodySerialNumber
    0xA435,  # LensSerialNumber
    0xC62F,  # CameraSerialNumber (DNG)
    0x927C,  # MakerNote
}
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_MAX_ENTRIES = 4096  # more entries in one directory than any camera writes: a damaged file
_MAX_DIRECTORIES = 64

# IPTC IIM datasets (record 2) that name the place: content location name and code, city,
# sub-location (the street address), province or state, country code and name.
PRIVATE_IPTC = {26, 27, 90, 92, 95, 100, 101}
IPTC_TAG = 33723  # IPTC-NAA in a TIFF directory: IIM datasets
PHOTOSHOP_TAG = 34377  # Photoshop image resources in a TIFF directory (IPTC among them)
IPTC_RESOURCE = 0x0404

_PRIVATE_XMP_NAME = (
    rb"[\w.-]+:(?:[A-Za-z]*(?:GPS|Gps|Latitude|Longitude)[A-Za-z0-9]*"
    rb"|(?:Body|Lens|Camera|Internal)?SerialNumber|(?:Camera)?OwnerName"
    # the written place (photoshop:City, Iptc4xmpCore:Location, Iptc4xmpExt:LocationCreated, ...)
    rb"|City|State|ProvinceState|ProvinceName|ProvinceCode|Country|CountryName|CountryCode"
    rb"|Location|Sublocation|WorldRegion|LocationCreated|LocationShown|LocationName|LocationId)"
)
_XMP_ATTRIBUTE = re.compile(rb"(?<=\s)" + _PRIVATE_XMP_NAME + rb"\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_XMP_ELEMENT = re.compile(rb"<(" + _PRIVATE_XMP_NAME + rb")(?=[\s/>])(?:[^>]*/>|[^>]*>.*?</\1\s*>)", re.DOTALL)
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\0"
_XMP_JPEG_EXTENSION = b"http://ns.adobe.com/xmp/extension/\0"
_PHOTOSHOP_JPEG = b"Photoshop 3.0\0"


class Unreadable(ValueError):
    """A structure that does not parse."""


def private_metadata(file):
    """Patches [(offset, bytes)] that blank the private metadata of the photo in `file` (a
    binary file, read at random; left at its start). Sorted, none overlapping; [] when there is
    nothing to blank or the format is not one we store.

    A structure that does not parse ends the walk of its file with what was found before it:
    no reader gets past it either (a block that does not parse is blanked whole)."""
    file.seek(0)
    head = file.read(16)
    patches = []
    try:
        if head.startswith(b"\xff\xd8"):
            _jpeg(file, 0, patches, set())
        elif head.startswith(b"\x89PNG\r\n\x1a\n"):
            _png(file, patches)
        elif head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
            patches += _tiff(_FileReader(file, 0))
        elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            _webp(file, patches)
        elif head[4:8] == b"ftyp":
            _heif(file, patches)
    except (Unreadable, struct.error, ValueError, IndexError):
        pass
    finally:
        file.seek(0)
    return merge(patches)


def merge(patches):
    """The patches sorted, overlapping and touching ones joined (a later one wins where they overlap)."""
    merged = []
    for offset, data in sorted(patches, key=lambda patch: patch[0]):
        if merged and offset <= merged[-1][0] + len(merged[-1][1]):
            start, previous = merged[-1]
            joined = bytearray(previous.ljust(offset + len(data) - start, b"\0"))
            joined[offset - start : offset - start + len(data)] = data
            if len(previous) > offset + len(data) - start:
                joined[offset - start + len(data) :] = previous[offset - start + len(data) :]
            merged[-1] = (start, bytes(joined))
        else:
            merged.append((offset, bytes(data)))
    return [patch for patch in merged if patch[1]]


def apply(chunk, position, patches):
    """`chunk` (the bytes at `position` of a file) with the patches that overlap it applied."""
    end = position + len(chunk)
    patched = None
    for offset, data in patches:
        if offset >= end:
            break
        if offset + len(data) <= position:
            continue
        if patched is None:
            patched = bytearray(bytes(chunk))  # bytes() reads a storage.FileRange
        start = max(offset, position)
        stop = min(offset + len(data), end)
        patched[start - position : stop - position] = data[start - offset : stop - offset]
    return chunk if patched is None else bytes(patched)


def encode(patches):
    """Patches as JSON: runs of one byte as [offset, length, byte], others as [offset, hex]."""
    encoded = []
    for offset, data in patches:
        if data.count(data[:1]) == len(data):
            encoded.append([offset, len(data), data[0]])
        else:
            encoded.append([offset, data.hex()])
    return encoded


def decode(encoded):
    return [(item[0], bytes([item[2]]) * item[1] if len(item) == 3 else bytes.fromhex(item[1])) for item in encoded]


# Blocks inside a file


def _blank(offset, length, fill=b"\0"):
    return [(offset, fill * length)] if length > 0 else []


def _xmp(data, offset):
    """Patches blanking the private properties of an XMP packet (`data`, found at `offset`)."""
    patches = []
    for pattern in (_XMP_ELEMENT, _XMP_ATTRIBUTE):
        for match in pattern.finditer(data):
            patches += _blank(offset + match.start(), match.end() - match.start(), b" ")
    return patches


def _iptc(data, offset):
    """Patches blanking the place's datasets of IPTC IIM data (`data`, found at `offset`)."""
    patches = []
    position = 0
    while position + 5 <= len(data) and data[position] == 0x1C:
        record, dataset, length = struct.unpack(">BBH", data[position + 1 : position + 5])
        position += 5
        if length & 0x8000:  # extended: the next (length & 0x7FFF) bytes hold the length
            size = length & 0x7FFF
            if size > 8:
                break
            length = int.from_bytes(data[position : position + size], "big")
            position += size
        if record == 2 and dataset in PRIVATE_IPTC:
            patches += _blank(offset + position, min(length, len(data) - position), b" ")
        position += length
    return patches


def _photoshop(data, offset):
    """Patches for Photoshop image resources (`data`, found at `offset`): their IPTC block's."""
    patches = []
    position = 0
    while position + 12 <= len(data) and data[position : position + 4] in (b"8BIM", b"MeSa", b"PHUT", b"AgHg"):
        (resource,) = struct.unpack(">H", data[position + 4 : position + 6])
        name_size = data[position + 6] + 1
        position += 6 + name_size + (name_size & 1)  # a Pascal string, padded to even
        (size,) = struct.unpack(">I", data[position : position + 4])
        position += 4
        if resource == IPTC_RESOURCE:
            patches += _iptc(data[position : position + size], offset + position)
        position += size + (size & 1)
    return patches


_TEXT_BLOCKS = {XMP_TAG: _xmp, IPTC_TAG: _iptc, PHOTOSHOP_TAG: _photoshop}


class _BytesReader:
    def __init__(self, data):
        self.data = data
        self.size = len(data)

    def read(self, offset, length):
        if offset < 0 or offset + length > self.size:
            raise Unreadable("outside the block")
        return self.data[offset : offset + length]


class _FileReader:
    """A file seen from `origin` on (a TIFF's offsets count from its header)."""

    def __init__(self, file, origin):
        self.file = file
        self.origin = origin
        file.seek(0, 2)
        self.size = file.tell() - origin

    def read(self, offset, length):
        if offset < 0 or offset + length > self.size:
            raise Unreadable("outside the file")
        self.file.seek(self.origin + offset)
        return self.file.read(length)


def _tiff(reader):
    """Patches (offsets from the TIFF header) removing the private tags from every directory:
    the main chain (IFD0, the thumbnail's IFD1, a TIFF file's further pages) and the Exif one.
    Unreadable only when IFD0 is; a later directory that does not parse ends the chain."""
    header = reader.read(0, 8)
    order = {b"II": "<", b"MM": ">"}.get(header[:2])
    if order is None:
        raise Unreadable("not a TIFF header")
    magic = struct.unpack(order + "H", header[2:4])[0]
    if magic == 43:  # BigTIFF
        layout = _Layout(order, count="Q", entry=20, value="Q")
        offset = struct.unpack(order + "Q", reader.read(8, 8))[0]
    elif magic == 42:
        layout = _Layout(order, count="H", entry=12, value="I")
        offset = struct.unpack(order + "I", header[4:8])[0]
    else:
        raise Unreadable("not a TIFF header")
    patches, seen = [], set()
    while offset and offset not in seen and len(seen) < _MAX_DIRECTORIES:
        seen.add(offset)
        try:
            offset = _directory(reader, layout, offset, patches, seen)
        except (Unreadable, struct.error):
            if len(seen) == 1:
                raise
            break
    return patches


class _Layout:
    """Classic TIFF (16-bit counts, 12-byte entries, 32-bit offsets) or BigTIFF (64, 20, 64)."""

    def __init__(self, order, count, entry, value):
        self.order = order
        self.count = count
        self.count_size = struct.calcsize(count)
        self.entry = entry
        self.value = value
        self.value_size = struct.calcsize(value)

    def unpack(self, format, data):
        return struct.unpack(self.order + format, data)[0]

    def table(self, reader, offset):
        """(entries, next directory's offset, the table's size in bytes) of the directory at `offset`."""
        count = self.unpack(self.count, reader.read(offset, self.count_size))
        if count > _MAX_ENTRIES:
            raise Unreadable("too many entries")
        size = self.count_size + count * self.entry + self.value_size
        table = reader.read(offset, size)
        entries = [
            table[self.count_size + n * self.entry : self.count_size + (n + 1) * self.entry] for n in range(count)
        ]
        return entries, self.unpack(self.value, table[-self.value_size :]), size

    def entry_fields(self, entry):
        """(tag, value size in bytes, value offset or None when the value sits in the entry, value field)."""
        tag, kind = struct.unpack(self.order + "HH", entry[:4])
        count = self.unpack(self.value, entry[4 : 4 + self.value_size])
        field = entry[4 + self.value_size :]
        size = _TYPE_SIZES.get(kind, 1) * count
        return tag, size, self.unpack(self.value, field) if size > len(field) else None, field


def _directory(reader, layout, offset, patches, seen):
    """Remove the private entries of the directory at `offset` and of its Exif directory (adding
    their patches); return the next directory's offset. An Exif directory that does not parse
    is cut off: its entry is removed."""
    entries, next_offset, table_size = layout.table(reader, offset)
    kept = []
    for entry in entries:
        tag, size, value_offset, field = layout.entry_fields(entry)
        private = tag in PRIVATE_TAGS
        if tag == EXIF_IFD and value_offset is None:
            exif_offset = layout.unpack(layout.value, field)
            if exif_offset not in seen:
                seen.add(exif_offset)
                try:
                    _directory(reader, layout, exif_offset, patches, seen)
                except (Unreadable, struct.error):
                    private = True
        if tag in _TEXT_BLOCKS and value_offset is not None and value_offset + size <= reader.size:
            patches += _TEXT_BLOCKS[tag](reader.read(value_offset, size), value_offset)
        if not private:
            kept.append(entry)
        elif tag == GPS_IFD and value_offset is None:
            patches += _gps_directory(reader, layout, layout.unpack(layout.value, field))
        elif value_offset is not None and tag != EXIF_IFD and value_offset + size <= reader.size:
            patches += _blank(value_offset, size)
    if len(kept) < len(entries):
        rewritten = (
            struct.pack(layout.order + layout.count, len(kept))
            + b"".join(kept)
            + struct.pack(layout.order + layout.value, next_offset)
        )
        patches.append((offset, rewritten.ljust(table_size, b"\0")))
    return next_offset


def _gps_directory(reader, layout, offset):
    """Patches zeroing the GPS directory at `offset` and its values."""
    try:
        entries, _, table_size = layout.table(reader, offset)
    except (Unreadable, struct.error):
        return []  # the pointer leads nowhere: removing it is all there is to do
    patches = _blank(offset, table_size)
    for entry in entries:
        _, size, value_offset, _ = layout.entry_fields(entry)
        if value_offset is not None and value_offset + size <= reader.size:
            patches += _blank(value_offset, size)
    return patches


def _exif_block(data, offset):
    """Patches for an EXIF block (a TIFF structure, possibly after "Exif\\0\\0") at `offset`;
    the whole block blanked when it does not parse."""
    start = 6 if data.startswith(b"Exif\0\0") else 0
    try:
        patches = _tiff(_BytesReader(data[start:]))
    except (Unreadable, struct.error):
        return _blank(offset + start, len(data) - start)
    return [(offset + start + position, patch) for position, patch in patches]


# Formats


def _jpeg(file, start, patches, seen):
    """Add the patches for the JPEG at `start`: its EXIF and XMP segments, and the other
    pictures its MPF index lists."""
    if start in seen:
        return
    seen.add(start)
    file.seek(start)
    if file.read(2) != b"\xff\xd8":
        return
    position = start + 2
    while True:
        file.seek(position)
        marker = file.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            break
        if marker[1] == 0xFF:  # fill byte
            position += 1
            continue
        if marker[1] in (0xD9, 0xDA):  # end of image, start of the pixels
            break
        if 0xD0 <= marker[1] <= 0xD7 or marker[1] == 0x01:
            position += 2
            continue
        (length,) = struct.unpack(">H", file.read(2))
        data_offset = position + 4
        if marker[1] == 0xE1:
            data = file.read(length - 2)
            if data.startswith(b"Exif\0\0"):
                patches += _exif_block(data, data_offset)
            elif data.startswith(_XMP_JPEG):
                patches += _xmp(data, data_offset)
            elif data.startswith(_XMP_JPEG_EXTENSION):
                patches += _xmp(data, data_offset)
        elif marker[1] == 0xED:
            data = file.read(length - 2)
            if data.startswith(_PHOTOSHOP_JPEG):
                patches += _photoshop(data[len(_PHOTOSHOP_JPEG) :], data_offset + len(_PHOTOSHOP_JPEG))
        elif marker[1] == 0xE2:
            data = file.read(length - 2)
            if data.startswith(b"MPF\0"):
                for offset in _mpf_offsets(data[4:]):
                    _jpeg(file, data_offset + 4 + offset, patches, seen)
        position += 2 + length


def _mpf_offsets(data):
    """The offsets (from the MPF header) of the pictures after the first one."""
    try:
        reader = _BytesReader(data)
        order = {b"II": "<", b"MM": ">"}[data[:2]]
        (first,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", reader.read(first, 2))
        for n in range(min(count, _MAX_ENTRIES)):
            tag, _, value_count, value = struct.unpack(order + "HHII", reader.read(first + 2 + n * 12, 12))
            if tag == MPF_ENTRIES:
                entries = reader.read(value, value_count)
                return [
                    struct.unpack(order + "I", entries[n + 8 : n + 12])[0]
                    for n in range(16, len(entries) - 15, 16)  # the first picture is the file itself
                ]
    except (KeyError, Unreadable, struct.error):
        pass
    return []


_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_PNG_METADATA_KEYWORDS = {b"XML:com.adobe.xmp", b"Raw profile type exif", b"Raw profile type APP1"}
_PNG_METADATA_KEYWORDS |= {b"Raw profile type xmp", b"Raw profile type iptc", b"Raw profile type 8bim"}


def _png(file, patches):
    position = 8
    while True:
        file.seek(position)
        header = file.read(8)
        if len(header) < 8:
            break
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            break
        if kind == b"eXIf" or kind in _PNG_TEXT_CHUNKS:
            data = file.read(length)
            changed = _png_chunk(kind, data, position + 8)
            if changed:
                new_kind, new_data = changed
                patches.append((position + 4, new_kind + new_data))
                patches.append((position + 8 + length, struct.pack(">I", zlib.crc32(new_kind + new_data))))
        position += 12 + length


def _png_chunk(kind, data, offset):
    """(type, data) of a metadata chunk with its private parts blanked, or None if unchanged."""
    if kind == b"eXIf":
        blanked = _patched(data, [(position - offset, patch) for position, patch in _exif_block(data, offset)])
        return (kind, blanked) if blanked != data else None
    keyword, _, rest = data.partition(b"\0")
    if keyword not in _PNG_METADATA_KEYWORDS:
        return None
    if kind == b"tEXt" and keyword == b"XML:com.adobe.xmp":
        blanked = _patched(rest, _xmp(rest, 0))
        return (kind, keyword + b"\0" + blanked) if blanked != rest else None
    if kind == b"iTXt" and rest[:1] == b"\0" and keyword == b"XML:com.adobe.xmp":
        # keyword, compression flag and method, language and translated keyword, then the text
        language_end = rest.index(b"\0", 2)
        text_start = rest.index(b"\0", language_end + 1) + 1
        text = rest[text_start:]
        blanked = _patched(text, _xmp(text, 0))
        return (kind, keyword + b"\0" + rest[:text_start] + blanked) if blanked != text else None
    if kind == b"iTXt" and len(rest) >= 4:  # compressed: uncompressed, no language, spaces
        return kind, keyword + b"\0" + b"\0\0\0\0" + b" " * (len(rest) - 4)
    # EXIF written as hex text by ImageMagick, or a compressed text chunk: a tEXt of spaces.
    return b"tEXt", keyword + b"\0" + b" " * len(rest)


def _patched(data, patches):
    return apply(data, 0, patches)


def _webp(file, patches):
    position = 12
    file.seek(0, 2)
    end = file.tell()
    while position + 8 <= end:
        file.seek(position)
        kind, length = struct.unpack("<4sI", file.read(8))
        if kind in (b"EXIF", b"XMP "):
            data = file.read(length)
            patches += _exif_block(data, position + 8) if kind == b"EXIF" else _xmp(data, position + 8)
        position += 8 + length + (length & 1)


def _heif(file, patches):
    """Add the patches for a HEIC/HEIF: its Exif item and its XMP item (a `mime` item of RDF),
    found through the `meta` box's item information (iinf) and locations (iloc)."""
    meta = _box(file, 0, None, b"meta")
    if meta is None:
        return
    children = meta[0] + 4, meta[1]  # a full box: version and flags first
    items = _heif_items(file, children)
    locations = _heif_locations(file, children)
    for item_id, kind in items.items():
        extents = locations.get(item_id)
        if not extents:
            continue
        data = b""
        for offset, length in extents:
            file.seek(offset)
            data += file.read(length)
        if kind == "Exif" and len(data) >= 4:
            skip = 4 + struct.unpack(">I", data[:4])[0]
            block = _exif_block(data[skip:], skip)
        else:
            block = _xmp(data, 0)
        patches += _spread(block, extents)


def _spread(patches, extents):
    """Patches on an item's bytes (its extents one after another) as patches on the file."""
    spread = []
    for position, data in patches:
        item_offset = 0
        for offset, length in extents:
            start = max(position, item_offset)
            stop = min(position + len(data), item_offset + length)
            if start < stop:
                spread.append((offset + start - item_offset, data[start - position : stop - position]))
            item_offset += length
    return spread


def _boxes(file, start, end):
    """(type, content start, end) of each ISO BMFF box from `start` to `end` (None: the file's end)."""
    file.seek(0, 2)
    end = file.tell() if end is None else end
    position = start
    while position + 8 <= end:
        file.seek(position)
        size, kind = struct.unpack(">I4s", file.read(8))
        header_size = 8
        if size == 1:
            size = struct.unpack(">Q", file.read(8))[0]
            header_size = 16
        elif size == 0:  # to the end
            size = end - position
        if size < header_size or position + size > end:
            return
        yield kind, position + header_size, position + size
        position += size


def _box(file, start, end, kind):
    """(content start, end) of the first box of type `kind` between `start` and `end`, or None."""
    for found, content_start, box_end in _boxes(file, start, end):
        if found == kind:
            return content_start, box_end
    return None


def _heif_items(file, meta):
    """{item id: "Exif" or "xmp"} from the iinf box."""
    iinf = _box(file, *meta, b"iinf")
    if iinf is None:
        return {}
    file.seek(iinf[0])
    version = file.read(1)[0]
    items = {}
    for kind, start, end in _boxes(file, iinf[0] + 4 + (2 if version == 0 else 4), iinf[1]):
        file.seek(start)
        body = file.read(end - start)
        if kind != b"infe" or body[0] < 2:
            continue
        id_size = 2 if body[0] == 2 else 4
        item_id = int.from_bytes(body[4 : 4 + id_size], "big")
        item_type = body[6 + id_size : 10 + id_size]
        if item_type == b"Exif":
            items[item_id] = "Exif"
        elif item_type == b"mime":
            content_type = body[10 + id_size :].partition(b"\0")[2]
            if content_type.split(b"\0")[0] == b"application/rdf+xml":
                items[item_id] = "xmp"
    return items


def _heif_locations(file, meta):
    """{item id: [(file offset, length), ...]} from the iloc box (items in the file or in idat)."""
    iloc = _box(file, *meta, b"iloc")
    if iloc is None:
        return {}
    idat = _box(file, *meta, b"idat")
    file.seek(iloc[0])
    body = file.read(iloc[1] - iloc[0])
    version = body[0]
    offset_size, length_size, base_size = body[4] >> 4, body[4] & 15, body[5] >> 4
    index_size = body[5] & 15 if version in (1, 2) else 0
    position = 6

    def number(size):
        nonlocal position
        value = int.from_bytes(body[position : position + size], "big")
        position += size
        return value

    locations = {}
    for _ in range(number(2 if version < 2 else 4)):
        item_id = number(2 if version < 2 else 4)
        method = number(2) & 15 if version in (1, 2) else 0
        number(2)  # data reference index
        base = number(base_size)
        extents = []
        for _ in range(number(2)):
            number(index_size)
            extent_offset, extent_length = number(offset_size), number(length_size)
            if method == 0:
                extents.append((base + extent_offset, extent_length))
            elif method == 1 and idat is not None:
                extents.append((idat[0] + base + extent_offset, extent_length))
        locations[item_id] = extents
    return locations
