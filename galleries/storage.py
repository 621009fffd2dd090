"""Where photo bytes live.

Two backends with the same few methods beyond Django's Storage API, so that callers just use
`default_storage` and never ask which one they have:

- `download_url(key, filename=, content_type=, as_attachment=)`: an address a browser can fetch
  the object from without passing through the app (S3: a short-lived signed URL, which serves
  ranges itself), or None when there is none (local files);
- `read_small(key)`: a small object's bytes (a thumbnail or preview), failing fast;
- `iter_chunks(key, start=, stop=, sendable=)`: the object's bytes from `start` to `stop`, chunk
  by chunk, opened when iteration starts; with `sendable`, local files come as FileRange pieces
  (unread: a server can send them with os.sendfile) rather than bytes;
- `list_keys(prefix, modified_before=)`: every key under a prefix (last written before a time);
- `delete_many(keys)`: delete, returning {key: error} for the ones that failed;
- `check()`: raise one of STORAGE_ERRORS unless storage answers right now, quickly;
- multipart uploads, which the browser fills part by part (galleries/uploads.py):
  `start_parts(key)` returns the upload's id; `part_url(key, upload_id, number, length)` takes a PUT
  of that part's bytes (`length` of them, no other); `stored_parts(key, upload_id)` is {number: StoredPart};
  `join_parts(key, upload_id, parts)` makes them the object; `abort_parts(key, upload_id)`
  deletes them. Each raises one of STORAGE_ERRORS, or NoSuchUpload for an upload that is gone.

A missing object is a FileNotFoundError from either. The HTTP answers built from these are
galleries/serving.py's. On S3 the bucket stays private.
"""

import hashlib
import hmac
import os
import re
import select
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from viewport.metrics import STORAGE_ERRORS as FAILURES


class StorageUnavailable(Exception):
    """Photo storage did not answer a check."""


class NoSuchUpload(Exception):
    """The multipart upload is not in storage (completed or aborted already)."""


class StoredPart(NamedTuple):
    size: int
    modified: datetime
    etag: str = ""


# Errors that mean "photo storage is down, slow or refusing us", as opposed to a bug.
STORAGE_ERRORS = (BotoCoreError, ClientError, ConnectionError, TimeoutError, StorageUnavailable)
CHUNK_SIZE = 4 * 1024 * 1024
PART_URL_LIFETIME = 24 * 3600  # seconds: a part URL handed out works as long as an upload may rest
UNREACHABLE_PAUSE = 5  # seconds


class FileRange:
    """`length` bytes at `offset` of an open file, not read yet: `bytes(piece)` reads them, and
    `send(socket)` hands them to the kernel (os.sendfile: no copy through Python). Valid until
    the iteration that yielded it goes on."""

    def __init__(self, file, offset, length):
        self.file, self.offset, self.length = file, offset, length

    def __len__(self):
        return self.length

    def __bytes__(self):
        return os.pread(self.file.fileno(), self.length, self.offset)

    def send(self, sock, piece_size):
        """Send it by os.sendfile, `piece_size` bytes at most at a time, giving up when the
        client has taken nothing for the socket's timeout: a slow reader that keeps reading
        finishes, one that stopped is cut off. The socket says it is writable only once much
        of its (auto-sized, up to megabytes) send buffer is free, so a send is tried again
        every second meanwhile: any byte the client took is progress."""
        timeout, offset, end = sock.gettimeout(), self.offset, self.offset + self.length
        writable = select.poll()
        writable.register(sock, select.POLLOUT)
        deadline = None if timeout is None else time.monotonic() + timeout
        while offset < end:
            try:
                sent = os.sendfile(sock.fileno(), self.file.fileno(), offset, min(piece_size, end - offset))
            except BlockingIOError:  # a socket with a timeout does not block
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out") from None
                writable.poll(min(left, 1) * 1000)
                continue
            if not sent:
                raise OSError(f"{self.file.name}: shorter than recorded")
            offset += sent
            deadline = None if timeout is None else time.monotonic() + timeout


class LocalPhotoStorage(FileSystemStorage):
    """Photos in a folder on this machine: the embedded default. Browsers get them through the
    app's own answers, after its permission checks."""

    def download_url(self, key, **kwargs):
        return None

    def read_small(self, key):
        with self.open(key, "rb") as file:
            return file.read()

    def iter_chunks(self, key, chunk_size=CHUNK_SIZE, start=0, stop=None, sendable=False):
        with self.open(key, "rb") as file:
            if sendable:  # fewer, larger pieces, each sent by FileRange.send
                stop = min(os.fstat(file.fileno()).st_size, float("inf") if stop is None else stop)
                for offset in range(start, int(stop), CHUNK_SIZE):
                    yield FileRange(file, offset, int(min(CHUNK_SIZE, stop - offset)))
                return
            file.seek(start)
            left = float("inf") if stop is None else stop - start
            while left > 0 and (chunk := file.read(int(min(chunk_size, left)))):
                left -= len(chunk)
                yield chunk

    def list_keys(self, prefix="", modified_before=None):
        root = prefix.rstrip("/")
        try:
            folders, files = self.listdir(root)
        except FileNotFoundError:
            return
        for name in files:
            key = f"{root}/{name}" if root else name
            if modified_before is None or self.get_modified_time(key) < modified_before:
                yield key
        for folder in folders:
            yield from self.list_keys(f"{root}/{folder}/" if root else f"{folder}/", modified_before)

    def delete_many(self, keys):
        failed = {}
        for key in keys:
            try:
                self.delete(key)
            except OSError as error:
                failed[key] = str(error)
        return failed

    # Parts of unfinished uploads live outside the keys (list_keys never sees them), on the same
    # disk, so that joining them ends in a rename.
    def _parts_dir(self, upload_id):
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise NoSuchUpload(upload_id)
        return Path(self.location).parent / f"{Path(self.location).name}-parts" / upload_id

    def start_parts(self, key):
        upload_id = uuid.uuid4().hex
        self._parts_dir(upload_id).mkdir(parents=True)
        return upload_id

    def part_url(self, key, upload_id, number, length):
        # The part endpoint takes exactly the part's length (it knows it from the upload).
        return reverse("galleries:upload_part", args=[signing.dumps([upload_id, number])])

    def write_part(self, upload_id, number, stream, length):
        """Store part `number` from `stream` if exactly `length` bytes arrive; a body cut short
        leaves nothing (the part is sent again). Returns whether it was stored."""
        folder = self._parts_dir(upload_id)
        if not folder.is_dir():
            raise NoSuchUpload(upload_id)
        partial = folder / f"{number}.{uuid.uuid4().hex}.partial"
        received = 0
        try:
            with partial.open("wb") as file:
                while received <= length and (chunk := stream.read(min(CHUNK_SIZE, length + 1 - received))):
                    file.write(chunk)
                    received += len(chunk)
            if received != length:
                return False
            partial.replace(folder / str(number))
            return True
        finally:
            partial.unlink(missing_ok=True)

    def stored_parts(self, key, upload_id):
        folder = self._parts_dir(upload_id)
        if not folder.is_dir():
            raise NoSuchUpload(upload_id)
        parts = {}
        for path in folder.iterdir():
            if path.name.isdigit():
                stat = path.stat()
                parts[int(path.name)] = StoredPart(stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))
        return parts

    def join_parts(self, key, upload_id, parts):
        folder = self._parts_dir(upload_id)
        if not folder.is_dir():
            raise NoSuchUpload(upload_id)
        joined = folder / "joined"
        with joined.open("wb") as out:
            for number in sorted(parts):
                with (folder / str(number)).open("rb") as part:
                    shutil.copyfileobj(part, out, CHUNK_SIZE)
        target = Path(self.path(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        joined.replace(target)
        shutil.rmtree(folder, ignore_errors=True)

    def abort_parts(self, key, upload_id):
        shutil.rmtree(self._parts_dir(upload_id), ignore_errors=True)

    def abort_unknown_uploads(self, known, started_before):
        root = Path(self.location).parent / f"{Path(self.location).name}-parts"
        aborted = 0
        for folder in root.iterdir() if root.is_dir() else ():
            modified = datetime.fromtimestamp(folder.stat().st_mtime, UTC)
            if folder.name not in known and modified < started_before:
                shutil.rmtree(folder, ignore_errors=True)
                aborted += 1
        return aborted

    @contextmanager
    def local_copy(self, key):
        """The object as a file on this machine, open at its start: here, the file itself."""
        with self.open(key, "rb") as file:
            yield _SizedFile(file, file.size)

    def check(self):
        try:
            self.listdir("")
        except FileNotFoundError:
            pass  # nothing uploaded yet
        except OSError as error:
            FAILURES.labels("check").inc()
            raise StorageUnavailable(f"{self.location}: {error}") from error


class _SizedFile(File):
    """A stored original as make_renditions and store_photo read it: a file with a size and a
    name on disk (libvips reads it there)."""

    def __init__(self, file, size):
        super().__init__(file)
        self._size = size
        self._path = file.name

    @property
    def size(self):
        return self._size

    def temporary_file_path(self):
        return self._path


_RESPONSE_PARAMETERS = {
    "ResponseCacheControl": "response-cache-control",
    "ResponseContentDisposition": "response-content-disposition",
    "ResponseContentType": "response-content-type",
}


class PhotoS3Storage(S3Storage):
    """A private S3 bucket, whose signed URLs are cheap to make and stay the same for a while.

    botocore takes ~0.3 ms to presign a URL and stamps it with the current second, so every page
    view gets new URLs that browsers cannot cache. We sign with SigV4 ourselves, with the signing
    time rounded down to half the lifetime: a URL is identical for that window, and valid for at
    least half its lifetime after it was handed out.
    """

    _unreachable_until = 0.0  # time.monotonic() before which stream() does not try S3

    def download_url(self, key, *, filename, content_type, as_attachment=True):
        """A signed URL that makes S3 answer with our type, name and caching. It works for
        AWS_QUERYSTRING_EXPIRE seconds (60), whatever happens to the link it was handed out
        through."""
        return self.url(
            key,
            parameters={
                "ResponseContentDisposition": content_disposition_header(as_attachment, filename),
                "ResponseContentType": content_type,
                "ResponseCacheControl": "private, max-age=3600",
            },
        )

    def read_small(self, key):
        """A small object (a thumbnail or preview) read whole through the quick client. Pages
        ask for a hundred of these at once: when S3 fails one, the rest fail at once for a
        few seconds rather than each wait out a timeout and hold a worker thread."""
        if time.monotonic() < self._unreachable_until:
            raise StorageUnavailable("S3 failed moments ago; not asking again yet.")
        try:
            return self.quick_client.get_object(Bucket=self.bucket_name, Key=self._key(key))["Body"].read()
        except ClientError as error:
            if _is_missing(error):
                raise FileNotFoundError(key) from error
            raise
        except STORAGE_ERRORS:
            self._unreachable_until = time.monotonic() + UNREACHABLE_PAUSE
            raise

    def iter_chunks(self, key, chunk_size=CHUNK_SIZE, start=0, stop=None, sendable=False):
        if stop is not None and stop <= start:
            return
        request = {"Bucket": self.bucket_name, "Key": self._key(key)}
        if start or stop is not None:
            request["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
        try:
            body = self.connection.meta.client.get_object(**request)["Body"]
        except ClientError as error:
            if _is_missing(error):
                raise FileNotFoundError(key) from error
            raise
        try:
            yield from body.iter_chunks(chunk_size)
        except BotoCoreError:
            FAILURES.labels("GetObject").inc()  # the body stopped coming: no API call saw it
            raise
        finally:
            body.close()

    def list_keys(self, prefix="", modified_before=None):
        paginator = self.connection.meta.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=prefix):
            for item in page.get("Contents", []):
                if modified_before is None or item["LastModified"] < modified_before:
                    yield item["Key"]

    def delete_many(self, keys):
        """Delete objects in batches of 1,000 (S3's limit per request)."""
        keys = list(keys)
        client = self.connection.meta.client
        failed = {}
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            try:
                result = client.delete_objects(
                    Bucket=self.bucket_name,
                    Delete={"Objects": [{"Key": self._key(key)} for key in batch], "Quiet": True},
                )
            except STORAGE_ERRORS as error:
                failed.update(dict.fromkeys(batch, str(error)))
                continue
            for error in result.get("Errors", []):
                failed[error["Key"]] = error.get("Message", error.get("Code", "unknown error"))
        return failed

    def check(self):
        self.quick_client.head_bucket(Bucket=self.bucket_name)

    # Multipart uploads go through upload_client: one try each, so that a hung S3 fails an upload's
    # request within 10 s whatever it asks (the other clients retry).
    def start_parts(self, key):
        # Stored as plain bytes: the photo's type comes from decoding it, never from the browser.
        created = self.upload_client.create_multipart_upload(
            Bucket=self.bucket_name, Key=self._key(key), ContentType="application/octet-stream"
        )
        return created["UploadId"]

    def part_url(self, key, upload_id, number, length):
        """A signed URL that takes a PUT of the part straight into the bucket, for a day. Its
        length is signed too: the bucket refuses a body of any other length (browsers send the
        Content-Length of the slice they PUT)."""
        return self._signed_url(
            "PUT",
            key,
            {"partNumber": str(number), "uploadId": upload_id},
            expires_in=PART_URL_LIFETIME,
            headers={"content-length": str(length)},
        )

    def stored_parts(self, key, upload_id):
        parts = {}
        try:
            pages = self.upload_client.get_paginator("list_parts").paginate(
                Bucket=self.bucket_name, Key=self._key(key), UploadId=upload_id
            )
            for page in pages:
                for part in page.get("Parts", []):
                    parts[part["PartNumber"]] = StoredPart(part["Size"], part["LastModified"], part["ETag"])
        except ClientError as error:
            _raise_if_no_such_upload(error, upload_id)
            raise
        return parts

    def join_parts(self, key, upload_id, parts):
        """Complete the upload from `parts` ({number: StoredPart}, from stored_parts())."""
        try:
            self.upload_client.complete_multipart_upload(
                Bucket=self.bucket_name,
                Key=self._key(key),
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": number, "ETag": part.etag} for number, part in sorted(parts.items())]
                },
            )
        except ClientError as error:
            _raise_if_no_such_upload(error, upload_id)
            raise

    def abort_parts(self, key, upload_id):
        try:
            self.upload_client.abort_multipart_upload(Bucket=self.bucket_name, Key=self._key(key), UploadId=upload_id)
        except ClientError as error:
            if _error_code(error) != "NoSuchUpload":
                raise

    def abort_unknown_uploads(self, known, started_before):
        """Abort the multipart uploads under our prefix that were started before a time and
        whose ids are not `known`; returns how many."""
        aborted = 0
        paginator = self.upload_client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=self._key("")):
            for upload in page.get("Uploads", []):
                if upload["UploadId"] not in known and upload["Initiated"] < started_before:
                    self.upload_client.abort_multipart_upload(
                        Bucket=self.bucket_name, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted

    @contextmanager
    def local_copy(self, key):
        """The object in a temporary file on this machine (read in pieces), open at its start."""
        with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR, suffix=".upload") as file:
            for chunk in self.iter_chunks(key):
                file.write(chunk)
            file.flush()
            file.seek(0)
            yield _SizedFile(file, file.tell() or os.fstat(file.fileno()).st_size)

    @cached_property
    def upload_client(self):
        return self._create_session().client(
            "s3",
            region_name=self.region_name,
            use_ssl=self.use_ssl,
            endpoint_url=self.endpoint_url,
            config=self.client_config.merge(Config(retries={"max_attempts": 1, "mode": "standard"})),
            verify=self.verify,
        )

    def _create_session(self):
        """A boto3 session whose clients (this storage's and the quick one) count their failed
        calls: every S3 failure of the app, whatever asked, in viewport_storage_errors_total."""
        session = super()._create_session()
        session.events.register("after-call-error.s3", count_failed_call)
        session.events.register("after-call.s3", count_failed_answer)
        return session

    @cached_property
    def quick_client(self):
        """A client that gives up after one short try: for checks, which must answer fast."""
        quick = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"})
        return self._create_session().client(
            "s3",
            region_name=self.region_name,
            use_ssl=self.use_ssl,
            endpoint_url=self.endpoint_url,
            config=self.client_config.merge(quick),
            verify=self.verify,
        )

    def url(self, name, parameters=None, expire=None, http_method=None):
        if not (self.access_key and self.secret_key) or self.security_token or http_method not in (None, "GET"):
            return super().url(name, parameters, expire, http_method)
        query = {_RESPONSE_PARAMETERS[k]: v for k, v in (parameters or {}).items()}
        return self._signed_url("GET", name, query, expire or self.querystring_expire)

    def _signed_url(self, method, name, query, expires_in, headers=None):
        window = max(expires_in // 2, 1)
        now = int(time.time())
        signed_at = datetime.fromtimestamp(now - now % window, UTC)
        return presigned_url(
            method=method,
            base_url=self._base_url(),
            key=self._key(name),
            region=self.region_name or "us-east-1",
            access_key=self.access_key,
            secret_key=self.secret_key,
            signed_at=signed_at,
            expires_in=expires_in,
            query=query,
            headers=headers,
        )

    def get_default_settings(self):
        # Browsers may reach S3 at another address than the app server does (docker-compose, a CDN).
        return {**super().get_default_settings(), "public_endpoint_url": None}

    def _key(self, name):
        return self._normalize_name(clean_name(name))

    def _base_url(self):
        endpoint = self.public_endpoint_url or self.endpoint_url or f"https://s3.{self.region_name}.amazonaws.com"
        endpoint = endpoint.rstrip("/")
        if self.addressing_style == "virtual":
            parts = urlsplit(endpoint)
            return f"{parts.scheme}://{self.bucket_name}.{parts.netloc}"
        return f"{endpoint}/{self.bucket_name}"


def _is_missing(error):
    return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404")


def count_failed_call(event_name, **kwargs):
    """A call that got no answer (S3 down, hung, a connection cut), after its retries."""
    FAILURES.labels(event_name.rsplit(".", 1)[-1]).inc()


def count_failed_answer(event_name, http_response, **kwargs):
    """An answer that says storage is failing (5xx) or refuses our credentials (401, 403); a
    404 for a missing object is an answer about that object, not a failure of storage."""
    if http_response.status_code >= 500 or http_response.status_code in (401, 403):
        FAILURES.labels(event_name.rsplit(".", 1)[-1]).inc()


def _uri_encode(value, safe=""):
    return quote(value, safe="-_.~" + safe)


@lru_cache(maxsize=16)
def _signing_key(secret_key, date, region):
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _error_code(error):
    return error.response.get("Error", {}).get("Code")


def _raise_if_no_such_upload(error, upload_id):
    if _error_code(error) in ("NoSuchUpload", "404"):
        raise NoSuchUpload(upload_id) from error


def presigned_url(*, method, base_url, key, region, access_key, secret_key, signed_at, expires_in, query, headers=None):
    """A SigV4 query-string signed URL (AWS's "Authenticating Requests: Using Query Parameters");
    `headers` ({lowercase name: value}) must come with the request as signed, besides the host."""
    parts = urlsplit(base_url)
    headers = {"host": parts.netloc, **(headers or {})}
    signed_headers = ";".join(sorted(headers))
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in sorted(headers.items()))
    amz_date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    path = _uri_encode(f"{parts.path}/{key}", safe="/")
    params = {
        **query,
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": signed_headers,
    }
    canonical_query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(params.items()))
    canonical_request = f"{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\nUNSIGNED-PAYLOAD"
    string_to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    signature = hmac.new(_signing_key(secret_key, amz_date[:8], region), string_to_sign.encode(), hashlib.sha256)
    return f"{parts.scheme}://{parts.netloc}{path}?{canonical_query}&X-Amz-Signature={signature.hexdigest()}"
