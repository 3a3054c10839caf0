"""The `xaso` command, run as a user runs it: in a subprocess, against its own database."""

import json

import pytest

from tests import processes

pytestmark = pytest.mark.slow


def test_xaso_demo_loads_the_commune_once_and_prints_the_logins():
    with processes.fresh_database_env() as env:
        first = processes.run(["demo", "--no-serve"], env)
        assert first.returncode == 0, first.stderr
        assert "Xã Quảng Tân: 8 thôn, 400 hộ" in first.stdout
        for username in (
            "admin",
            "lanhdao",
            "motcua",
            "congan",
            "tuphap",
            "truongthon",
            "tocns",
            "htx",
            "tinh",
        ):
            assert f"  {username} " in first.stdout
        assert "xaso-demo" in first.stdout and "CẢNH BÁO" in first.stdout

        traceability = "Truy xuất nguồn gốc: 3 cơ sở, 5 vùng trồng, 6 lô hàng, 1 đợt tem."
        assert traceability in first.stdout
        assert "An ninh trật tự: 9 camera, 3 quy tắc, 4 vụ việc." in first.stdout
        assert "Một cửa: 12 thủ tục, 5 hồ sơ." in first.stdout
        assert "Tổ công nghệ số: 409 lượt thăm, 285 hộ đã thăm." in first.stdout
        assert "Chỉ tiêu: 11 chỉ tiêu, 2 bộ tiêu chí." in first.stdout
        assert "/s/" in first.stdout  # a demo stamp to scan

        second = processes.run(["demo", "--no-serve"], env)
        assert second.returncode == 0, second.stderr
        assert second.stdout.splitlines()[:4] == first.stdout.splitlines()[:4]

        token = processes.run(["token", "create", "truongthon"], env).stdout.strip()
        with processes.serving(env) as base_url:
            status, body = processes.get(
                f"{base_url}/api/v1/households?limit=1", {"Authorization": f"Bearer {token}"}
            )
            assert status == 200
            assert json.loads(body)["count"] == 50  # 400 households over 8 villages
            status, body = processes.get(f"{base_url}/healthz")
            assert (status, json.loads(body)["database"]) == (200, "ok")


def test_xaso_demo_reset_reloads_the_same_commune():
    with processes.fresh_database_env() as env:
        assert processes.run(["demo", "--no-serve"], env).returncode == 0
        reset = processes.run(["demo", "--no-serve", "--reset"], env)
        assert reset.returncode == 0, reset.stderr
        assert "8 thôn, 400 hộ, 1565 nhân khẩu, 13 tổ chức" in reset.stdout
        assert "3 cơ sở, 5 vùng trồng, 6 lô hàng, 1 đợt tem" in reset.stdout


def test_token_create_for_an_unknown_user_fails_clearly():
    with processes.fresh_database_env() as env:
        processes.run(["migrate"], env)
        result = processes.run(["token", "create", "khongco"], env)
        assert result.returncode == 1
        assert "Không tìm thấy người dùng" in result.stderr


def test_when_the_database_is_unreachable_health_says_503_and_pages_apologise():
    with processes.fresh_database_env() as env:
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:1/unreachable"
        with processes.serving(env) as base_url:
            status, body = processes.get(f"{base_url}/healthz")
            assert status == 503
            assert json.loads(body)["database"] == "unavailable"
            status, body = processes.submit_login(base_url, "lanhdao", "xaso-demo")
            assert status == 503
            assert "Tạm thời gián đoạn" in body
            status, body = processes.get(
                f"{base_url}/api/v1/households",
                {"Authorization": "Bearer xaso_0123456789ab_secret"},
            )
            assert status == 503
            assert "cơ sở dữ liệu" in json.loads(body)["detail"]
