import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

import xaso
from xaso.core import selectors
from xaso.core.middleware import (
    database_unavailable_response,
    error_response,
    is_connection_failure,
)


@never_cache
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse(
            {"status": "error", "database": "unavailable", "version": xaso.__version__},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok", "version": xaso.__version__})


@login_required
def job_status(request, public_id: str):
    """The progress bar of a job; polls itself with HTMX until the job finishes."""
    job = selectors.job_get_for_user(user=request.user, public_id=public_id)
    template = "core/job.html#progress" if request.htmx else "core/job.html"
    return render(request, template, {"job": job})


@login_required
def job_download(request, public_id: str):
    job = selectors.job_get_for_user(user=request.user, public_id=public_id)
    relative = (job.result or {}).get("file") if job.status == job.Status.DONE else None
    if not relative:
        raise Http404
    path = (Path(settings.MEDIA_ROOT) / relative).resolve()
    if Path(settings.MEDIA_ROOT).resolve() not in path.parents or not path.exists():
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


# --- Error pages. They render without touching the database, which may be the thing that failed.
def error_400(request, exception=None):
    return error_response(request, 400, "Yêu cầu không hợp lệ", "Dữ liệu gửi lên không hợp lệ.")


def error_403(request, exception=None):
    message = "Bạn không có quyền thực hiện thao tác này."
    return error_response(request, 403, "Không có quyền", message)


def error_404(request, exception=None):
    message = "Trang hoặc bản ghi bạn tìm không tồn tại."
    return error_response(request, 404, "Không tìm thấy", message)


def error_500(request):
    if is_connection_failure(sys.exc_info()[1]):
        return database_unavailable_response(request)
    return error_response(
        request,
        500,
        "Đã xảy ra lỗi",
        "Hệ thống gặp sự cố ngoài ý muốn. Lỗi đã được ghi lại; vui lòng thử lại sau.",
    )
