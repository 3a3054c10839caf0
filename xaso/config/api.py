"""The JSON API at /api/v1/: one NinjaAPI, one router per app, errors as {"detail": "…"}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer, django_auth

import xaso
from xaso.accounts.api import router as accounts_router
from xaso.accounts.tokens import token_authenticate
from xaso.core.api import router as core_router
from xaso.core.errors import DomainError, InvalidInput
from xaso.dossiers.api import public_router as dossiers_public_router
from xaso.dossiers.api import router as dossiers_router
from xaso.dossiers.receipts_api import router as receipts_router
from xaso.indicators.api import router as indicators_router
from xaso.lib.text import without_nul
from xaso.notify.api import router as notify_router
from xaso.places.api import router as places_router
from xaso.safety.api import router as safety_router
from xaso.safety.ingest_api import router as ingest_router
from xaso.survey.api import router as survey_router
from xaso.traceability.api import router as traceability_router


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class UnicodeJSONRenderer(JSONRenderer):
    """Vietnamese text stays readable in responses instead of unicode escapes."""

    json_dumps_params = {"ensure_ascii": False}


class CleanJSONParser(Parser):
    """Every JSON body with its NUL characters dropped: PostgreSQL refuses them in text, and a
    lookup by a code holding one was a 500. (Lone surrogates are refused by the schemas.)"""

    def parse_body(self, request):
        return without_nul(super().parse_body(request))


api = NinjaAPI(
    renderer=UnicodeJSONRenderer(),
    parser=CleanJSONParser(),
    title="XãSố API",
    version=xaso.__version__,
    description="API của nền tảng xã thông minh XãSố. Xác thực bằng phiên đăng nhập hoặc "
    "`Authorization: Bearer <token>` (tạo bằng `xaso token create USERNAME`).",
    auth=[BearerToken(), django_auth],
    urls_namespace="api",
)
api.add_router("/", core_router)
api.add_router("/", places_router)
api.add_router("/", accounts_router)
api.add_router("/", traceability_router)
api.add_router("/", notify_router)
api.add_router("/safety", ingest_router)
api.add_router("/", safety_router)
api.add_router("/", dossiers_router)
api.add_router("/", dossiers_public_router)
api.add_router("/", receipts_router)
api.add_router("/", survey_router)
api.add_router("/", indicators_router)


@api.exception_handler(InvalidInput)
def invalid_input(request, error: InvalidInput):
    body = {"detail": error.message}
    if error.field:
        body["field"] = error.field
    return api.create_response(request, body, status=422)


@api.exception_handler(DomainError)
def domain_error(request, error: DomainError):
    return api.create_response(request, {"detail": error.message}, status=409)


@api.exception_handler(ValidationError)
def validation_error(request, error: ValidationError):
    return api.create_response(
        request,
        {"detail": "Dữ liệu gửi lên không hợp lệ.", "errors": _plain_errors(error.errors)},
        status=422,
    )


@api.exception_handler(AuthenticationError)
def not_authenticated(request, error):
    return api.create_response(
        request, {"detail": "Chưa đăng nhập hoặc khoá API không hợp lệ."}, status=401
    )


@api.exception_handler(PermissionDenied)
def permission_denied(request, error: PermissionDenied):
    """403 with the action's own reason when it gave one ("Hộ này không thuộc thôn …")."""
    message = str(error) or _HTTP_ERROR_MESSAGES[403]
    return api.create_response(request, {"detail": message}, status=403)


@api.exception_handler(Http404)
def not_found(request, error):
    return api.create_response(request, {"detail": "Không tìm thấy."}, status=404)


_HTTP_ERROR_MESSAGES = {
    400: "Không đọc được nội dung yêu cầu: JSON không hợp lệ.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    405: "Phương thức không được hỗ trợ.",
}


@api.exception_handler(HttpError)
def http_error(request, error: HttpError):
    message = _HTTP_ERROR_MESSAGES.get(error.status_code, str(error))
    return api.create_response(request, {"detail": message}, status=error.status_code)


def _plain_errors(errors: list) -> list[dict]:
    """Keep location and message only: pydantic's `input` could echo personal data back."""
    return [{"loc": list(item.get("loc", [])), "msg": item.get("msg", "")} for item in errors]
