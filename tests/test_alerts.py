"""The Prometheus alert rules shipped in docker/prometheus/: valid for Prometheus, each one firing on
broken series and quiet on healthy ones (promtool's rule unit tests, alerts_test.yml), and written
against metrics `/metrics` really exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.utils import timezone

from history.models import ReconcileRun
from tests.conftest import make_client

RULES = Path(__file__).resolve().parent.parent / "docker" / "prometheus"
INSTALL = "apt-get install -y --no-install-recommends prometheus"


def promtool(*args: str) -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(f"promtool is missing: it comes with Debian's prometheus package ({INSTALL})")
    result = subprocess.run([path, *args], capture_output=True, text=True, cwd=RULES, timeout=120)
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def _rules() -> list[dict[str, str]]:
    groups = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_rules_are_valid():
    assert f"SUCCESS: {len(_rules())} rules found" in promtool("check", "rules", "alerts.yml")


def test_each_alert_fires_on_broken_series_and_stays_quiet_on_healthy_ones():
    promtool("test", "rules", "alerts_test.yml")
    cases = [
        case
        for test in yaml.safe_load((RULES / "alerts_test.yml").read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    names = {rule["alert"] for rule in _rules()}
    assert names - fired == set(), "alerts without a case where they fire"
    assert names - quiet == set(), "alerts without a case where they stay quiet"


@pytest.mark.django_db
def test_alerts_use_only_metrics_the_app_exports():
    now = timezone.now()
    ReconcileRun.objects.create(  # the reconcile gauges appear once a run is recorded
        started_at=now - timedelta(seconds=1), finished_at=now, ok=True, breaches=0, checks=[], report=""
    )
    scraped = make_client("alerts-ops", staff=True).get("/metrics").content.decode()
    # Declared families (a gauge without samples, like the lag while Kafka is away, still counts)
    # and sample names (counters' `_total`).
    exported = {line.split()[2] for line in scraped.splitlines() if line.startswith("# TYPE ")}
    exported |= {line.split()[0].split("{")[0] for line in scraped.splitlines() if not line.startswith("#")}
    used = {name for rule in _rules() for name in re.findall(r"\bwallet_\w+", rule["expr"])}
    assert used, "the rules name wallet metrics"
    assert used - exported == set()
