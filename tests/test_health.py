import xaso


def test_health_reports_ok_with_the_version(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "version": xaso.__version__}
