"""Where photo bytes live, and how they reach a browser.

Two backends with the same few methods beyond Django's Storage API, so that callers just use
`default_storage` and never ask which one they have:

- `serve(key, filename=, content_type=, as_attachment=, max_age=)`: a response that hands the
  object to a browser, by the shortest way the backend has;
- `stream(key, …)`, the same arguments: a response that carries the bytes through the app, for
  what must stay behind the app's own checks on every request (thumbnails and previews);
- `iter_chunks(key)`: the object's bytes, chunk by chunk, opened when iteration starts;
- `list_keys(prefix, modified_before=)`: every key under a prefix (last written before a time);
- `delete_many(keys)`: delete, returning {key: error} for the ones that failed;
- `check()`: raise one of STORAGE_ERRORS unless storage answers right now, quickly.

Locally, files are streamed by our own views after their permission check. On S3 the bucket
stays private: downloads are a redirect to a short-lived signed URL, so big files never pass
through the app server, while thumbnails and previews (small, and many) pass through it.
"""

import hashlib
import hmac
import time
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from urllib.parse import quote, urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from viewport.metrics import STORAGE_ERRORS as FAILURES


class StorageUnavailable(Exception):
    """Photo storage did not answer a check."""


# Errors that mean "photo storage is down, slow or refusing us", as opposed to a bug.
STORAGE_ERRORS = (BotoCoreError, ClientError, ConnectionError, TimeoutError, StorageUnavailable)
CHUNK_SIZE = 4 * 1024 * 1024
UNREACHABLE_PAUSE = 5  # seconds


def _name_and_cache(response, filename, as_attachment, max_age):
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    response["Cache-Control"] = f"private, max-age={max_age}" if max_age else "private, no-cache"


class LocalPhotoStorage(FileSystemStorage):
    """Photos in a folder on this machine: the embedded default."""

    def serve(self, key, **kwargs):
        return self.stream(key, **kwargs)  # no other way to a browser than through the app

    def stream(self, key, *, filename, content_type, as_attachment=False, max_age=0):
        """The file, streamed. The Content-Type comes from the decoded image, never from what
        the uploader declared, and the answer names the file, so an uploaded file cannot run
        as a page on our origin."""
        try:
            file = self.open(key, "rb")
        except FileNotFoundError:
            raise Http404("This photo's file is missing from storage.") from None
        response = FileResponse(file, content_type=content_type)
        _name_and_cache(response, filename, as_attachment, max_age)
        return response

    def iter_chunks(self, key, chunk_size=CHUNK_SIZE):
        with self.open(key, "rb") as file:
            while chunk := file.read(chunk_size):
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

    def check(self):
        try:
            self.listdir("")
        except FileNotFoundError:
            pass  # nothing uploaded yet
        except OSError as error:
            FAILURES.labels("check").inc()
            raise StorageUnavailable(f"{self.location}: {error}") from error


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

    def serve(self, key, *, filename, content_type, as_attachment=False, max_age=0):
        """A redirect to a signed URL that makes S3 answer with our type, name and caching. The
        URL works for AWS_QUERYSTRING_EXPIRE seconds (60), whatever happens to the link it was
        handed out through."""
        url = self.url(
            key,
            parameters={
                "ResponseContentDisposition": content_disposition_header(as_attachment, filename),
                "ResponseContentType": content_type,
                "ResponseCacheControl": f"private, max-age={max_age or 3600}",
            },
        )
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-cache"
        return response

    def stream(self, key, *, filename, content_type, as_attachment=False, max_age=0):
        """A small object (a thumbnail or preview) read whole through the quick client. Pages
        ask for a hundred of these at once: when S3 fails one, the rest fail at once for a
        few seconds rather than each wait out a timeout and hold a worker thread."""
        if time.monotonic() < self._unreachable_until:
            raise StorageUnavailable("S3 failed moments ago; not asking again yet.")
        try:
            body = self.quick_client.get_object(Bucket=self.bucket_name, Key=self._key(key))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise Http404("This photo's file is missing from storage.") from error
            raise
        except STORAGE_ERRORS:
            self._unreachable_until = time.monotonic() + UNREACHABLE_PAUSE
            raise
        response = HttpResponse(body, content_type=content_type)
        _name_and_cache(response, filename, as_attachment, max_age)
        return response

    def iter_chunks(self, key, chunk_size=CHUNK_SIZE):
        body = self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=self._key(key))["Body"]
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
        expire = expire or self.querystring_expire
        window = max(expire // 2, 1)
        now = int(time.time())
        signed_at = datetime.fromtimestamp(now - now % window, UTC)
        query = {_RESPONSE_PARAMETERS[k]: v for k, v in (parameters or {}).items()}
        return presigned_get_url(
            base_url=self._base_url(),
            key=self._key(name),
            region=self.region_name or "us-east-1",
            access_key=self.access_key,
            secret_key=self.secret_key,
            signed_at=signed_at,
            expires_in=expire,
            query=query,
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


def presigned_get_url(*, base_url, key, region, access_key, secret_key, signed_at, expires_in, query):
    """A SigV4 query-string signed GET URL (AWS's "Authenticating Requests: Using Query Parameters")."""
    parts = urlsplit(base_url)
    amz_date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    path = _uri_encode(f"{parts.path}/{key}", safe="/")
    params = {
        **query,
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": "host",
    }
    canonical_query = "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(params.items()))
    canonical_request = f"GET\n{path}\n{canonical_query}\nhost:{parts.netloc}\n\nhost\nUNSIGNED-PAYLOAD"
    string_to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    signature = hmac.new(_signing_key(secret_key, amz_date[:8], region), string_to_sign.encode(), hashlib.sha256)
    return f"{parts.scheme}://{parts.netloc}{path}?{canonical_query}&X-Amz-Signature={signature.hexdigest()}"
