"""docker/docker-compose.yml is valid for Compose and describes the whole stack."""

import shutil
import subprocess
from pathlib import Path

import yaml

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker" / "docker-compose.yml"
SERVICES = {
    "postgres",
    "redis",
    "kafka",
    "migrate",
    "web",
    "worker",
    "beat",
    "consumer",
    "connect",
    "relay-setup",
}


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    assert legacy, (
        "neither `docker compose` nor `docker-compose` is installed (make test installs the latter)"
    )
    return [legacy]


def test_compose_file_validates():
    result = subprocess.run(
        [*compose_command(), "-f", str(COMPOSE_FILE), "config", "-q"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_compose_file_has_the_whole_stack():
    spec = yaml.safe_load(COMPOSE_FILE.read_text())
    assert set(spec["services"]) == SERVICES
    assert spec["services"]["postgres"]["image"].startswith("postgres:16")
    assert spec["services"]["redis"]["image"].startswith("redis:7")
    kafka = spec["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller", "KRaft, no ZooKeeper"
    assert spec["services"]["web"]["ports"] == ["127.0.0.1:3000:3000", "127.0.0.1:3001:3001"]
    for app in ("web", "worker", "beat", "consumer"):
        assert spec["services"][app]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_debezium_relay_is_a_profile_of_its_own():
    """RELAY=debezium (issue #24): Kafka Connect and the connector's registration, only with
    `--profile debezium`; the default stack is what it was."""
    spec = yaml.safe_load(COMPOSE_FILE.read_text())
    for name in ("connect", "relay-setup"):
        assert spec["services"][name]["profiles"] == ["debezium"]
    assert spec["services"]["connect"]["environment"]["BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert spec["services"]["relay-setup"]["command"] == ["python", "manage.py", "relay_setup"]
    assert "wal_level=${POSTGRES_WAL_LEVEL:-replica}" in spec["services"]["postgres"]["command"]


def test_every_long_running_service_restarts_by_itself():
    spec = yaml.safe_load(COMPOSE_FILE.read_text())
    for name, service in spec["services"].items():
        expected = "no" if name in ("migrate", "relay-setup") else "unless-stopped"
        assert service.get("restart") == expected, name
