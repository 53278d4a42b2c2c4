"""Volume benchmark: the periodic and full reconcile, rebuild_history, the history pages, the admin and
the probes, and transfer throughput, at 1 M and 10 M ledger entries (issue #21).

    .venv/bin/python bench/volume.py [--sizes 1m,10m] [--rebuild-sizes 1m] [--drop]
    (make bench-volume; needs the infrastructure: scripts/stack up --infra)

Each size has its own database (`wallet_volume_1m`, `wallet_volume_10m`) on the stack's PostgreSQL,
migrated with `manage.py migrate` and seeded in SQL (bench/volume_seed.py: resumable, with a
progress bar), and its own Kafka topic (`wallet-events-volume-1m` ...) holding the seeded events
for `rebuild_history`. A freshly migrated database with the same wallets and no history,
`wallet_volume_empty`, is the throughput baseline and the schema reference (pg_dump of `public`).
The databases and topics are kept (a rerun skips the seeding) unless `--drop` is given.

At each size: `manage.py reconcile --full` (wall time, the process's CPU and its PostgreSQL
backend's), 1,000 new transfers, then one periodic `manage.py reconcile`; an old ledger row
changed behind the system's back (its append-only and balance triggers disabled in that one
transaction) and `reconcile --full` must exit 1 naming it, then the row is restored;
`rebuild_history` from the topic (events/s; sizes in `--rebuild-sizes`); `rebuild_history
--from-ledger` at every size (wall, CPU, peak memory; bench/results/ledger_rebuild.md); sequential GETs of the
history pages (first and a deep cursor page of the long-history wallet), every admin changelist
and the overview, `/metrics`, `/health/ready`. Last, uniform transfers with wrk against the volume
database and the empty one in turn (ABAB, each with its relay and consumer running, each run on a
quiet machine: bench/quiet.py). Results: bench/results/volume.md, .json and .png.
"""

# ruff: noqa: S608 -- SQL built from module constants (table and schema names); values are parameters

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
import volume_http as web  # noqa: E402
import volume_seed as seeding  # noqa: E402
from django.contrib import admin  # noqa: E402
from django.urls import reverse  # noqa: E402
from quiet import wait_for_quiet  # noqa: E402

from common.postgresql.url import database_url  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / ".stack" / "volume"
SIZES = {"1m": 1_000_000, "10m": 10_000_000}
EMPTY_DB = "wallet_volume_empty"
INCREMENT_TRANSFERS = 1000
THROUGHPUT_WALLETS = 1000

# The targets.
TARGET_PERIODIC_RATIO = 2.0  # periodic reconcile at 10 M within 2x its cost at 1 M
TARGET_PERIODIC_S = 10.0
TARGET_ADMIN_MS = 500.0
TARGET_HISTORY_P99_MS = 50.0
TARGET_THROUGHPUT_RATIO = 0.9


def say(message: str) -> None:
    print(f"volume: {message}", flush=True)


def plan_of(size: str) -> seeding.Plan:
    if size == "empty":
        return seeding.plan_for(0, topic="wallet-events-volume-empty")
    return seeding.plan_for(SIZES[size], topic=f"wallet-events-volume-{size}")


def db_name(size: str) -> str:
    return EMPTY_DB if size == "empty" else seeding.database_name(SIZES[size])


@functools.cache
def full_flag() -> list[str]:
    """`--full` once the checkpointed reconcile has it; until then the plain run is the full one."""
    help_text = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    return ["--full"] if "--full" in help_text else []


def child(url: str, *args: str, topic: str | None = None) -> dict[str, Any]:
    """A management command in a process of its own on `url` (bench/volume_child.py)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "walletproject.settings",
        "DATABASE_URL": url,
    }
    if topic:
        env["KAFKA_TOPIC"] = topic
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "volume_child.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    line = next((ln for ln in reversed(result.stdout.splitlines()) if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"{' '.join(args)} printed no result:\n{result.stdout}{result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(line)
    data["cpu_s"] = round(data["process_cpu_s"] + data["backend_cpu_s"], 3)
    return data


def brief(run: dict[str, Any]) -> dict[str, Any]:
    """A command's figures without its whole output (the report's first line kept)."""
    first = (run["stdout"].strip().splitlines() or [""])[0]
    return {k: run[k] for k in ("exit", "wall_s", "process_cpu_s", "backend_cpu_s", "cpu_s")} | {
        "summary": first
    }


def prepare(size: str, *, produce: bool) -> dict[str, Any]:
    """The size's database created, migrated, seeded (resuming), and its topic filled."""
    plan, name = plan_of(size), db_name(size)
    admin_url, url = database_url("postgres"), database_url(name)
    if seeding.create_database(admin_url, name):
        say(f"{name}: created")
    seeding.migrate(url)
    started = time.monotonic()
    state = seeding.seed(url, plan, say=say)
    info: dict[str, Any] = {
        "database": name,
        "plan": {"wallets": plan.wallets + 1, "users": plan.users + 1, "rounds": plan.rounds},
        "seed_s": round(state.seconds, 1),
        "seed_run_s": round(time.monotonic() - started, 1),
    }
    if produce:
        started = time.monotonic()
        produced = seeding.produce_topic(url, plan, say=say)
        info["produce_s"] = round(time.monotonic() - started, 1)
        info["produced_now"] = produced
    return info


def describe(size: str) -> dict[str, Any]:
    url = database_url(db_name(size))
    return {"rows": seeding.counts(url), "database_bytes": seeding.database_size(url)}


def schema_matches(size: str) -> bool:
    """The seeded database's app schema is what migrations make (the empty database's)."""
    return seeding.public_schema(database_url(db_name(size))) == seeding.public_schema(database_url(EMPTY_DB))


def long_wallet(url: str, plan: seeding.Plan, n: int | None = None) -> str:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            f"SELECT id::text FROM {seeding.SEED_SCHEMA}.wallet WHERE n = %s",
            [plan.long_wallet if n is None else n],
        ).fetchone()
        assert row is not None
        return str(row[0])


def set_trigger(cursor: psycopg.Cursor[Any], enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    cursor.execute(
        f"ALTER TABLE wallets_ledgerentry {verb} TRIGGER ledgerentry_append_only, "
        f"{verb} TRIGGER ledgerentry_transaction_balanced"
    )


def tamper(url: str, plan: seeding.Plan) -> dict[str, Any]:
    """Change an old entry's amount behind the system's back, run `reconcile --full`, restore it."""
    wallet = long_wallet(url, plan, 1)
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT id, transaction_id, amount FROM wallets_ledgerentry WHERE wallet_id = %s "
            "AND wallet_version = 3",
            [wallet],
        ).fetchone()
        assert row is not None
        entry_id, transaction_id, amount = row
        with connection.transaction(), connection.cursor() as cursor:
            set_trigger(cursor, False)
            cursor.execute("UPDATE wallets_ledgerentry SET amount = amount + 1 WHERE id = %s", [entry_id])
            set_trigger(cursor, True)
    try:
        periodic = child(url, "reconcile")
        found = child(url, "reconcile", *full_flag())
    finally:
        with psycopg.connect(url) as connection, connection.transaction(), connection.cursor() as cursor:
            set_trigger(cursor, False)
            cursor.execute("UPDATE wallets_ledgerentry SET amount = %s WHERE id = %s", [amount, entry_id])
            set_trigger(cursor, True)
    names = [str(transaction_id), wallet]
    report = found["stdout"]
    return {
        "entry": str(entry_id),
        "transaction": str(transaction_id),
        "wallet": wallet,
        "full": brief(found),
        "full_found": found["exit"] == 1 and any(name in report for name in names),
        "full_report": report,
        "periodic": brief(periodic),
        "periodic_found": periodic["exit"] == 1,
    }


def reconcile_measures(size: str, *, recheck: bool) -> dict[str, Any]:
    plan, url = plan_of(size), database_url(db_name(size))
    say(f"{size}: reconcile {' '.join(full_flag()) or '(no --full yet: the plain run)'}")
    full = child(url, "reconcile", *full_flag())
    say(f"{size}: full {full['wall_s']}s, exit {full['exit']}")
    periodic_first = child(url, "reconcile")  # the first periodic run after the full one sets its start
    number = seeding.increment(url, plan, INCREMENT_TRANSFERS)
    seeding.produce_topic(url, plan, say=say, show_progress=False)
    periodic = child(url, "reconcile")
    say(f"{size}: periodic after {INCREMENT_TRANSFERS} transfers (increment {number}) {periodic['wall_s']}s")
    say(f"{size}: tamper test")
    tampered = tamper(url, plan)
    say(f"{size}: tampered row found by --full: {tampered['full_found']}")
    after = child(url, "reconcile", *full_flag()) if recheck else None
    return {
        "full": brief(full),
        "periodic_first": brief(periodic_first),
        "periodic": brief(periodic),
        "tamper": tampered,
        "full_after_restore": brief(after) if after else None,
        "full_flag": bool(full_flag()),
    }


def rebuild(size: str) -> dict[str, Any]:
    plan, url = plan_of(size), database_url(db_name(size))
    seeding.produce_topic(url, plan, say=say)
    events = sum(seeding.topic_ends(plan.topic, plan.partitions))
    say(f"{size}: rebuild_history from {plan.topic} ({events:,} events)")
    run = child(url, "rebuild_history", topic=plan.topic)
    result = brief(run)
    result["events"] = events
    result["events_per_s"] = round(events / run["wall_s"]) if run["wall_s"] else None
    result["output"] = run["stdout"].strip()
    say(f"{size}: rebuild {run['wall_s']}s, {result['events_per_s']} events/s, exit {run['exit']}")
    check = child(url, "reconcile", *full_flag())
    result["reconcile_after"] = brief(check)
    return result


TARGET_LEDGER_REBUILD_10M_S = 600.0  # issue #32: 10 M entries in at most 10 minutes


def ledger_rebuild(size: str) -> dict[str, Any]:
    """`rebuild_history --from-ledger` (issue #32): wall time, CPU, the command's and its PostgreSQL
    backend's peak memory, then a full reconcile of the rebuilt history."""
    url = database_url(db_name(size))
    say(f"{size}: rebuild_history --from-ledger")
    run = child(url, "rebuild_history", "--from-ledger")
    result = brief(run) | {
        "max_rss_mib": run.get("max_rss_mib"),
        "backend_peak_rss_mib": run.get("backend_peak_rss_mib"),
        "output": run["stdout"].strip(),
    }
    say(f"{size}: --from-ledger {run['wall_s']}s, exit {run['exit']}: {result['output']}")
    result["reconcile_after"] = brief(child(url, "reconcile", *full_flag()))
    return result


def ledger_report(results: dict[str, Any], out: Path) -> None:
    """bench/results/ledger_rebuild.md and .json: the --from-ledger figures of every size measured."""
    rows = {s: e["ledger_rebuild"] for s, e in results["sizes"].items() if e.get("ledger_rebuild")}
    if out.with_suffix(".json").exists():  # sizes measured by an earlier run stay (a run may measure one)
        earlier = json.loads(out.with_suffix(".json").read_text()).get("sizes", {})
        rows = {**{s: r for s, r in earlier.items() if s not in rows}, **rows}
    rows = dict(sorted(rows.items(), key=lambda item: SIZES.get(item[0], 0)))
    out.with_suffix(".json").write_text(json.dumps({"meta": results["meta"], "sizes": rows}, indent=2))
    lines = [
        "# rebuild_history --from-ledger (issue #32)",
        "",
        f"Measured {results['meta'].get('measured_at')} on {results['meta'].get('cores')} cores by "
        "`make bench-volume` (`bench/volume.py --steps ledger` for this step alone).",
        "",
        "| size | history rows built | wall | CPU (command + backend) | command peak RSS | backend peak RSS "
        "| reconcile --full after |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, r in rows.items():
        summary = r["output"].split(": ", 1)[-1]
        built = next((w for w in summary.split(", ") if w.startswith("built ")), summary)
        lines.append(
            f"| {size} | {built} | {r['wall_s']:.1f} s | {r['cpu_s']:.1f} s | {r['max_rss_mib']} MiB "
            f"| {r['backend_peak_rss_mib']} MiB | exit {r['reconcile_after']['exit']} |"
        )
    lines += ["", f"Target: 10 M entries in at most {TARGET_LEDGER_REBUILD_10M_S / 60:.0f} minutes.", ""]
    for size, r in rows.items():
        lines.append(f"- {size}: `{r['output']}`")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def admin_paths() -> list[tuple[str, str]]:
    paths = []
    for model in admin.site._registry:
        meta = model._meta
        paths.append(
            (
                f"admin {meta.app_label}.{meta.model_name}",
                reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"),
            )
        )
    return sorted(paths)


def side_of(size: str, port: int) -> web.Side:
    return web.Side(
        name=db_name(size),
        url=database_url(db_name(size)),
        topic=plan_of(size).topic,
        port=port,
        history_port=port + 1,
        logs=WORK / "logs",
    )


def http_measures(size: str, requests_each: int, admin_requests: int, pages: int) -> dict[str, Any]:
    plan = plan_of(size)
    side = side_of(size, 3200)
    token = web.operator_token(side)
    web.ensure_superuser(side)
    say(f"{size}: HTTP latencies ({requests_each} requests each, deep page {pages + 1})")
    with web.serving(side):
        api = web.api_latencies(
            side,
            token,
            long_wallet(side.url, plan),
            plan.user_id(plan.long_wallet),
            long_wallet(side.url, plan, 2),
            requests_each,
            pages,
        )
        admin_rows = web.admin_latencies(side, admin_paths(), admin_requests)
    return {"api": api, "admin": admin_rows}


def commit_group_at_end(side: web.Side, partitions: int) -> None:
    """The side's consumer group starts at the topic's end: the seeded events are already stored."""
    from confluent_kafka import Consumer, TopicPartition

    from kafka_bridge.client import base_config

    ends = seeding.topic_ends(side.topic, partitions)
    consumer = Consumer({**base_config(), "group.id": f"history-{side.name}", "enable.auto.commit": False})
    try:
        consumer.commit(
            offsets=[TopicPartition(side.topic, p, end) for p, end in enumerate(ends)], asynchronous=False
        )
    finally:
        consumer.close()


def throughput(size: str, rounds: int, duration: int, warmup: int, concurrency: int) -> dict[str, Any]:
    """Uniform transfers/s on the volume database and the empty one, alternating (ABAB)."""
    sides = {size: side_of(size, 3200), "empty": side_of("empty", 3300)}
    tokens, ids = {}, {}
    for key, side in sides.items():
        plan = plan_of(key)
        seeding.produce_topic(side.url, plan, say=say, show_progress=False)
        commit_group_at_end(side, plan.partitions)
        # Wallets of one owner, among the side's ledger (10 M entries, or none): the owner's
        # transfers are a customer's, which no staff policy holds back.
        tokens[key], wallet_ids = web.owner_wallets(side, THROUGHPUT_WALLETS)
        ids[key] = web.wallet_ids_file(side, wallet_ids)
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key in sides}
    try:
        for side in sides.values():
            web.start(side, pipeline=True)
        for round_no in range(1, rounds + 1):
            for key, side in sides.items():
                if round_no == 1 and warmup:
                    wait_for_quiet(say, timeout=120)
                    web.run_wrk(side, ids[key], tokens[key], warmup, concurrency)
                    web.wait_drained(side)
                waited = wait_for_quiet(say, timeout=120)
                row = web.run_wrk(side, ids[key], tokens[key], duration, concurrency)
                row["drain_s"] = web.wait_drained(side)
                row["quiet_wait_s"] = waited
                row["round"] = round_no
                runs[key].append(row)
                say(f"throughput {key} round {round_no}: {row['rps']} transfers/s, {row['errors']} errors")
    finally:
        for side in sides.values():
            web.stop(side)
        for key, side in sides.items():
            plan = plan_of(key)
            seeding.sync_offsets(side.url, plan, seeding.topic_ends(plan.topic, plan.partitions))
    best = {key: max(rows, key=lambda r: r["rps"]) for key, rows in runs.items()}
    return {
        "concurrency": concurrency,
        "duration_s": duration,
        "runs": runs,
        "best": best,
        "ratio": round(best[size]["rps"] / best["empty"]["rps"], 3),
    }


# --- the report -----------------------------------------------------------------------------------


def _ms(row: dict[str, Any] | None, key: str = "p99_ms") -> str:
    return "" if row is None else f"{row[key]:.1f}"


def _s(run: dict[str, Any] | None) -> str:
    if not run:
        return ""
    return f"{run['wall_s']:.2f} s (CPU {run['cpu_s']:.2f} s)"


def markdown(results: dict[str, Any]) -> str:
    sizes = [s for s in SIZES if s in results["sizes"]]
    data = results["sizes"]
    header = "| measure | " + " | ".join(f"{s.upper()}" for s in sizes) + " | target |"
    lines = [header, "|---|" + "---|" * len(sizes) + "---|"]

    def row(name: str, values: list[str], target: str = "") -> None:
        lines.append(f"| {name} | " + " | ".join(values) + f" | {target} |")

    row(
        "ledger entries / history events",
        [
            f"{data[s]['rows']['wallets_ledgerentry']:,} / {data[s]['rows']['history_historyevent']:,}"
            for s in sizes
        ],
    )
    row("database size", [f"{data[s]['database_bytes'] / 2**30:.1f} GiB" for s in sizes])
    row("seeding, SQL time the seed recorded", [f"{data[s]['prepare']['seed_s']:.0f} s" for s in sizes])
    rec = {s: data[s].get("reconcile") for s in sizes}
    full_name = (
        "reconcile --full"
        if any(r and r["full_flag"] for r in rec.values())
        else "reconcile (full: no --full yet)"
    )
    row(full_name, [_s(r["full"]) if r else "" for r in rec.values()])
    row(
        f"periodic reconcile after {INCREMENT_TRANSFERS:,} transfers",
        [_s(r["periodic"]) if r else "" for r in rec.values()],
        f"< {TARGET_PERIODIC_S:g} s; 10 M within {TARGET_PERIODIC_RATIO:g}x of 1 M",
    )
    row(
        "tampered old row found by --full (exit 1, names it)",
        [("yes" if r["tamper"]["full_found"] else "**no**") if r else "" for r in rec.values()],
        "yes",
    )
    row(
        "... and by the periodic run",
        [("yes" if r["tamper"]["periodic_found"] else "no") if r else "" for r in rec.values()],
    )
    reb = {s: data[s].get("rebuild") for s in sizes}
    row(
        "rebuild_history",
        [f"{r['wall_s']:.0f} s, {r['events_per_s']:,} events/s" if r else "not run" for r in reb.values()],
    )
    http = {s: data[s].get("http") for s in sizes}
    if any(http.values()):
        names = [(r["endpoint"], r["page"]) for r in next(h for h in http.values() if h)["api"]]
        for endpoint, page in names:
            values = []
            for h in http.values():
                found = (
                    next((r for r in h["api"] if (r["endpoint"], r["page"]) == (endpoint, page)), None)
                    if h
                    else None
                )
                values.append("" if found is None else f"{found['p50_ms']:.1f} / {found['p99_ms']:.1f}")
            history = "history" in endpoint or "activity" in endpoint or "transactions" in endpoint
            row(
                f"{endpoint} {page} p50 / p99 ms",
                values,
                f"p99 < {TARGET_HISTORY_P99_MS:g} ms" if history else "",
            )
        admin_names = [(r["endpoint"], r["page"]) for r in next(h for h in http.values() if h)["admin"]]
        for endpoint, _page in admin_names:
            values = []
            for h in http.values():
                found = next((r for r in h["admin"] if r["endpoint"] == endpoint), None) if h else None
                values.append("" if found is None else f"{found['p50_ms']:.0f} / {found['p99_ms']:.0f}")
            row(f"{endpoint} p50 / p99 ms", values, f"< {TARGET_ADMIN_MS:g} ms")
    for s in sizes:
        t = data[s].get("throughput")
        if t:
            lines.append("")
            lines.append(
                f"Uniform transfers at {s.upper()} ({t['concurrency']} clients, {t['duration_s']} s runs, "
                f"alternating with the empty database, best of {len(t['runs'][s])}): "
                f"{t['best'][s]['rps']:.0f}/s against {t['best']['empty']['rps']:.0f}/s empty, "
                f"ratio {t['ratio']:.3f} (target >= {TARGET_THROUGHPUT_RATIO}); runs: "
                + ", ".join(f"{k} {r['rps']:.0f}" for k in t["runs"] for r in t["runs"][k])
            )
    verdicts = targets(results)
    if verdicts:
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        lines += [
            f"| {v['target']} | {v['measured']} | {'yes' if v['met'] else '**no**'} |" for v in verdicts
        ]
    return "\n".join(lines) + "\n"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    data = results["sizes"]
    out: list[dict[str, Any]] = []

    def add(name: str, measured: str, met: bool) -> None:
        out.append({"target": name, "measured": measured, "met": met})

    rec = {s: data[s]["reconcile"] for s in SIZES if s in data and data[s].get("reconcile")}
    for s, r in rec.items():
        add(
            f"periodic reconcile at {s.upper()} < {TARGET_PERIODIC_S:g} s",
            f"{r['periodic']['wall_s']:.2f} s",
            r["periodic"]["wall_s"] < TARGET_PERIODIC_S,
        )
        add(
            f"tampered row found by --full at {s.upper()}",
            str(r["tamper"]["full_found"]),
            r["tamper"]["full_found"],
        )
    if "1m" in rec and "10m" in rec:
        ratio = rec["10m"]["periodic"]["wall_s"] / max(rec["1m"]["periodic"]["wall_s"], 1e-6)
        add(
            f"periodic reconcile 10 M / 1 M <= {TARGET_PERIODIC_RATIO:g}",
            f"{ratio:.2f}",
            ratio <= TARGET_PERIODIC_RATIO,
        )
    for s in SIZES:
        h = data.get(s, {}).get("http")
        if not h:
            continue
        history = [r for r in h["api"] if "/metrics" not in r["endpoint"] and "/health" not in r["endpoint"]]
        worst = max(history, key=lambda r: r["p99_ms"])
        add(
            f"history API pages p99 < {TARGET_HISTORY_P99_MS:g} ms at {s.upper()}",
            f"worst {worst['p99_ms']:.1f} ms ({worst['endpoint']} {worst['page']})",
            worst["p99_ms"] < TARGET_HISTORY_P99_MS,
        )
        worst_admin = max(h["admin"], key=lambda r: r["p99_ms"])
        add(
            f"admin changelists and overview < {TARGET_ADMIN_MS:g} ms at {s.upper()}",
            f"worst p99 {worst_admin['p99_ms']:.0f} ms ({worst_admin['endpoint']})",
            worst_admin["p99_ms"] < TARGET_ADMIN_MS,
        )
        t = data[s].get("throughput")
        if t:
            add(
                f"transfers/s at {s.upper()} within 10 % of empty",
                f"{t['ratio']:.3f}",
                t["ratio"] >= TARGET_THROUGHPUT_RATIO,
            )
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = results["sizes"]
    sizes = [s for s in SIZES if s in data]
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.5), gridspec_kw={"width_ratios": [1, 1.6, 1.6, 0.8]})
    rec = [data[s].get("reconcile") for s in sizes]
    labels = [s.upper() for s in sizes]
    width = 0.35
    xs = range(len(sizes))
    axes[0].bar(
        [x - width / 2 for x in xs], [r["full"]["wall_s"] if r else 0 for r in rec], width, label="full"
    )
    axes[0].bar(
        [x + width / 2 for x in xs],
        [r["periodic"]["wall_s"] if r else 0 for r in rec],
        width,
        label="periodic",
    )
    axes[0].axhline(TARGET_PERIODIC_S, color="red", linestyle="--", linewidth=1, label="periodic target")
    axes[0].set_xticks(list(xs), labels)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("seconds (log)")
    axes[0].set_title("reconcile")
    axes[0].legend(loc="upper left", fontsize=8)
    http = [data[s].get("http") for s in sizes]
    if any(http):
        first = next(h for h in http if h)
        names = [f"{r['endpoint'].replace('GET ', '')} {r['page']}" for r in first["api"]]
        admin_names = [r["endpoint"].replace("admin ", "") for r in first["admin"]]
        for axis, key, row_names, target, title in (
            (axes[1], "api", names, TARGET_HISTORY_P99_MS, "API pages"),
            (axes[2], "admin", admin_names, TARGET_ADMIN_MS, "admin"),
        ):
            for index, h in enumerate(http):
                if h:
                    axis.barh(
                        [i + index * width for i in range(len(row_names))],
                        [r["p99_ms"] for r in h[key]],
                        width,
                        label=labels[index],
                    )
            axis.set_yticks([i + width / 2 for i in range(len(row_names))], row_names, fontsize=7)
            axis.axvline(target, color="red", linestyle="--", linewidth=1)
            axis.set_xlabel("p99 ms")
            axis.set_title(title)
            axis.legend()
    bars: list[tuple[str, float]] = []
    for size in sizes:
        t = data[size].get("throughput")
        if t:
            bars += [(f"{size.upper()}", t["best"][size]["rps"]), ("empty", t["best"]["empty"]["rps"])]
    if bars:
        axes[3].bar([name for name, _ in bars], [value for _, value in bars], color=["C0", "C2"] * len(sizes))
        axes[3].set_ylabel("transfers/s (best run)")
        axes[3].set_title("uniform transfers, same run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1m,10m")
    parser.add_argument("--steps", default="reconcile,rebuild,ledger,http,throughput")
    parser.add_argument("--rebuild-sizes", default="1m", help="sizes to time rebuild_history at (1m)")
    parser.add_argument("--requests", type=int, default=200, help="GETs per API page")
    parser.add_argument("--admin-requests", type=int, default=20, help="GETs per admin page")
    parser.add_argument("--pages", type=int, default=50, help="how deep the deep page is")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=20, help="seconds of discarded transfers per side")
    parser.add_argument("--rounds", type=int, default=2, help="ABAB rounds of the throughput test")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--throughput-sizes", default="10m")
    parser.add_argument(
        "--recheck-sizes", default="1m", help="sizes to run reconcile --full again after the restore (1m)"
    )
    parser.add_argument(
        "--seed-only", action="store_true", help="seed (and fill the topics), measure nothing"
    )
    parser.add_argument("--drop", action="store_true", help="drop the volume databases and topics at the end")
    parser.add_argument("--out", default=str(RESULTS / "volume"))
    args = parser.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    steps = set(args.steps.split(","))
    rebuild_sizes = set(args.rebuild_sizes.split(","))
    out = Path(args.out)
    WORK.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.with_suffix(".json").read_text()) if out.with_suffix(".json").exists() else {}
    results: dict[str, Any] = {"sizes": previous.get("sizes", {}), "meta": {}}
    prepare("empty", produce=True)
    for size in sizes:
        say(f"{size}: prepare")
        info = prepare(size, produce=True)
        entry: dict[str, Any] = {"prepare": info, **describe(size)}
        entry["schema_matches_migrations"] = schema_matches(size)
        say(
            f"{size}: {entry['rows']} rows, {entry['database_bytes'] / 2**30:.1f} GiB, "
            f"schema as migrated: {entry['schema_matches_migrations']}"
        )
        if not args.seed_only:
            if "reconcile" in steps:
                entry["reconcile"] = reconcile_measures(size, recheck=size in args.recheck_sizes.split(","))
            if "rebuild" in steps and size in rebuild_sizes:
                entry["rebuild"] = rebuild(size)
            if "ledger" in steps:
                entry["ledger_rebuild"] = ledger_rebuild(size)
            if "http" in steps:
                entry["http"] = http_measures(size, args.requests, args.admin_requests, args.pages)
            if "throughput" in steps and size in args.throughput_sizes.split(","):
                entry["throughput"] = throughput(
                    size, args.rounds, args.duration, args.warmup, args.concurrency
                )
            entry.update(describe(size))
        results["sizes"][size] = {**results["sizes"].get(size, {}), **entry}
        results["meta"] = {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cores": os.cpu_count(),
            "args": vars(args),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str))
    ledger_report(results, RESULTS / "ledger_rebuild")
    results["targets"] = targets(results)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str))
    report = markdown(results)
    out.with_suffix(".md").write_text(report)
    plot(results, out.with_suffix(".png"))
    print(report)
    if args.drop:
        for size in [*sizes, "empty"]:
            seeding.drop_database(database_url("postgres"), db_name(size))
            seeding.delete_topic(plan_of(size).topic)
        say("dropped the volume databases and topics")


if __name__ == "__main__":
    main()
