"""Channel kinds: how each one's settings are checked, shown, and how a message is handed to it.

Every sender is plain HTTP with a short timeout (XASO_NOTIFY_TIMEOUT), except e-mail (Django's
mail) and web push (pywebpush). Nothing touches the network at import. A sender raises
SendError; `permanent=True` means a retry cannot help (missing configuration, a 4xx answer, an
expired push subscription).
"""

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from xaso.core.errors import InvalidInput
from xaso.lib import crypto
from xaso.lib.vn import normalize_phone
from xaso.notify import conf
from xaso.notify.models import Kind

USER_AGENT = "XaSo-Notify/1"
SIGNATURE_HEADER = "X-Xaso-Signature"
TIMESTAMP_HEADER = "X-Xaso-Timestamp"
NTFY_DEFAULT_SERVER = "https://ntfy.sh"
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NTFY_PRIORITY = {"low": "2", "normal": "3", "high": "4", "urgent": "5"}
_PUSH_URGENCY = {"low": "low", "normal": "normal", "high": "high", "urgent": "high"}


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """What a sender needs: the message as absolute links, and where it goes."""

    delivery_id: str
    message_id: str
    subject: str
    body: str
    url: str
    actions: list[dict]
    severity: str
    created_at: str

    def text(self) -> str:
        lines = [self.subject]
        if self.body:
            lines.append(self.body)
        if self.url:
            lines.append(self.url)
        lines += [f"{action['label']}: {action['url']}" for action in self.actions]
        return "\n".join(lines)


# --- Checking a channel's settings -------------------------------------------------------------
def _text(raw: dict, field: str, *, max_length: int = 500) -> str:
    value = str(raw.get(field) or "").strip()
    if len(value) > max_length:
        raise InvalidInput(_("Tối đa %(n)s ký tự.") % {"n": max_length}, field=field)
    return value


def _http_url(raw: dict, field: str, *, required: str) -> str:
    url = _text(raw, field)
    if not url:
        raise InvalidInput(required, field=field)
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise InvalidInput(_("Địa chỉ phải bắt đầu bằng http:// hoặc https://."), field=field)
    return url


def _phone(raw: dict) -> str:
    phone = normalize_phone(_text(raw, "phone", max_length=20))
    if phone is None:
        raise InvalidInput(_("Số điện thoại không hợp lệ."), field="phone")
    return phone


def _email(raw: dict) -> str:
    email = _text(raw, "email", max_length=254)
    try:
        validate_email(email)
    except ValidationError as error:
        raise InvalidInput(_("Địa chỉ thư điện tử không hợp lệ."), field="email") from error
    return email


def _b64url_bytes(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _subscription(raw: dict) -> dict:
    subscription = raw.get("subscription")
    if isinstance(subscription, str):
        try:
            subscription = json.loads(subscription)
        except ValueError:
            subscription = None
    if not isinstance(subscription, dict) or not isinstance(subscription.get("keys"), dict):
        raise InvalidInput(
            _("Thiếu thông tin đăng ký nhận thông báo của trình duyệt."), field="subscription"
        )
    endpoint = _http_url(
        subscription, "endpoint", required=_("Thiếu địa chỉ nhận thông báo của trình duyệt.")
    )
    keys = {}
    for name, size in (("p256dh", 65), ("auth", 16)):
        value = str(subscription["keys"].get(name) or "")
        try:
            valid = len(_b64url_bytes(value)) == size
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            raise InvalidInput(
                _("Khoá %(name)s của trình duyệt không hợp lệ.") % {"name": name},
                field="subscription",
            )
        keys[name] = value
    return {"endpoint": endpoint, "keys": keys}


def clean_config(kind: str, raw: dict) -> dict:
    """The settings to store for a new channel of `kind`; InvalidInput names the bad field."""
    if kind == Kind.WEBHOOK:
        return {"url": _http_url(raw, "url", required=_("Vui lòng nhập địa chỉ webhook."))}
    if kind == Kind.EMAIL:
        return {"email": _email(raw)}
    if kind == Kind.WEBPUSH:
        return {"subscription": _subscription(raw)}
    if kind == Kind.NTFY:
        server = _text(raw, "server") or NTFY_DEFAULT_SERVER
        server = _http_url({"server": server}, "server", required="").rstrip("/")
        topic = _text(raw, "topic", max_length=64)
        if not _TOPIC.match(topic):
            raise InvalidInput(
                _("Chủ đề ntfy gồm chữ cái, chữ số, '-' hoặc '_' (tối đa 64 ký tự)."),
                field="topic",
            )
        config = {"server": server, "topic": topic}
        if token := _text(raw, "token", max_length=200):
            config["token"] = token
        return config
    if kind == Kind.ZALO:
        template_id = _text(raw, "template_id", max_length=40) or settings.XASO_ZALO_TEMPLATE_ID
        if not template_id:
            raise InvalidInput(_("Vui lòng nhập mã mẫu tin ZNS."), field="template_id")
        return {"phone": _phone(raw), "template_id": template_id}
    if kind == Kind.SMS:
        return {"phone": _phone(raw)}
    raise InvalidInput(_("Loại kênh không hợp lệ."), field="kind")


def clean_address(kind: str, address: str) -> str:
    """A direct address (a citizen without an account): a phone number or an e-mail."""
    if kind in {Kind.SMS, Kind.ZALO}:
        return _phone({"phone": address})
    if kind == Kind.EMAIL:
        return _email({"email": address})
    raise InvalidInput(_("Chỉ gửi trực tiếp qua SMS, Zalo hoặc thư điện tử."), field="kind")


def fingerprint(kind: str, config: dict) -> str:
    """Keyed hash of where a channel leads, to refuse registering the same place twice."""
    if kind == Kind.WEBPUSH:
        identity = config["subscription"]["endpoint"]
    elif kind == Kind.NTFY:
        identity = f"{config['server']}/{config['topic']}"
    else:
        identity = config.get("url") or config.get("email") or config.get("phone") or ""
    return crypto.lookup_hash(f"{kind}:{identity}", secret=settings.FIELD_ENCRYPTION_KEY)


def _mask(value: str, keep: int = 3) -> str:
    return "•" * max(0, len(value) - keep) + value[-keep:]


def summary(kind: str, config: dict) -> str:
    """A description safe to show: never a secret, a full topic or a full number."""
    if kind == Kind.WEBHOOK:
        return urlparse(config["url"]).hostname or ""
    if kind == Kind.EMAIL:
        name, _at, domain = config["email"].partition("@")
        return f"{name[:1]}•••@{domain}"
    if kind == Kind.WEBPUSH:
        return urlparse(config["subscription"]["endpoint"]).hostname or ""
    if kind == Kind.NTFY:
        return f"{urlparse(config['server']).hostname}/{config['topic'][:3]}…"
    return _mask(config.get("phone", ""))


# --- HTTP ---------------------------------------------------------------------------------------
def _check_public(url: str) -> None:
    """Refuse a user-entered URL that reaches this machine or its private network."""
    if conf.allow_private_urls():
        return
    host = urlparse(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        raise SendError(_("Không phân giải được tên máy %(host)s.") % {"host": host}) from error
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise SendError(
                _("Địa chỉ %(host)s thuộc mạng nội bộ; không được phép gửi đến.") % {"host": host},
                permanent=True,
            )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET, or lead past the private-address check."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, data: bytes, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"User-Agent": USER_AGENT, **headers}
    )
    try:
        with _opener.open(request, timeout=conf.timeout()) as response:
            return response.read(65536)
    except urllib.error.HTTPError as error:
        status = error.code
        if 300 <= status < 400:
            raise SendError(
                _("Máy nhận chuyển hướng (HTTP %(status)s); hãy nhập địa chỉ cuối cùng.")
                % {"status": status},
                permanent=True,
            ) from error
        permanent = 400 <= status < 500 and status not in {408, 425, 429}
        raise SendError(
            _("Máy nhận trả lời lỗi HTTP %(status)s.") % {"status": status}, permanent=permanent
        ) from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SendError(_("Không kết nối được: %(reason)s") % {"reason": reason}) from error


def _json_body(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _encoded_header(value: str) -> str:
    """An HTTP header value; non-ASCII text as one RFC 2047 word (ntfy decodes it)."""
    if value.isascii():
        return value
    return f"=?UTF-8?B?{base64.b64encode(value.encode()).decode()}?="


# --- Senders ------------------------------------------------------------------------------------
def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def send_webhook(out: Outgoing, config: dict, address: str) -> None:
    _check_public(config["url"])
    body = _json_body(
        {
            "id": out.message_id,
            "delivery": out.delivery_id,
            "subject": out.subject,
            "body": out.body,
            "url": out.url,
            "actions": out.actions,
            "severity": out.severity,
            "created_at": out.created_at,
        }
    )
    timestamp = str(int(time.time()))
    _post(
        config["url"],
        body,
        {
            "Content-Type": "application/json; charset=utf-8",
            "X-Xaso-Delivery": out.delivery_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: webhook_signature(config["secret"], timestamp, body),
        },
    )


def send_email(out: Outgoing, config: dict, address: str) -> None:
    to = address or config["email"]
    backend = settings.EMAIL_BACKEND
    host = settings.XASO_EMAIL_HOST
    if backend.endswith("smtp.EmailBackend") and not host:
        raise SendError(_("Chưa cấu hình máy chủ thư (XASO_EMAIL_HOST)."), permanent=True)
    connection = mail.get_connection(
        host=host,
        port=settings.XASO_EMAIL_PORT,
        username=settings.XASO_EMAIL_USER,
        password=settings.XASO_EMAIL_PASSWORD,
        use_tls=settings.XASO_EMAIL_TLS and not settings.XASO_EMAIL_SSL,
        use_ssl=settings.XASO_EMAIL_SSL,
        timeout=conf.timeout(),
    )
    sender = settings.XASO_EMAIL_FROM
    text = out.text()[len(out.subject) :].lstrip("\n")
    message = mail.EmailMessage(out.subject, text, sender, [to], connection=connection)
    try:
        message.send()
    except (OSError, mail.BadHeaderError) as error:
        raise SendError(_("Không gửi được thư: %(error)s") % {"error": error}) from error


def send_webpush(out: Outgoing, config: dict, address: str) -> None:
    import requests
    from pywebpush import WebPushException, webpush

    from xaso.notify import push

    subscription = config["subscription"]
    _check_public(subscription["endpoint"])
    payload = {
        "title": out.subject,
        "body": out.body[:1000],
        "url": out.url,
        "tag": out.message_id,
        "severity": out.severity,
        "actions": [
            {"action": f"a{index}", "title": action["label"], **action}
            for index, action in enumerate(out.actions[:2])
        ],
    }
    try:
        webpush(
            subscription_info=subscription,
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=push.vapid(),
            vapid_claims={"sub": push.vapid_subject()},
            timeout=conf.timeout(),
            ttl=24 * 3600,
            headers={"Urgency": _PUSH_URGENCY.get(out.severity, "normal")},
        )
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        if status in {404, 410}:
            raise SendError(
                _("Trình duyệt đã huỷ đăng ký nhận thông báo."), permanent=True
            ) from error
        permanent = status is not None and 400 <= status < 500 and status not in {408, 429}
        raise SendError(
            _("Dịch vụ đẩy thông báo trả lời lỗi HTTP %(status)s.") % {"status": status},
            permanent=permanent,
        ) from error
    except requests.RequestException as error:
        raise SendError(_("Không kết nối được: %(reason)s") % {"reason": error}) from error


def ntfy_actions(actions: list[dict]) -> str:
    parts = []
    for action in actions[:3]:
        label = action["label"].replace(",", " ").replace(";", " ")
        if action.get("method", "GET") == "POST":
            parts.append(f"http, {label}, {action['url']}, method=POST, clear=true")
        else:
            parts.append(f"view, {label}, {action['url']}")
    return "; ".join(parts)


def send_ntfy(out: Outgoing, config: dict, address: str) -> None:
    url = f"{config['server']}/{config['topic']}"
    _check_public(url)
    headers = {
        "Title": _encoded_header(out.subject),
        "Priority": _NTFY_PRIORITY.get(out.severity, "3"),
        "Content-Type": "text/plain; charset=utf-8",
    }
    if out.url:
        headers["Click"] = out.url
    if out.actions:
        headers["Actions"] = _encoded_header(ntfy_actions(out.actions))
    if config.get("token"):
        headers["Authorization"] = f"Bearer {config['token']}"
    _post(url, (out.body or out.subject).encode(), headers)


def _international(phone: str) -> str:
    return "84" + phone[1:]


def send_zalo(out: Outgoing, config: dict, address: str) -> None:
    token = settings.XASO_ZALO_ACCESS_TOKEN
    if not token:
        raise SendError(_("Chưa cấu hình Zalo ZNS (XASO_ZALO_ACCESS_TOKEN)."), permanent=True)
    template_id = config.get("template_id") or settings.XASO_ZALO_TEMPLATE_ID
    if not template_id:
        raise SendError(_("Chưa cấu hình mẫu tin ZNS (XASO_ZALO_TEMPLATE_ID)."), permanent=True)
    body = _json_body(
        {
            "phone": _international(address or config["phone"]),
            "template_id": template_id,
            "template_data": {"subject": out.subject, "body": out.body, "url": out.url},
            "tracking_id": out.delivery_id,
        }
    )
    url = settings.XASO_ZALO_ZNS_URL
    answer = _post(url, body, {"Content-Type": "application/json", "access_token": token})
    try:
        result = json.loads(answer or b"{}")
    except ValueError:
        result = {}
    if isinstance(result, dict) and result.get("error") not in (None, 0):
        raise SendError(
            _("Zalo từ chối: %(code)s %(text)s")
            % {"code": result.get("error"), "text": result.get("message", "")}
        )


def send_sms(out: Outgoing, config: dict, address: str) -> None:
    url = settings.XASO_SMS_GATEWAY_URL
    if not url:
        raise SendError(_("Chưa cấu hình cổng SMS (XASO_SMS_GATEWAY_URL)."), permanent=True)
    headers = {"Content-Type": "application/json"}
    if token := settings.XASO_SMS_GATEWAY_TOKEN:
        headers["Authorization"] = f"Bearer {token}"
    text = out.text()[:612]  # four concatenated Unicode SMS parts
    _post(url, _json_body({"to": address or config["phone"], "message": text}), headers)


SENDERS = {
    Kind.WEBHOOK: send_webhook,
    Kind.EMAIL: send_email,
    Kind.WEBPUSH: send_webpush,
    Kind.NTFY: send_ntfy,
    Kind.ZALO: send_zalo,
    Kind.SMS: send_sms,
}
