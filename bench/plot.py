"""PNG plots of the benchmark results: throughput and latency against concurrency, lag distribution.

.venv/bin/python bench/plot.py        (reads bench/results/http.json and e2e_lag.json)
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent / "results"


def plot_http() -> None:
    rows = json.loads((RESULTS / "http.json").read_text())["rows"]
    scenarios = sorted({row["scenario"] for row in rows}, key=lambda s: (s != "pgbench-tpcb", s))
    fig, (throughput, latency) = plt.subplots(1, 2, figsize=(12, 4.5))
    for scenario in scenarios:
        points = sorted((r["concurrency"], r) for r in rows if r["scenario"] == scenario)
        clients = [c for c, _ in points]
        throughput.plot(clients, [r["rps"] for _, r in points], marker="o", label=scenario)
        if scenario != "pgbench-tpcb":
            latency.plot(clients, [r["p99_ms"] for _, r in points], marker="o", label=f"{scenario} p99")
            latency.plot(
                clients, [r["p50_ms"] for _, r in points], marker=".", linestyle=":", label=f"{scenario} p50"
            )
    for axis, title, unit in (
        (throughput, "Throughput", "requests/s (pgbench: tps)"),
        (latency, "Latency", "ms"),
    ):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("client concurrency")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    throughput.set_yscale("log")
    fig.tight_layout()
    fig.savefig(RESULTS / "http.png", dpi=110)


def plot_lag() -> None:
    lag = json.loads((RESULTS / "e2e_lag.json").read_text())
    buckets = lag["histogram_10ms"]
    fig, axis = plt.subplots(figsize=(7, 4))
    axis.bar([b for b, _ in buckets], [n for _, n in buckets], width=9, align="edge")
    for name in ("p50_ms", "p99_ms"):
        axis.axvline(lag[name], color="red" if name == "p99_ms" else "green", linestyle="--", label=name)
    axis.set_xlabel("commit -> visible in history (ms)")
    axis.set_ylabel("events")
    axis.set_title(f"End-to-end lag at {lag['achieved_transfers_per_s']} transfers/s")
    axis.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "e2e_lag.png", dpi=110)


if __name__ == "__main__":
    plot_http()
    plot_lag()
