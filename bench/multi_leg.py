"""Split payments and batches against single transfers, in one run (issue #22's targets).

Against the running stack (`make up`), with wrk and the same wallets and clients for every
scenario, rounds interleaved (ABC ABC ...) so the machine's drift falls on all of them alike:

- `transfer`: one transfer per request (POST /wallets/{id}/transfer);
- `batch100`: 100 random transfers per request (POST /transactions/batch);
- `split3`: one wallet pays three others in one MULTI_LEG transaction (POST /transactions).

Targets: a 100-item batch moves at least 5x the transfers per second of single transfer requests;
a 3-leg split costs under 1.5x one transfer (web CPU per request, and requests per second; both
shown, the CPU is the cost, the rate what a client sees). Each ratio is the median over rounds of
that round's ratio (its runs are made back to back), not a ratio of two best runs that may be
minutes apart on this shared machine.

    .venv/bin/python bench/multi_leg.py --duration 10 --rounds 5 --concurrency 1,16
    (results in bench/results/multi_leg.json and .md)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench  # sets up Django; its wrk runner and wallets are this bench's

SCENARIOS = ("transfer", "batch100", "split3")
TRANSFERS_PER_REQUEST = {"transfer": 1, "batch100": 100, "split3": 3}


def best(rows: list[dict[str, Any]], scenario: str) -> dict[str, Any]:
    """The scenario's best round by requests/s (the least disturbed by the shared machine)."""
    return max((row for row in rows if row["scenario"] == scenario), key=lambda row: row["rps"])


def report_all(
    rows: list[dict[str, Any]], concurrencies: list[int], rounds: int
) -> tuple[str, dict[str, Any]]:
    texts, summaries = [], {}
    for concurrency in concurrencies:
        text, summary = report([r for r in rows if r["concurrency"] == concurrency], concurrency, rounds)
        texts.append(text)
        summaries[str(concurrency)] = summary
    return "\n".join(texts), summaries


def round_ratios(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Each round's ratios, from that round's three runs, made one after another: the machine's
    drift between rounds (another tenant, the clock) falls on the runs of a round alike."""
    ratios: dict[str, list[float]] = {"batch": [], "split_cpu": [], "split_time": []}
    for number in sorted({row["round"] for row in rows}):
        single, batch, split = (
            next(row for row in rows if row["round"] == number and row["scenario"] == name)
            for name in SCENARIOS
        )
        ratios["batch"].append(batch["transfers_per_s"] / single["transfers_per_s"])
        ratios["split_cpu"].append(split["web_cpu_ms_per_request"] / single["web_cpu_ms_per_request"])
        ratios["split_time"].append(single["rps"] / split["rps"])
    return ratios


def report(rows: list[dict[str, Any]], concurrency: int, rounds: int) -> tuple[str, dict[str, Any]]:
    single, batch, split = (best(rows, name) for name in SCENARIOS)
    ratios = round_ratios(rows)
    batch_ratio, split_cpu_ratio, split_rate_ratio = (
        statistics.median(ratios[name]) for name in ("batch", "split_cpu", "split_time")
    )
    per_round = {name: [round(value, 2) for value in values] for name, values in ratios.items()}
    summary = {
        "batch_vs_single_transfers_per_s": round(batch_ratio, 2),
        "split3_vs_transfer_cpu_per_request": round(split_cpu_ratio, 2),
        "split3_vs_transfer_time_per_request": round(split_rate_ratio, 2),
        "per_round": per_round,
        "batch_target_met": batch_ratio >= 5,
        "split_target_met": split_cpu_ratio < 1.5 and split_rate_ratio < 1.5,
    }
    lines = [
        f"Concurrency {concurrency}, {rounds} interleaved rounds; the table shows each scenario's best "
        f"round (measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), the ratios are the "
        "median of each round's own.",
        "",
        "| scenario | requests/s | transfers/s | p50 ms | p99 ms | web CPU ms/request | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in (single, batch, split):
        lines.append(
            f"| {row['scenario']} | {row['rps']:.0f} | {row['transfers_per_s']:.0f} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['web_cpu_ms_per_request']} | {row['errors']} |"
        )
    spread = {name: [round(row["rps"]) for row in rows if row["scenario"] == name] for name in SCENARIOS}
    lines += [
        "",
        f"- 100-item batch: **{batch_ratio:.1f}x** the transfers/s of single transfer requests "
        f"(target >= 5x; rounds {per_round['batch']}).",
        f"- 3-leg split: **{split_cpu_ratio:.2f}x** a transfer's web CPU per request (rounds "
        f"{per_round['split_cpu']}), **{split_rate_ratio:.2f}x** its time per request at this "
        f"concurrency (rounds {per_round['split_time']}; target < 1.5x).",
        f"- Every round's requests/s: {spread}.",
    ]
    return "\n".join(lines) + "\n", summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", default="1,16", help="client counts, comma-separated")
    parser.add_argument("--wallets", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=30, help="seconds of discarded transfers first")
    parser.add_argument("--out", default=str(http_bench.RESULTS / "multi_leg"))
    args = parser.parse_args()

    token = http_bench.owner_token()
    ids_file = http_bench.prepare_wallets(args.wallets)
    hot = ids_file.read_text().split()[0]
    concurrencies = [int(value) for value in args.concurrency.split(",")]
    if args.warmup > 0:
        http_bench.run_wrk("transfer", 16, args.warmup, ids_file, token, hot)
    rows: list[dict[str, Any]] = []
    for round_number, concurrency, scenario in (
        (number, concurrency, scenario)
        for concurrency in concurrencies
        for number in range(args.rounds)
        for scenario in SCENARIOS
    ):
        row = http_bench.run_wrk(scenario, concurrency, args.duration, ids_file, token, hot)
        row["round"] = round_number + 1
        row["transfers_per_s"] = round(row["rps"] * TRANSFERS_PER_REQUEST[scenario], 1)
        rows.append(row)
        http_bench.say(
            f"{concurrency} clients, round {round_number + 1} {scenario}: {row['rps']:.0f} req/s, "
            f"{row['transfers_per_s']:.0f} transfers/s, {row['web_cpu_ms_per_request']} ms web CPU/request, "
            f"{row['errors']} errors"
        )
    text, summary = report_all(rows, concurrencies, args.rounds)
    http_bench.write_results(args.out, {"args": vars(args), "rows": rows, "summary": summary}, text)


if __name__ == "__main__":
    main()
