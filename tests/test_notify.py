"""The notify outbox: who gets what, idempotency, claims, retries with backoff, the sweep, and
the real HTTP senders (webhook, ntfy, SMS gateway, Zalo ZNS) against a local receiver.
"""

import base64
import datetime
import hashlib
import hmac
import json
import threading
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.worker import run_queued_tasks
from xaso.core.errors import DomainError, InvalidInput
from xaso.notify import actions, dispatch
from xaso.notify.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER
from xaso.notify.models import Channel, Delivery, Message


# --- A real HTTP receiver on 127.0.0.1 ----------------------------------------------------------
class Receiver:
    """An HTTP server in a thread that records every request and answers `status`.

    `hold` (an Event) makes each request wait until it is set: a sender caught mid-send.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.answer = b"{}"
        self.arrived = threading.Event()
        self.hold: threading.Event | None = None
        self.extra_headers: dict[str, str] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(timeout=10)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.answer)))
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index]["body"])


@pytest.fixture(name="receiver")
def receiver_fixture():
    server = Receiver()
    server.thread.start()
    yield server
    if server.hold is not None:
        server.hold.set()
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(autouse=True, name="notify_settings")
def notify_settings_fixture(settings):
    settings.XASO_NOTIFY_ALLOW_PRIVATE_URLS = True  # the receiver is on 127.0.0.1
    settings.XASO_NOTIFY_DISPATCH = "inline"
    settings.XASO_PUBLIC_URL = "https://xa.example.vn"
    return settings


def add_channel(world, username: str, kind: str, label: str = "", **config) -> Channel:
    user = world.users[username]
    return actions.channel_create(user=user, kind=kind, label=label, config=config, by=user)


def send(world, usernames, key="k1", **fields) -> Message:
    values = {"subject": "Cảnh báo cháy", "body": "Thôn Đồng Tâm, 21:05", **fields}
    return actions.message_send(
        recipients=[world.users[name] for name in usernames], key=key, **values
    )


def make_due(*deliveries) -> None:
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )


# --- Who gets what ------------------------------------------------------------------------------
def test_a_message_reaches_every_active_channel_of_each_recipient_and_nobody_else(
    world, receiver, django_capture_on_commit_callbacks
):
    add_channel(world, "lanhdao", "webhook", url=f"{receiver.url}/lanhdao")
    add_channel(world, "lanhdao", "ntfy", server=receiver.url, topic="lanhdao-xa")
    off = add_channel(world, "lanhdao", "webhook", url=f"{receiver.url}/off")
    Channel.objects.filter(pk=off.pk).update(is_active=False)
    add_channel(world, "congan", "webhook", url=f"{receiver.url}/congan")
    add_channel(world, "motcua", "webhook", url=f"{receiver.url}/motcua")

    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["lanhdao", "congan", "nobody"])

    assert sorted(r["path"] for r in receiver.requests) == ["/congan", "/lanhdao", "/lanhdao-xa"]
    deliveries = list(message.deliveries.all())
    assert {d.recipient.username for d in deliveries} == {"lanhdao", "congan"}
    assert all(d.status == Delivery.Status.SENT and d.attempts == 1 for d in deliveries)
    assert all(d.handed_at <= d.sent_at for d in deliveries)


def test_nothing_is_sent_before_the_transaction_commits(world, receiver):
    add_channel(world, "lanhdao", "webhook", url=receiver.url)
    message = send(world, ["lanhdao"])  # on_commit callbacks never run in this test
    assert receiver.requests == []
    assert message.deliveries.get().status == Delivery.Status.QUEUED


def test_a_second_send_with_the_same_key_returns_the_first_message_and_sends_nothing(
    world, receiver, django_capture_on_commit_callbacks
):
    add_channel(world, "lanhdao", "webhook", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        first = send(world, ["lanhdao"], key="incident:abc:level0")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = send(world, ["lanhdao"], key="incident:abc:level0", subject="Khác")
    assert again.pk == first.pk
    assert again.subject == "Cảnh báo cháy"
    assert callbacks == []
    assert Message.objects.filter(key="incident:abc:level0").count() == 1
    assert Delivery.objects.filter(message=first).count() == 1
    assert len(receiver.requests) == 1


def test_bad_messages_are_refused_in_vietnamese(world):
    with pytest.raises(InvalidInput, match="Khoá chống gửi trùng") as error:
        send(world, ["lanhdao"], key="")
    assert error.value.field == "key"
    with pytest.raises(InvalidInput, match="Mức độ"):
        send(world, ["lanhdao"], severity="extreme")
    with pytest.raises(InvalidInput, match="Liên kết không hợp lệ"):
        send(world, ["lanhdao"], actions=[{"label": "Xác nhận", "url": "javascript:alert(1)"}])
    with pytest.raises(InvalidInput, match="Nút thao tác cần nhãn"):
        send(world, ["lanhdao"], actions=[{"label": "", "url": "/x/"}])
    assert not Message.objects.exists()


# --- Webhook ------------------------------------------------------------------------------------
def test_a_webhook_gets_the_message_as_json_signed_with_the_channel_secret(
    world, receiver, django_capture_on_commit_callbacks
):
    channel = add_channel(world, "congan", "webhook", url=f"{receiver.url}/hook?x=1")
    assert len(channel.secret) >= 40
    with django_capture_on_commit_callbacks(execute=True):
        message = send(
            world,
            ["congan"],
            url="/an-ninh/su-co/abc/",
            actions=[{"label": "Xác nhận", "url": "/an-ninh/xac-nhan/tok/", "method": "POST"}],
            severity="urgent",
        )
    request = receiver.requests[0]
    body = receiver.json()
    delivery = message.deliveries.get()
    assert request["path"] == "/hook?x=1"
    assert body == {
        "id": message.public_id,
        "delivery": delivery.public_id,
        "subject": "Cảnh báo cháy",
        "body": "Thôn Đồng Tâm, 21:05",
        "url": "https://xa.example.vn/an-ninh/su-co/abc/",
        "actions": [
            {
                "label": "Xác nhận",
                "url": "https://xa.example.vn/an-ninh/xac-nhan/tok/",
                "method": "POST",
            }
        ],
        "severity": "urgent",
        "created_at": message.created_at.isoformat(),
    }
    timestamp = request["headers"][TIMESTAMP_HEADER]
    expected = hmac.new(
        channel.secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    assert request["headers"][SIGNATURE_HEADER] == f"sha256={expected}"
    assert request["headers"]["X-Xaso-Delivery"] == delivery.public_id


def test_the_channel_settings_are_encrypted_in_the_database(world, receiver):
    add_channel(world, "congan", "webhook", url=f"{receiver.url}/bi-mat-123")
    add_channel(world, "congan", "sms", phone="0912 345 678")
    actions.message_send_to_address(
        kind="sms", address="0987654321", subject="Hồ sơ", body="Đã có kết quả", key="d1"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT config_encrypted FROM notify_channel")
        stored = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT address_encrypted FROM notify_delivery")
        addresses = " ".join(row[0] for row in cursor.fetchall())
    assert "bi-mat-123" not in stored and "127.0.0.1" not in stored
    assert "0912345678" not in stored and "secret" not in stored
    assert "0987654321" not in addresses
    assert {c.config.get("phone") for c in Channel.objects.filter(kind="sms")} == {"0912345678"}


def test_a_url_on_a_private_network_is_refused_unless_allowed(
    world, receiver, notify_settings, django_capture_on_commit_callbacks
):
    notify_settings.XASO_NOTIFY_ALLOW_PRIVATE_URLS = False
    add_channel(world, "congan", "webhook", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["congan"])
    delivery = message.deliveries.get()
    assert receiver.requests == []
    assert delivery.status == Delivery.Status.FAILED
    assert "mạng nội bộ" in delivery.last_error


# --- Failures, retries, claims ------------------------------------------------------------------
def test_a_receiver_answering_500_is_retried_with_backoff_then_marked_failed(
    world, receiver, notify_settings, django_capture_on_commit_callbacks
):
    notify_settings.XASO_NOTIFY_MAX_ATTEMPTS = 4
    receiver.status = 500
    channel = add_channel(world, "congan", "webhook", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["congan"])
    delivery = message.deliveries.get()

    waits = []
    for attempt in range(1, 4):
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (Delivery.Status.QUEUED, attempt)
        assert "HTTP 500" in delivery.last_error
        waits.append(delivery.next_attempt_at - timezone.now())
        # Not due yet: a dispatcher leaves it alone.
        assert actions.deliveries_dispatch(delivery_ids=[delivery.pk]).skipped == [delivery.pk]
        retry = DBTaskResult.objects.filter(status="READY").latest("enqueued_at")
        assert retry.args_kwargs["kwargs"] == {"delivery_ids": [delivery.pk]}
        assert abs(retry.run_after - delivery.next_attempt_at) < datetime.timedelta(seconds=1)
        # When its time comes, the task worker sends it again.
        make_due(delivery)
        DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
        run_queued_tasks()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 4)
    assert len(receiver.requests) == 4
    expected = [datetime.timedelta(seconds=30), datetime.timedelta(minutes=2)]
    expected.append(datetime.timedelta(minutes=10))
    for wait, backoff in zip(waits, expected, strict=True):
        assert backoff - datetime.timedelta(seconds=5) < wait <= backoff
    channel.refresh_from_db()
    assert "HTTP 500" in channel.last_error and channel.last_success_at is None


def test_a_client_error_is_not_retried(world, receiver, django_capture_on_commit_callbacks):
    receiver.status = 404
    add_channel(world, "congan", "webhook", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["congan"])
    delivery = message.deliveries.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)


def test_a_redirect_is_not_followed(world, receiver, django_capture_on_commit_callbacks):
    receiver.status = 302
    receiver.extra_headers = {"Location": f"{receiver.url}/elsewhere"}
    add_channel(world, "congan", "webhook", url=f"{receiver.url}/hook")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["congan"])
    delivery = message.deliveries.get()
    assert [r["path"] for r in receiver.requests] == ["/hook"]
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)
    assert "chuyển hướng (HTTP 302)" in delivery.last_error


def test_a_failing_channel_does_not_stop_the_others(
    world, receiver, django_capture_on_commit_callbacks
):
    closed = Receiver()  # bound, never served, then closed: connection refused
    dead_url = closed.url
    closed.server.server_close()
    add_channel(world, "lanhdao", "webhook", url=dead_url)
    add_channel(world, "lanhdao", "ntfy", server=receiver.url, topic="ok")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["lanhdao"])
    statuses = {d.kind: (d.status, d.last_error) for d in message.deliveries.all()}
    assert statuses["ntfy"] == (Delivery.Status.SENT, "")
    assert statuses["webhook"][0] == Delivery.Status.QUEUED
    assert "Không kết nối được" in statuses["webhook"][1]
    assert [r["path"] for r in receiver.requests] == ["/ok"]


def _lend_connection(test_connection):
    """Pool threads use the test's connection (and so see its transaction), as Django's own
    live server does for tests; the test thread stays off the database meanwhile."""

    def initializer():
        connections["default"] = test_connection

    return initializer


@pytest.fixture
def lent_connection():
    test_connection = connections["default"]
    test_connection.inc_thread_sharing()
    yield _lend_connection(test_connection)
    test_connection.dec_thread_sharing()


def test_two_dispatchers_never_send_the_same_delivery_twice(world, receiver, lent_connection):
    add_channel(world, "congan", "webhook", url=receiver.url)
    delivery = send(world, ["congan"]).deliveries.get()
    receiver.hold = threading.Event()
    first = dispatch.Dispatcher(workers=1, initializer=lent_connection)
    [future] = first.submit([delivery.pk])
    assert receiver.arrived.wait(timeout=10)  # the first dispatcher is mid-send

    second = actions.deliveries_dispatch(delivery_ids=[delivery.pk])
    swept = actions.deliveries_sweep()
    receiver.hold.set()
    assert future.result(timeout=10).sent == [delivery.pk]
    first.shutdown()

    assert second.skipped == [delivery.pk] and not swept
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.SENT, 1)


def test_after_commit_the_thread_pool_sends_at_once(
    world, receiver, notify_settings, lent_connection, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    notify_settings.XASO_NOTIFY_DISPATCH = "thread"
    pool = dispatch.Dispatcher(workers=2, initializer=lent_connection)
    monkeypatch.setattr(dispatch, "dispatcher", pool)
    add_channel(world, "congan", "webhook", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["congan"])
    assert receiver.arrived.wait(timeout=10)
    pool.shutdown()  # waits for the thread to record the result
    delivery = message.deliveries.get()
    assert delivery.status == Delivery.Status.SENT
    assert receiver.json()["id"] == message.public_id


def test_in_worker_mode_the_task_worker_sends(
    world, receiver, notify_settings, django_capture_on_commit_callbacks
):
    notify_settings.XASO_NOTIFY_DISPATCH = "worker"
    add_channel(world, "congan", "webhook", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["congan"])
    assert receiver.requests == []
    run_queued_tasks()
    assert message.deliveries.get().status == Delivery.Status.SENT


def test_the_sweep_sends_what_is_due_and_what_a_dead_sender_left_behind(world, receiver):
    add_channel(world, "congan", "webhook", url=receiver.url)
    lost = send(world, ["congan"], key="lost").deliveries.get()  # committed, never handed off
    stuck = send(world, ["congan"], key="stuck").deliveries.get()
    busy = send(world, ["congan"], key="busy").deliveries.get()
    later = send(world, ["congan"], key="later").deliveries.get()
    now = timezone.now()
    Delivery.objects.filter(pk=stuck.pk).update(
        status="sending", attempts=1, claimed_at=now - datetime.timedelta(minutes=6)
    )
    Delivery.objects.filter(pk=busy.pk).update(status="sending", attempts=1, claimed_at=now)
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + datetime.timedelta(hours=1))

    call_command("notify_sweep", stdout=(out := _Output()))

    assert "2 đã gửi" in out.text
    state = {d.pk: (d.status, d.attempts) for d in Delivery.objects.all()}
    assert state[lost.pk] == ("sent", 1)
    assert state[stuck.pk] == ("sent", 2)
    assert state[busy.pk] == ("sending", 1)
    assert state[later.pk] == ("queued", 0)
    assert len(receiver.requests) == 2


class _Output:
    text = ""

    def write(self, value):
        self.text += value

    def flush(self):
        pass


# --- Other senders ------------------------------------------------------------------------------
def _header(value: str) -> str:
    return str(make_header(decode_header(value)))


def test_ntfy_gets_title_priority_click_and_an_acknowledge_action(
    world, receiver, django_capture_on_commit_callbacks
):
    add_channel(world, "congan", "ntfy", server=receiver.url, topic="canh-bao_1", token="tk_abc")
    with django_capture_on_commit_callbacks(execute=True):
        send(
            world,
            ["congan"],
            url="/an-ninh/su-co/abc/",
            severity="urgent",
            actions=[
                {"label": "Xác nhận", "url": "/an-ninh/xac-nhan/t/", "method": "POST"},
                {"label": "Mở", "url": "https://xa.example.vn/x"},
            ],
        )
    request = receiver.requests[0]
    headers = request["headers"]
    assert request["path"] == "/canh-bao_1"
    assert request["body"].decode() == "Thôn Đồng Tâm, 21:05"
    assert _header(headers["Title"]) == "Cảnh báo cháy"
    assert headers["Priority"] == "5"
    assert headers["Click"] == "https://xa.example.vn/an-ninh/su-co/abc/"
    assert headers["Authorization"] == "Bearer tk_abc"
    assert _header(headers["Actions"]) == (
        "http, Xác nhận, https://xa.example.vn/an-ninh/xac-nhan/t/, method=POST, clear=true; "
        "view, Mở, https://xa.example.vn/x"
    )


def test_an_sms_to_a_citizen_goes_through_the_configured_gateway(
    world, receiver, notify_settings, django_capture_on_commit_callbacks
):
    notify_settings.XASO_SMS_GATEWAY_URL = f"{receiver.url}/sms/send"
    notify_settings.XASO_SMS_GATEWAY_TOKEN = "gw-secret"
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.message_send_to_address(
            kind="sms",
            address="+84 987 654 321",
            subject="Hồ sơ HS-001",
            body="Đã có kết quả, mời ông/bà đến nhận.",
            key="dossier:HS-001:done",
            url="/tra-cuu/HS-001",
        )
    request = receiver.requests[0]
    assert request["path"] == "/sms/send"
    assert request["headers"]["Authorization"] == "Bearer gw-secret"
    assert receiver.json() == {
        "to": "0987654321",
        "message": "Hồ sơ HS-001\nĐã có kết quả, mời ông/bà đến nhận.\n"
        "https://xa.example.vn/tra-cuu/HS-001",
    }
    delivery = message.deliveries.get()
    assert (delivery.status, delivery.channel, delivery.recipient) == ("sent", None, None)


def test_zalo_zns_posts_the_template_with_the_operator_token(
    world, receiver, notify_settings, django_capture_on_commit_callbacks
):
    notify_settings.XASO_ZALO_ZNS_URL = f"{receiver.url}/message/template"
    notify_settings.XASO_ZALO_ACCESS_TOKEN = "oa-token"
    receiver.answer = b'{"error": 0, "message": "Success"}'
    add_channel(world, "truongthon", "zalo", phone="0912345678", template_id="250001")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["truongthon"], url="/x/")
    request = receiver.requests[0]
    assert request["headers"]["access_token"] == "oa-token"
    assert receiver.json() == {
        "phone": "84912345678",
        "template_id": "250001",
        "template_data": {
            "subject": "Cảnh báo cháy",
            "body": "Thôn Đồng Tâm, 21:05",
            "url": "https://xa.example.vn/x/",
        },
        "tracking_id": message.deliveries.get().public_id,
    }
    assert message.deliveries.get().status == "sent"


def test_a_zalo_error_code_in_a_200_answer_is_a_failure(
    world, receiver, notify_settings, django_capture_on_commit_callbacks
):
    notify_settings.XASO_ZALO_ZNS_URL = receiver.url
    notify_settings.XASO_ZALO_ACCESS_TOKEN = "oa-token"
    receiver.answer = '{"error": -124, "message": "Access token không hợp lệ"}'.encode()
    add_channel(world, "truongthon", "zalo", phone="0912345678", template_id="250001")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["truongthon"])
    delivery = message.deliveries.get()
    assert delivery.status == "queued"
    assert "-124" in delivery.last_error


def test_sms_and_zalo_without_configuration_fail_with_a_clear_reason(
    world, django_capture_on_commit_callbacks
):
    add_channel(world, "truongthon", "sms", phone="0912345678")
    add_channel(world, "truongthon", "zalo", phone="0912345678", template_id="1")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["truongthon"])
    errors = {d.kind: (d.status, d.last_error) for d in message.deliveries.all()}
    assert errors["sms"] == ("failed", "Chưa cấu hình cổng SMS (XASO_SMS_GATEWAY_URL).")
    assert errors["zalo"] == ("failed", "Chưa cấu hình Zalo ZNS (XASO_ZALO_ACCESS_TOKEN).")


def test_an_email_carries_the_links_and_actions(world, django_capture_on_commit_callbacks):
    add_channel(world, "lanhdao", "email", email="lanhdao@quangtan.example.vn")
    with django_capture_on_commit_callbacks(execute=True):
        send(
            world,
            ["lanhdao"],
            url="/an-ninh/su-co/abc/",
            actions=[{"label": "Xác nhận", "url": "/an-ninh/xac-nhan/t/"}],
        )
    [email] = mail.outbox
    assert email.to == ["lanhdao@quangtan.example.vn"]
    assert email.subject == "Cảnh báo cháy"
    assert email.body == (
        "Thôn Đồng Tâm, 21:05\nhttps://xa.example.vn/an-ninh/su-co/abc/\n"
        "Xác nhận: https://xa.example.vn/an-ninh/xac-nhan/t/"
    )


# --- Channels -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "config", "field", "message"),
    [
        ("webhook", {"url": "ftp://x.example"}, "url", "http:// hoặc https://"),
        ("email", {"email": "khong-phai-thu"}, "email", "không hợp lệ"),
        ("ntfy", {"topic": "có dấu"}, "topic", "Chủ đề ntfy"),
        ("sms", {"phone": "12345"}, "phone", "Số điện thoại"),
        ("zalo", {"phone": "0912345678"}, "template_id", "mẫu tin ZNS"),
        ("webpush", {"subscription": {"endpoint": "https://p.example/1"}}, "subscription", "Thiếu"),
        ("fax", {}, "kind", "Loại kênh"),
    ],
)
def test_bad_channel_settings_are_refused_in_vietnamese(world, kind, config, field, message):
    with pytest.raises(InvalidInput, match=message) as error:
        add_channel(world, "congan", kind, **config)
    assert error.value.field == field
    assert not Channel.objects.exists()


def test_the_same_destination_cannot_be_registered_twice_and_only_by_its_owner(world):
    add_channel(world, "congan", "sms", phone="0912345678")
    with pytest.raises(DomainError, match="đã được đăng ký"):
        add_channel(world, "congan", "sms", phone="+84912345678")
    with pytest.raises(DomainError, match="Chỉ chủ tài khoản"):
        actions.channel_create(
            user=world.users["congan"],
            kind="sms",
            label="",
            config={"phone": "0987654321"},
            by=world.users["lanhdao"],
        )
    add_channel(world, "lanhdao", "sms", phone="0912345678")  # another user may


def test_deleting_a_channel_fails_its_queued_deliveries_and_is_audited(world, receiver):
    channel = add_channel(world, "congan", "webhook", url=receiver.url)
    delivery = send(world, ["congan"]).deliveries.get()
    actions.channel_delete(channel=channel, by=world.users["congan"])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.channel) == ("failed", None)
    assert delivery.last_error == "Kênh đã bị xoá."
    from xaso.core.models import AuditEntry

    verbs = list(AuditEntry.objects.filter(verb__startswith="notify_channel.").values_list("verb"))
    assert verbs == [("notify_channel.deleted",), ("notify_channel.created",)]


def test_a_channel_test_sends_one_message_to_that_channel_only(
    world, receiver, django_capture_on_commit_callbacks
):
    channel = add_channel(world, "congan", "webhook", url=f"{receiver.url}/a")
    add_channel(world, "congan", "webhook", url=f"{receiver.url}/b")
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.channel_test(channel=channel, by=world.users["congan"])
    assert [r["path"] for r in receiver.requests] == ["/a"]
    assert message.subject == "XãSố: thử kênh thông báo"
    channel.refresh_from_db()
    assert channel.last_success_at is not None


def test_the_webhook_secret_is_base64url(world, receiver):
    secret = add_channel(world, "congan", "webhook", url=receiver.url).secret
    assert base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
