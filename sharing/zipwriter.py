"""A byte-stable ZIP archive of stored files, every byte's place known before the first is sent.

Our own small writer. zipstream-ng (used before) computes each entry's CRC-32 while it streams
it, so it writes the CRC after the data and can only stream an archive from its first byte. We
know every CRC-32 and size from upload, so here every entry's local header carries them (no data
descriptors), and the archive is a fixed sequence of parts: headers made here, and stored files.
`read(start, stop)` serves any range of it and reads only the files that range covers.

The same entries make the same bytes, so a download can be resumed and two downloads compare
equal: entries are STORED (photos do not compress), with fixed attributes (a regular file,
0644, made on Unix), times from `Entry.modified` (MS-DOS time in `zone`, plus the exact UTC time
in an extended-timestamp field), UTF-8 names, and ZIP64 fields where a size, an offset or the
number of entries needs them (or everywhere, with `zip64=True`).
"""

import bisect
import hashlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

LIMIT = 0xFFFFFFFF  # a 32-bit field at this value means "see the ZIP64 field"
MADE_BY = (3 << 8) | 45  # Unix, ZIP 4.5
EXTERNAL_ATTRIBUTES = 0o100644 << 16  # a regular file, rw-r--r--
UTF8_NAMES = 1 << 11


@dataclass(frozen=True)
class Entry:
    """A file of the archive: its name (folders separated by "/"), size, CRC-32, time, and
    `read(start, stop)`, which yields its bytes from `start` to `stop` in chunks."""

    name: str
    size: int
    crc32: int
    modified: datetime
    read: Callable[[int, int], Iterator[bytes]]


class Archive:
    def __init__(self, entries, zone=UTC, zip64=False):
        self._starts, self._parts = [], []
        central = []
        offset = 0
        for entry in entries:
            header = _local_header(entry, zone, zip64)
            central.append(_central_header(entry, zone, offset, zip64))
            for part in (header, entry):
                self._starts.append(offset)
                self._parts.append(part)
                offset += _length(part)
        directory = b"".join(central)
        end = _end_records(len(central), offset, len(directory), zip64)
        self._starts.append(offset)
        self._parts.append(directory + end)
        self._length = offset + len(directory) + len(end)
        self.etag = f'"{hashlib.sha256(b"zip1" + directory + end).hexdigest()[:40]}"'

    def __len__(self):
        return self._length

    def __iter__(self):
        return self.read()

    def read(self, start=0, stop=None):
        """The archive's bytes from `start` to `stop` (its end), in chunks."""
        stop = self._length if stop is None else min(stop, self._length)
        index = bisect.bisect_right(self._starts, start) - 1
        while start < stop:
            part, part_start = self._parts[index], self._starts[index]
            first, last = start - part_start, min(stop - part_start, _length(part))
            if isinstance(part, bytes):
                yield part[first:last]
            elif last > first:
                yield from _exactly(part, first, last)
            start = part_start + last
            index += 1


def _length(part):
    return len(part) if isinstance(part, bytes) else part.size


def _exactly(entry, first, last):
    """The entry's bytes from `first` to `last`, checked: a stored file whose length is not the
    recorded one would make the archive lie, so the download stops instead."""
    sent = 0
    for chunk in entry.read(first, last):
        sent += len(chunk)
        if sent > last - first:
            raise OSError(f"{entry.name}: the stored file is longer than recorded")
        yield chunk
    if sent != last - first:
        raise OSError(f"{entry.name}: the stored file is shorter than recorded")


def _times(entry, zone):
    """(MS-DOS time, MS-DOS date, Unix time) of the entry, within what the fields can hold."""
    local = entry.modified.astimezone(zone)
    if local.year < 1980:
        local = local.replace(year=1980, month=1, day=1, hour=0, minute=0, second=0)
    elif local.year > 2107:
        local = local.replace(year=2107, month=12, day=31, hour=23, minute=59, second=58)
    dos_time = local.hour << 11 | local.minute << 5 | local.second // 2
    dos_date = (local.year - 1980) << 9 | local.month << 5 | local.day
    return dos_time, dos_date, min(max(int(entry.modified.timestamp()), 0), 0x7FFFFFFF)


def _local_header(entry, zone, zip64):
    name = entry.name.encode()
    dos_time, dos_date, unix_time = _times(entry, zone)
    zip64 = zip64 or entry.size >= LIMIT
    extra = struct.pack("<HHBI", 0x5455, 5, 1, unix_time)
    if zip64:
        extra += struct.pack("<HHQQ", 0x0001, 16, entry.size, entry.size)
    size = LIMIT if zip64 else entry.size
    flags = 0 if entry.name.isascii() else UTF8_NAMES
    return (
        struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            45 if zip64 else 10,
            flags,
            0,  # stored
            dos_time,
            dos_date,
            entry.crc32,
            size,
            size,
            len(name),
            len(extra),
        )
        + name
        + extra
    )


def _central_header(entry, zone, offset, zip64):
    name = entry.name.encode()
    dos_time, dos_date, unix_time = _times(entry, zone)
    wide = []  # the ZIP64 field holds, in this order, what does not fit its 32-bit field
    size = entry.size
    if zip64 or entry.size >= LIMIT:
        wide += [entry.size, entry.size]
        size = LIMIT
    if zip64 or offset >= LIMIT:
        wide.append(offset)
        offset = LIMIT
    extra = struct.pack("<HHBI", 0x5455, 5, 1, unix_time)
    if wide:
        extra += struct.pack(f"<HH{len(wide)}Q", 0x0001, 8 * len(wide), *wide)
    flags = 0 if entry.name.isascii() else UTF8_NAMES
    return (
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            MADE_BY,
            45 if wide else 10,
            flags,
            0,  # stored
            dos_time,
            dos_date,
            entry.crc32,
            size,
            size,
            len(name),
            len(extra),
            0,  # comment
            0,  # disk
            0,  # internal attributes
            EXTERNAL_ATTRIBUTES,
            offset,
        )
        + name
        + extra
    )


def _end_records(count, directory_offset, directory_size, zip64):
    """The end of central directory record, after the ZIP64 ones when anything needs them."""
    records = b""
    if zip64 or count >= 0xFFFF or directory_offset >= LIMIT or directory_size >= LIMIT:
        records += struct.pack(
            "<IQHHIIQQQQ",
            0x06064B50,
            44,  # the size of the rest of this record
            MADE_BY,
            45,
            0,
            0,
            count,
            count,
            directory_size,
            directory_offset,
        )
        records += struct.pack("<IIQI", 0x07064B50, 0, directory_offset + directory_size, 1)
    return records + struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        min(count, 0xFFFF),
        min(count, 0xFFFF),
        min(directory_size, LIMIT),
        min(directory_offset, LIMIT),
        0,  # comment
    )
