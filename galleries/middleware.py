import logging

from galleries.storage import STORAGE_ERRORS
from viewport.http import refuse

logger = logging.getLogger(__name__)


class StorageUnavailableMiddleware:
    """Turn a storage outage (S3 down, hung or refusing) into a clear 503, never a stack trace."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, STORAGE_ERRORS):
            return None
        logger.warning("Storage unavailable for %s: %s", request.path, exception)
        message = "Photo storage is unavailable right now. Please try again shortly."
        return refuse(request, 503, message, "503_storage.html", headers={"Retry-After": "30"})
