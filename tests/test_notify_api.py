"""The notify API and pages: a user registers, lists, tests and removes her own channels and
reads her own deliveries; nobody else's. Plus the PWA files.
"""

import pytest

from tests.test_notify import add_channel, notify_settings_fixture, receiver_fixture, send  # noqa: F401
from xaso.core.models import AuditEntry
from xaso.notify import push
from xaso.notify.models import Channel, Delivery, Message

CHANNELS = "/notify/channels"


def test_a_user_registers_a_webhook_and_sees_its_secret_once(api_as, world):
    api = api_as("congan")
    response = api.post(CHANNELS, {"kind": "webhook", "url": "https://hooks.example.vn/x?t=1"})
    assert response.status_code == 201
    created = response.json()
    assert created["kind"] == "webhook"
    assert created["label"] == "Webhook · hooks.example.vn"
    assert created["summary"] == "hooks.example.vn"
    assert len(created["secret"]) >= 40
    channel = Channel.objects.get(public_id=created["id"])
    assert channel.user == world.users["congan"]
    assert channel.config["secret"] == created["secret"]

    listed = api.get(CHANNELS).json()
    assert listed["count"] == 1
    assert "secret" not in listed["items"][0]
    assert "t=1" not in str(listed)


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"kind": "ntfy", "topic": "canh-bao", "token": "tk"}, None, None),
        ({"kind": "email", "email": "congan@xa.example.vn", "label": "Thư"}, None, None),
        ({"kind": "sms", "phone": "0912 345 678"}, None, None),
        ({"kind": "zalo", "phone": "0912345678", "template_id": "250001"}, None, None),
        ({"kind": "sms", "phone": "12"}, "phone", "Số điện thoại không hợp lệ."),
        ({"kind": "webhook", "url": "javascript:x"}, "url", "http:// hoặc https://"),
        ({"kind": "webpush", "subscription": {"endpoint": "https://p.example/1", "keys": {}}},
         "subscription", "Khoá p256dh"),
        ({"kind": "bồ câu"}, "kind", "Loại kênh không hợp lệ."),
    ],
)  # fmt: skip
def test_channel_kinds_and_their_checks(api_as, world, body, field, detail):
    response = api_as("congan").post(CHANNELS, body)
    if field is None:
        assert response.status_code == 201, response.json()
        assert response.json()["secret"] is None
        assert "0912345678" not in str(response.json()) and "tk" not in response.json()["summary"]
    else:
        assert response.status_code == 422
        assert response.json()["field"] == field
        assert detail in response.json()["detail"]


def test_malformed_or_incomplete_bodies_get_vietnamese_4xx(api_as, world):
    api = api_as("congan")
    malformed = api.post(CHANNELS, raw="{kind")
    assert (malformed.status_code, malformed.json()["detail"]) == (
        400,
        "Không đọc được nội dung yêu cầu: JSON không hợp lệ.",
    )
    missing = api.post(CHANNELS, {"url": "https://x.example"})
    assert missing.status_code == 422
    assert missing.json()["detail"] == "Dữ liệu gửi lên không hợp lệ."
    api.post(CHANNELS, {"kind": "sms", "phone": "0912345678"})
    again = api.post(CHANNELS, {"kind": "sms", "phone": "+84912345678"})
    assert (again.status_code, again.json()["detail"]) == (409, "Kênh này đã được đăng ký.")


def test_a_user_sees_and_deletes_only_her_own_channels(api_as, client, world):
    mine = add_channel(world, "congan", "sms", phone="0912345678")
    theirs = add_channel(world, "lanhdao", "sms", phone="0912345678")
    api = api_as("congan")
    assert [item["id"] for item in api.get(CHANNELS).json()["items"]] == [mine.public_id]

    foreign = client.delete(f"/api/v1{CHANNELS}/{theirs.public_id}", headers=api.headers)
    unknown = client.delete(f"/api/v1{CHANNELS}/khongtonntai0000", headers=api.headers)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json() == {"detail": "Không tìm thấy."}
    assert Channel.objects.filter(pk=theirs.pk).exists()
    assert not AuditEntry.objects.filter(verb="notify_channel.deleted").exists()

    deleted = client.delete(f"/api/v1{CHANNELS}/{mine.public_id}", headers=api.headers)
    assert deleted.status_code == 204
    assert not Channel.objects.filter(pk=mine.pk).exists()
    assert AuditEntry.objects.filter(verb="notify_channel.deleted").count() == 1


def test_deliveries_are_the_callers_own_and_a_superuser_sees_all(
    api_as, world, receiver, django_capture_on_commit_callbacks
):
    add_channel(world, "congan", "webhook", url=receiver.url)
    add_channel(world, "lanhdao", "sms", phone="0912345678")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(world, ["congan", "lanhdao"])

    own = api_as("congan").get("/notify/deliveries").json()
    assert own["count"] == 1
    [item] = own["items"]
    delivery = Delivery.objects.get(public_id=item["id"])
    assert item == {
        "id": delivery.public_id,
        "message": message.public_id,
        "subject": "Cảnh báo cháy",
        "severity": "normal",
        "kind": "webhook",
        "channel": delivery.channel.public_id,
        "channel_label": delivery.channel.label,
        "status": "sent",
        "attempts": 1,
        "last_error": "",
        "created_at": item["created_at"],
        "next_attempt_at": None,
        "handed_at": item["handed_at"],
        "sent_at": item["sent_at"],
    }
    assert item["sent_at"] is not None
    lanhdao = api_as("lanhdao").get("/notify/deliveries", status="failed").json()
    assert [i["last_error"] for i in lanhdao["items"]] == [
        "Chưa cấu hình cổng SMS (XASO_SMS_GATEWAY_URL)."
    ]
    assert api_as("nobody").get("/notify/deliveries").json()["count"] == 0
    assert api_as("admin").get("/notify/deliveries").json()["count"] == 2


def test_the_deliveries_list_costs_the_same_queries_for_many_rows(
    api_as, world, django_assert_num_queries
):
    add_channel(world, "congan", "sms", phone="0912345678")
    add_channel(world, "congan", "email", email="a@xa.example.vn")
    for number in range(15):
        send(world, ["congan"], key=f"k{number}")
    api = api_as("congan")
    with django_assert_num_queries(4):  # token, count, page, token last-used
        body = api.get("/notify/deliveries", limit=50).json()
    assert body["count"] == 30


def test_the_vapid_public_key_is_served_to_signed_in_users(api_as, client, world):
    assert api_as("nobody").get("/notify/vapid-public-key").json() == {
        "public_key": push.vapid_public_key()
    }
    anonymous = client.get("/api/v1/notify/vapid-public-key")
    assert anonymous.status_code == 401


def test_a_channel_test_over_the_api(api_as, world, receiver, django_capture_on_commit_callbacks):
    channel = add_channel(world, "congan", "webhook", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as("congan").post(f"{CHANNELS}/{channel.public_id}/test")
    assert response.status_code == 202
    assert response.json()["subject"] == "XãSố: thử kênh thông báo"
    assert len(receiver.requests) == 1
    other = api_as("lanhdao").post(f"{CHANNELS}/{channel.public_id}/test")
    assert other.status_code == 404


# --- Pages --------------------------------------------------------------------------------------
PAGE = "/thong-bao/kenh/"


def test_the_channels_page_lists_mine_and_offers_every_kind(client_as, world):
    add_channel(world, "truongthon", "sms", label="Điện thoại của tôi", phone="0912345678")
    add_channel(world, "lanhdao", "sms", label="Của lãnh đạo", phone="0987654321")
    page = client_as("truongthon").get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Kênh nhận thông báo" in html
    assert "Điện thoại của tôi" in html and "•••••••678" in html
    assert "Của lãnh đạo" not in html and "0912345678" not in html
    assert f'data-vapid-key="{push.vapid_public_key()}"' in html
    assert f'href="{PAGE}"' in html  # the menu entry
    for kind in ("webhook", "email", "ntfy", "zalo", "sms"):
        assert f'value="{kind}"' in html


def test_adding_a_webhook_on_the_page_shows_its_secret_once(client_as, world):
    client = client_as("truongthon")
    response = client.post(PAGE, {"kind": "webhook", "url": "https://hooks.example.vn/a"})
    channel = Channel.objects.get(user=world.users["truongthon"])
    assert response.status_code == 200
    assert (
        f'<code id="webhook-secret">{channel.config["secret"]}</code>' in response.content.decode()
    )
    assert channel.config["secret"] not in client.get(PAGE).content.decode()


def test_adding_a_bad_channel_on_the_page_answers_400_with_the_reason(client_as, world):
    response = client_as("truongthon").post(PAGE, {"kind": "sms", "phone": "123"})
    assert response.status_code == 400
    assert "Số điện thoại không hợp lệ." in response.content.decode()
    assert not Channel.objects.exists()


def test_testing_and_removing_a_channel_from_the_page(
    client_as, world, django_capture_on_commit_callbacks
):
    channel = add_channel(world, "truongthon", "sms", phone="0912345678")
    client = client_as("truongthon")
    with django_capture_on_commit_callbacks(execute=True):
        tested = client.post(f"{PAGE}{channel.public_id}/thu/")
    assert tested.status_code == 302
    html = client.get(tested["Location"]).content.decode()
    assert "Đã gửi tin thử" in html
    assert "Chưa cấu hình cổng SMS" in html  # the delivery list shows why it failed
    assert Message.objects.get().deliveries.get().status == "failed"

    foreign = client_as("lanhdao").post(f"{PAGE}{channel.public_id}/xoa/")
    assert foreign.status_code == 404
    removed = client_as("truongthon").post(f"{PAGE}{channel.public_id}/xoa/")
    assert removed.status_code == 302
    assert not Channel.objects.exists()


def test_the_channels_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_service_worker_and_manifest_are_served_from_the_root(client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/"
    assert b"notificationclick" in worker.content and b"showNotification" in worker.content
    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    body = manifest.json()
    assert (body["name"], body["lang"], body["start_url"]) == ("XãSố", "vi", "/")
