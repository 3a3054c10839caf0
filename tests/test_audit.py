"""Every write leaves an audit row; administrators browse and filter the log."""

from xaso.core.models import AuditEntry


def test_a_page_form_write_records_who_what_and_from_where(client_as, world):
    client = client_as("truongthon")
    response = client.post(
        "/households/new/",
        {"village": world.a1.code, "head_name": "Vũ Văn Mạnh"},
        REMOTE_ADDR="10.1.2.3",
        HTTP_USER_AGENT="Mozilla/5.0 (Android 10)",
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(verb="household.created", target_label="Hộ Vũ Văn Mạnh")
    assert entry.actor.username == "truongthon"
    assert entry.ip_address == "10.1.2.3"
    assert entry.user_agent.startswith("Mozilla/5.0 (Android 10)")
    assert entry.created_at is not None


def test_login_and_logout_are_audited(client, world):
    client.post("/login/", {"username": "lanhdao", "password": "correct-horse-battery"})
    client.post("/logout/")
    verbs = list(AuditEntry.objects.filter(actor_username="lanhdao").values_list("verb", flat=True))
    assert verbs == ["user.logged_out", "user.logged_in"]


def test_an_administrator_filters_the_audit_log_by_actor_and_verb(client_as, api_as, world):
    api_as("lanhdao").patch(
        f"/households/{world.household('Lê Văn Cường').public_id}",
        {"notes": "có người già neo đơn"},
    )
    page = client_as("admin").get("/admin/audit/", {"actor": "lanhdao", "verb": "household."})
    html = page.content.decode()
    assert page.status_code == 200
    assert "household.updated" in html
    assert "village.created" not in html


def test_the_audit_api_is_paginated_and_filterable(api_as, world):
    body = api_as("admin").get("/audit", verb="village.", limit=2).json()
    assert body["count"] == 3
    assert len(body["items"]) == 2
    assert {item["verb"] for item in body["items"]} == {"village.created"}


def test_a_place_administrator_reads_only_entries_of_her_province(api_as, world):
    api_as("canbo_b").patch(
        f"/households/{world.household('Phạm Thị Dung').public_id}", {"notes": "x"}
    )
    entries = api_as("quantri").get("/audit", verb="household.updated").json()
    assert entries["count"] == 1  # commune B is in province 22 too
    assert api_as("lanhdao").get("/audit").status_code == 404


def test_an_invalid_filter_date_is_a_form_error_not_a_500(client_as):
    page = client_as("admin").get("/admin/audit/", {"since": "32/13/2026"})
    assert page.status_code == 200
    assert "Nhập một ngày hợp lệ." in page.content.decode()
