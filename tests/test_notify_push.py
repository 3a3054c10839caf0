"""Web push end to end: a real browser-like subscription (EC P-256 keys and an auth secret),
its endpoint on the local receiver, an aes128gcm body we decrypt, a VAPID header we verify.
"""

import json
import os

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from tests.test_notify import add_channel, notify_settings_fixture, receiver_fixture, send  # noqa: F401
from xaso.notify import push
from xaso.notify.models import Channel, Delivery
from xaso.notify.push import b64url


@pytest.fixture
def browser():
    """What a browser's PushManager.subscribe() holds: a P-256 key pair and an auth secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"key": key, "p256dh": b64url(public), "auth": os.urandom(16)}


def subscribe(world, browser, endpoint: str) -> Channel:
    subscription = {
        "endpoint": endpoint,
        "keys": {"p256dh": browser["p256dh"], "auth": b64url(browser["auth"])},
    }
    return add_channel(world, "congan", "webpush", subscription=subscription)


def test_a_push_arrives_encrypted_for_the_browser_with_a_vapid_signature(
    world, receiver, browser, django_capture_on_commit_callbacks
):
    subscribe(world, browser, f"{receiver.url}/push/abc")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(
            world,
            ["congan"],
            url="/an-ninh/su-co/abc/",
            severity="urgent",
            actions=[{"label": "Xác nhận", "url": "/an-ninh/xac-nhan/t/", "method": "POST"}],
        )

    request = receiver.requests[0]
    headers = request["headers"]
    assert request["path"] == "/push/abc"
    assert headers["Content-Encoding"] == "aes128gcm"
    assert headers["Urgency"] == "high"
    assert int(headers["TTL"]) > 0
    authorization = headers["Authorization"]
    assert authorization.startswith("vapid t=")
    assert f"k={push.vapid_public_key()}" in authorization
    assert Vapid.verify(authorization)  # the JWT is signed by the key it names

    assert "Xác nhận".encode() not in request["body"]  # encrypted, not plain
    plain = http_ece.decrypt(
        request["body"], private_key=browser["key"], auth_secret=browser["auth"]
    )
    assert json.loads(plain) == {
        "title": "Cảnh báo cháy",
        "body": "Thôn Đồng Tâm, 21:05",
        "url": "https://xa.example.vn/an-ninh/su-co/abc/",
        "tag": message.public_id,
        "severity": "urgent",
        "actions": [
            {
                "action": "a0",
                "title": "Xác nhận",
                "label": "Xác nhận",
                "url": "https://xa.example.vn/an-ninh/xac-nhan/t/",
                "method": "POST",
            }
        ],
    }
    assert message.deliveries.get().status == Delivery.Status.SENT


def test_an_expired_subscription_fails_at_once_and_switches_the_channel_off(
    world, receiver, browser, django_capture_on_commit_callbacks
):
    receiver.status = 410
    channel = subscribe(world, browser, f"{receiver.url}/push/gone")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["congan"])
    delivery = message.deliveries.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 1)
    assert delivery.last_error == "Trình duyệt đã huỷ đăng ký nhận thông báo."
    channel.refresh_from_db()
    assert not channel.is_active
    with django_capture_on_commit_callbacks(execute=True):
        later = send(world, ["congan"], key="k2")
    assert not later.deliveries.exists()


def test_the_vapid_key_is_made_once_and_kept(settings):
    first = push.vapid_public_key()
    assert len(first) == 87  # 65 bytes, base64url without padding
    stored = settings.DATA_DIR / "secrets" / "xaso_vapid_private_key"
    assert stored.stat().st_mode & 0o777 == 0o600
    push._vapid.cache_clear()
    assert push.vapid_public_key() == first
