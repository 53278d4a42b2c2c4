#!/usr/bin/env python3
"""Verify a wallet statement offline: nothing but Python 3.9+ and its standard library.

    python3 verify_statement.py statement.csv
    python3 verify_statement.py page1.json page2.json ...      (the JSON pages, in order)
    python3 verify_statement.py --previous february.csv march.csv

A statement downloaded from GET /wallets/{id}/statement (CSV: `?format=csv`; JSON: every page of
it) carries each entry's chain hash: SHA-256 of the previous entry's hash and the entry's canonical
bytes, the first entry of a wallet chained to a genesis hash derived from its id
(docs/ledger-chain.md). This script checks, from the opening row on:

  - every entry's hash recomputes from the previous one (the first from the opening hash);
  - every entry's balance_after is the previous balance plus its amount (from the opening balance);
  - versions strictly increase (a hold takes a version without an entry, so not always by one);
  - the closing row (or header) is the last entry's hash, balance and version;
  - JSON: the totals and count are the entries' own, and every page repeats the same header;
  - with --previous: the earlier statement verifies too, is of the same wallet, and its closing
    hash, balance and version are this one's opening ones, so nothing was inserted, changed or
    removed in between.

Exit 0 printing "OK ..."; exit 1 naming the first bad row (CSV: its line number; JSON: its page and
position). Keep the closing hash of a statement you verified: the next statement must open with it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

GENESIS_PREFIX = b"wallet-ledger-genesis:v1|"
CSV_HEADER = (
    "row,wallet_id,created_at,entry_id,transaction_id,type,amount,currency,balance_after,"
    "wallet_version,description,hash"
)
PLACES = Decimal("0.0001")


class Bad(Exception):
    """The statement fails a check: the message names where."""


# The chain's definition (the same few lines as wallets/chain.py in the wallet service).


def genesis_hash(wallet_id: str) -> bytes:
    return hashlib.sha256(GENESIS_PREFIX + wallet_id.encode()).digest()


def money_text(value: Decimal) -> str:
    return format(value.quantize(PLACES), "f")


def time_text(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: UP017 -- 3.9


def canonical_bytes(entry: dict[str, Any]) -> bytes:
    fields = [
        "v1",
        entry["wallet_id"],
        str(entry["wallet_version"]),
        entry["id"],
        entry["transaction_id"],
        entry["type"],
        money_text(entry["amount"]),
        entry["currency"],
        money_text(entry["balance_after"]),
        time_text(entry["created_at"]),
    ]
    return "|".join(fields).encode()


def next_hash(previous: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(previous + canonical).digest()


# Reading a statement.


def parse_money(text: Any, what: str) -> Decimal:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise Bad(f"{what} {text!r} is not a decimal") from None
    if not value.is_finite():
        raise Bad(f"{what} {text!r} is not a decimal")
    return value


def parse_time(text: Any, what: str) -> datetime:
    raw = str(text)
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Bad(f"{what} {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise Bad(f"{what} {text!r} has no offset")
    return moment


def parse_version(text: Any, what: str) -> int:
    try:
        return int(str(text))
    except ValueError:
        raise Bad(f"{what} {text!r} is not a version number") from None


def parse_hash(text: Any, what: str) -> bytes:
    raw = str(text or "")
    if len(raw) != 64 or raw != raw.lower():
        raise Bad(f"{what} {text!r} is not 64 lowercase hex characters")
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise Bad(f"{what} {text!r} is not 64 lowercase hex characters") from None


class Statement:
    """A statement as read: its marks, its entries (each with where it was found), its totals."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.wallet_id = ""
        self.currency = ""
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.opening_balance = Decimal(0)
        self.opening_version = 0
        self.opening_hash = b""
        self.closing_balance = Decimal(0)
        self.closing_version = 0
        self.closing_hash = b""
        self.closing_where = "the closing row"
        self.entries: list[dict[str, Any]] = []
        self.totals: dict[str, Any] | None = None  # JSON: total_in, total_out, count


def read_csv(path: str) -> Statement:
    statement = Statement(path)
    with open(path, encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    if not lines or ",".join(lines[0]) != CSV_HEADER:
        raise Bad(f"{path}: line 1 is not the statement header {CSV_HEADER!r}")
    rows = lines[1:]
    if len(rows) < 2 or rows[0][:1] != ["OPENING"] or rows[-1][:1] != ["CLOSING"]:
        raise Bad(f"{path}: a statement is an OPENING row, its ENTRY rows and a CLOSING row")
    width = len(lines[0])
    for number, row in enumerate(rows, start=2):
        where = f"{path} line {number}"
        if len(row) != width:
            raise Bad(f"{where}: {len(row)} fields, the header has {width}")
        kind, wallet_id, created_at, entry_id, transaction_id, entry_type, amount, currency = row[:8]
        balance_after, version, _description, chain_hash = row[8:]
        if number == 2:
            statement.wallet_id, statement.currency = wallet_id, currency
            statement.start = parse_time(created_at, f"{where}: from")
            statement.opening_balance = parse_money(balance_after, f"{where}: opening balance")
            statement.opening_version = parse_version(version, f"{where}: opening version")
            statement.opening_hash = parse_hash(chain_hash, f"{where}: opening hash")
        elif number == len(rows) + 1:
            if (wallet_id, currency) != (statement.wallet_id, statement.currency):
                raise Bad(f"{where}: the closing row is of another wallet or currency")
            statement.end = parse_time(created_at, f"{where}: to")
            statement.closing_balance = parse_money(balance_after, f"{where}: closing balance")
            statement.closing_version = parse_version(version, f"{where}: closing version")
            statement.closing_hash = parse_hash(chain_hash, f"{where}: closing hash")
            statement.closing_where = f"{where} (the closing row)"
        elif kind != "ENTRY":
            raise Bad(f"{where}: {kind!r} where an ENTRY row belongs")
        else:
            statement.entries.append(
                {
                    "where": where,
                    "wallet_id": wallet_id,
                    "created_at": parse_time(created_at, f"{where}: created_at"),
                    "id": entry_id,
                    "transaction_id": transaction_id,
                    "type": entry_type,
                    "amount": parse_money(amount, f"{where}: amount"),
                    "currency": currency,
                    "balance_after": parse_money(balance_after, f"{where}: balance_after"),
                    "wallet_version": parse_version(version, f"{where}: wallet_version"),
                    "hash": parse_hash(chain_hash, f"{where}: hash"),
                }
            )
    return statement


HEADER_FIELDS = (
    "wallet_id",
    "currency",
    "from",
    "to",
    "opening_balance",
    "closing_balance",
    "total_in",
    "total_out",
    "count",
    "opening_hash",
    "closing_hash",
    "opening_version",
    "closing_version",
)


def read_json(paths: list[str]) -> Statement:
    statement = Statement(" ".join(paths))
    first: dict[str, Any] | None = None
    for page, path in enumerate(paths, start=1):
        with open(path, encoding="utf-8") as handle:
            try:
                document = json.load(handle)
            except json.JSONDecodeError as exc:
                raise Bad(f"{path}: not JSON ({exc})") from None
        data = document.get("data", document) if isinstance(document, dict) else None
        if not isinstance(data, dict) or any(name not in data for name in HEADER_FIELDS):
            raise Bad(f"{path}: not a statement page (its data lacks the statement's header fields)")
        header = {name: data[name] for name in HEADER_FIELDS}
        if first is None:
            first = header
        elif header != first:
            changed = [name for name in HEADER_FIELDS if header[name] != first[name]]
            raise Bad(f"{path} (page {page}): its header differs from page 1's: {', '.join(changed)}")
        more = data.get("next_cursor")
        if page < len(paths) and not more:
            raise Bad(f"{path} (page {page}): the last page (no next_cursor), yet more pages follow")
        if page == len(paths) and more:
            raise Bad(f"{path} (page {page}): has a next_cursor: the statement's later pages are missing")
        for position, item in enumerate(data.get("entries") or [], start=1):
            where = f"{path} (page {page}) entry {position}"
            if not isinstance(item, dict):
                raise Bad(f"{where}: not an entry")
            try:
                statement.entries.append(
                    {
                        "where": f"{where} ({item.get('id')})",
                        "wallet_id": header["wallet_id"],
                        "created_at": parse_time(item["created_at"], f"{where}: created_at"),
                        "id": str(item["id"]),
                        "transaction_id": str(item["transaction_id"]),
                        "type": str(item["type"]),
                        "amount": parse_money(item["amount"], f"{where}: amount"),
                        "currency": str(item["currency"]),
                        "balance_after": parse_money(item["balance_after"], f"{where}: balance_after"),
                        "wallet_version": parse_version(item["wallet_version"], f"{where}: wallet_version"),
                        "hash": parse_hash(item["hash"], f"{where}: hash"),
                    }
                )
            except KeyError as exc:
                raise Bad(f"{where}: no {exc.args[0]!r}") from None
    if first is None:
        raise Bad("no statement page given")
    statement.wallet_id, statement.currency = str(first["wallet_id"]), str(first["currency"])
    statement.start = parse_time(first["from"], "from")
    statement.end = parse_time(first["to"], "to")
    statement.opening_balance = parse_money(first["opening_balance"], "opening_balance")
    statement.opening_version = parse_version(first["opening_version"], "opening_version")
    statement.opening_hash = parse_hash(first["opening_hash"], "opening_hash")
    statement.closing_balance = parse_money(first["closing_balance"], "closing_balance")
    statement.closing_version = parse_version(first["closing_version"], "closing_version")
    statement.closing_hash = parse_hash(first["closing_hash"], "closing_hash")
    statement.closing_where = "the header's closing_balance, closing_version and closing_hash"
    statement.totals = {
        "total_in": parse_money(first["total_in"], "total_in"),
        "total_out": parse_money(first["total_out"], "total_out"),
        "count": first["count"],
    }
    return statement


def read(paths: list[str]) -> Statement:
    with open(paths[0], encoding="utf-8") as handle:
        start = handle.read(64).lstrip("\ufeff \t\r\n")
    if start.startswith("{"):
        return read_json(paths)
    if len(paths) != 1:
        raise Bad("a CSV statement is one file")
    return read_csv(paths[0])


# The checks.


def verify(statement: Statement) -> None:
    """Raise Bad naming the first row that fails a check."""
    previous_hash = statement.opening_hash
    balance = statement.opening_balance
    version = statement.opening_version
    total_in = total_out = Decimal(0)
    for entry in statement.entries:
        where = entry["where"]
        if entry["wallet_id"] != statement.wallet_id or entry["currency"] != statement.currency:
            raise Bad(f"{where}: of wallet {entry['wallet_id']} in {entry['currency']}, not the statement's")
        moment = entry["created_at"]
        if (
            statement.start is not None
            and statement.end is not None
            and not statement.start <= moment < statement.end
        ):
            raise Bad(f"{where}: its time {time_text(moment)} is outside the statement's period")
        if entry["wallet_version"] <= version:
            raise Bad(f"{where}: version {entry['wallet_version']} does not follow version {version}")
        expected_balance = balance + entry["amount"]
        if entry["balance_after"] != expected_balance:
            raise Bad(
                f"{where}: balance_after {money_text(entry['balance_after'])}, but the previous "
                f"balance {money_text(balance)} plus the amount {money_text(entry['amount'])} "
                f"is {money_text(expected_balance)}"
            )
        expected_hash = next_hash(previous_hash, canonical_bytes(entry))
        if entry["hash"] != expected_hash:
            raise Bad(
                f"{where}: hash {entry['hash'].hex()} is not what its fields and the previous hash "
                f"give ({expected_hash.hex()}): the entry was changed, or one before it was "
                "removed, inserted or reordered"
            )
        previous_hash, balance, version = expected_hash, expected_balance, entry["wallet_version"]
        if entry["amount"] > 0:
            total_in += entry["amount"]
        else:
            total_out -= entry["amount"]
    where = statement.closing_where
    if statement.closing_hash != previous_hash:
        raise Bad(
            f"{where}: closing hash {statement.closing_hash.hex()} is not the last entry's "
            f"{previous_hash.hex()}"
        )
    if statement.closing_balance != balance:
        raise Bad(
            f"{where}: closing balance {money_text(statement.closing_balance)} is not {money_text(balance)}"
        )
    if statement.closing_version != version:
        raise Bad(f"{where}: closing version {statement.closing_version} is not the last entry's {version}")
    if statement.totals is not None:
        count = len(statement.entries)
        if statement.totals["count"] != count:
            raise Bad(f"header: count {statement.totals['count']} but the pages hold {count} entries")
        if statement.totals["total_in"] != total_in:
            raise Bad(
                f"header: total_in {money_text(statement.totals['total_in'])} but the entries' credits "
                f"sum to {money_text(total_in)}"
            )
        if statement.totals["total_out"] != total_out:
            raise Bad(
                f"header: total_out {money_text(statement.totals['total_out'])} but the entries' debits "
                f"sum to {money_text(total_out)}"
            )


def verify_follows(earlier: Statement, later: Statement) -> None:
    """The earlier statement closes where the later one opens: the same chain position."""
    where = f"{later.source} opening"
    if earlier.wallet_id != later.wallet_id:
        raise Bad(f"{where}: of wallet {later.wallet_id}, the earlier statement of {earlier.wallet_id}")
    if later.opening_hash != earlier.closing_hash:
        raise Bad(
            f"{where}: opening hash {later.opening_hash.hex()} is not the earlier statement's closing "
            f"hash {earlier.closing_hash.hex()}: the ledger between them was changed"
        )
    if (later.opening_balance, later.opening_version) != (earlier.closing_balance, earlier.closing_version):
        raise Bad(
            f"{where}: opening balance {money_text(later.opening_balance)} at version "
            f"{later.opening_version} is not the earlier statement's closing "
            f"{money_text(earlier.closing_balance)} at version {earlier.closing_version}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify a wallet statement (CSV, or the JSON pages in order) offline.",
    )
    parser.add_argument("statement", nargs="+", help="the statement's CSV file, or its JSON pages in order")
    parser.add_argument(
        "--previous",
        action="append",
        metavar="EARLIER",
        help="the statement before it (its CSV, or each of its JSON pages in order, one --previous "
        "each): its closing hash must be this one's opening hash",
    )
    args = parser.parse_args(argv)
    try:
        statement = read(args.statement)
        verify(statement)
        if args.previous:
            earlier = read(args.previous)
            verify(earlier)
            verify_follows(earlier, statement)
    except Bad as bad:
        print(f"FAILED: {bad}")
        return 1
    except (OSError, UnicodeDecodeError) as exc:
        print(f"FAILED: cannot read the statement: {exc}")
        return 1
    chained = " and follows the earlier statement" if args.previous else ""
    print(
        f"OK: statement of wallet {statement.wallet_id} ({statement.currency}), "
        f"{len(statement.entries)} entries, opening {money_text(statement.opening_balance)} at version "
        f"{statement.opening_version}, closing {money_text(statement.closing_balance)} at version "
        f"{statement.closing_version}, closing hash {statement.closing_hash.hex()}{chained}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
