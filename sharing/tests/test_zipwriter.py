"""The ZIP writer alone (sharing/zipwriter.py): ZIP64 read by unzip, 7-Zip and Python, archives
past 4 GiB laid out right without a byte of them written, and short files refused."""

import io
import os
import subprocess
import zipfile
import zlib
from datetime import UTC, datetime

import pytest

from sharing.zipwriter import LIMIT, Archive, Entry

WHEN = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def entry(name, data, size=None):
    return Entry(name, len(data) if size is None else size, zlib.crc32(data), WHEN, lambda a, b: iter([data[a:b]]))


def test_zip64_everywhere_is_read_by_every_tool(tmp_path):
    files = {"a.jpg": os.urandom(5000), "Sets/é.jpg": b"", "b.jpg": os.urandom(70_000)}
    archive = Archive([entry(name, data) for name, data in files.items()], zip64=True)
    data = b"".join(archive.read())
    assert len(data) == len(archive)
    path = tmp_path / "zip64.zip"
    path.write_bytes(data)
    for command in (["unzip", "-t", path], ["7z", "t", path]):
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(path) as opened:
        assert {name: opened.read(name) for name in opened.namelist()} == files


class Reader(io.RawIOBase):
    """An archive as a file that zipfile can seek in, read through Archive.read()."""

    def __init__(self, archive):
        self.archive, self.position = archive, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        self.position = {0: offset, 1: self.position + offset, 2: len(self.archive) + offset}[whence]
        return self.position

    def tell(self):
        return self.position

    def read(self, size=-1):
        stop = len(self.archive) if size < 0 else self.position + size
        data = b"".join(self.archive.read(self.position, stop))
        self.position += len(data)
        return data


def test_an_archive_past_4_gib_switches_to_zip64_where_it_must():
    chunk = b"\0" * (1 << 20)

    def zeros(start, stop):
        for position in range(start, stop, len(chunk)):
            yield chunk[: min(len(chunk), stop - position)]

    crc = zlib.crc32(b"")
    big = Entry("big.jpg", LIMIT + 10, crc, WHEN, zeros)  # more than a 32-bit size holds
    small = [Entry(f"after_{n}.jpg", 3, zlib.crc32(b"\0\0\0"), WHEN, zeros) for n in range(2)]
    archive = Archive([big, *small])  # nothing is read to lay it out
    assert len(archive) > LIMIT + 10
    with zipfile.ZipFile(Reader(archive)) as opened:
        infos = opened.infolist()
        assert [(info.filename, info.file_size) for info in infos] == [
            ("big.jpg", LIMIT + 10),
            ("after_0.jpg", 3),
            ("after_1.jpg", 3),
        ]
        assert infos[1].header_offset > LIMIT  # an offset past 4 GiB, in its ZIP64 field
        assert opened.read("after_1.jpg") == b"\0\0\0"


def test_a_stored_file_shorter_than_recorded_stops_the_download():
    archive = Archive([entry("short.jpg", b"12345", size=8)])
    with pytest.raises(OSError, match="shorter than recorded"):
        b"".join(archive.read())
