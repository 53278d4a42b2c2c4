"""/health and /health/ready in-process, with every dependency up; unknown routes get the envelope."""

import json

import pytest


def test_health_is_plain_ok(client):
    for path in ("/health", "/health/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.content == b"OK"
        assert response["Content-Type"].startswith("text/plain")


def test_health_needs_no_database(client, django_db_blocker):
    # Liveness must not touch PostgreSQL: with database access blocked it still answers.
    with django_db_blocker.block():
        assert client.get("/health").status_code == 200


@pytest.mark.django_db
def test_ready_reports_every_dependency_up(client):
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["down"] == []
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up",
        "redis": "up",
        "kafka": "up",
    }
    assert b": " not in response.content, "JSON is rendered compact"


def test_unknown_route_is_a_json_404_envelope(client):
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert json.loads(response.content) == {
        "success": False,
        "error": "The requested resource was not found.",
        "code": "not_found",
    }


def test_post_to_health_is_rejected(client):
    assert client.post("/health").status_code == 405
