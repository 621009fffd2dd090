import logging

from django.http import JsonResponse
from django.template.response import TemplateResponse

from galleries.storage import STORAGE_ERRORS
from viewport.http import wants_json

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
        if wants_json(request):
            response = JsonResponse(
                {"error": "Photo storage is unavailable right now. Please try again shortly."}, status=503
            )
        else:
            response = TemplateResponse(request, "503_storage.html", status=503).render()
        response["Retry-After"] = "30"
        return response
