"""Log lines, as text or (VIEWPORT_LOG_FORMAT=json) one JSON object a line, each with the id of
the request it was written for. The id is the answer's X-Request-ID header too, so a client's
"it failed" comes with the key to its lines; gunicorn's access lines carry it as well."""

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID_HEADER = "X-Request-ID"
# An id a proxy in front gave the request is kept, if it looks like one (nothing to inject).
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

current_request_id = ContextVar("current_request_id", default=None)


class RequestIdMiddleware:
    """Give each request an id (the proxy's X-Request-ID, or a new one) for its log lines and
    its answer's X-Request-ID header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if VALID_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        # Left set when the answer is returned: Django logs a 4xx/5xx after the middleware, and a
        # streamed ZIP that fails does so later still. The thread's next request sets its own.
        current_request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each record (`request_id`, None outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, and the exception.

    gunicorn's access lines become fields (method, path, status, bytes, duration, client,
    user agent, and the request id from the answer's header) instead of an Apache line.
    """

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id.get(),
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            line.update(access_fields(record.args))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def access_fields(atoms):
    """The fields of one gunicorn access line, from its atoms (gunicorn's `Logger.atoms()`,
    which escape double quotes for its Apache format: JSON escapes them itself)."""

    def text(name):
        return atoms[name].replace('\\"', '"')

    request_id = atoms["{x-request-id}o"]
    return {
        "message": f"{atoms['m']} {text('U')} {atoms['s']}",
        "request_id": None if request_id == "-" else request_id,
        "method": atoms["m"],
        "path": text("U"),
        "query": text("q"),
        "status": int(atoms["s"]),
        "bytes": atoms["B"] or 0,
        "duration_ms": round(atoms["D"] / 1000, 1),
        "client": atoms["h"],
        "user_agent": text("a"),
    }


def gunicorn_logging(level="INFO"):
    """gunicorn's `logconfig_dict` for JSON lines: its own error and access logs as JSON on
    stderr and stdout."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "viewport.logs.JsonFormatter"}},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }
