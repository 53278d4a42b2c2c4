"""DB_HA=patroni for scripts/stack: etcd plus Patroni managing two PostgreSQL nodes on loopback.

What the stack needs to know about the cluster and nothing else: the nodes' addresses (read from
the multi-host DATABASE_URL the app uses too), Patroni's and etcd's configuration, and who leads
(Patroni's REST API). scripts/stack starts, supervises and stops the processes with its own
helpers; this module only builds their configuration and reads their state, with the standard
library only (the stack runs before the virtualenv exists). docs/high-availability.md says why each
setting is what it is.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# Patroni's node names, one per host:port of DATABASE_URL, in that order.
NODE_NAMES = ("pg-a", "pg-b")
DEFAULT_URL = "postgres://wallet:wallet@127.0.0.1:5432,127.0.0.1:5433/wallet?target_session_attrs=read-write"
# Passwords of the cluster's own roles, used on loopback only (scram over 127.0.0.1).
SUPERUSER_PASSWORD = "stack-superuser"  # noqa: S105
REPLICATION_USER = "replicator"
REPLICATION_PASSWORD = "stack-replicator"  # noqa: S105


@dataclass(frozen=True)
class Node:
    name: str
    port: int  # PostgreSQL
    rest_port: int  # Patroni's REST API
    directory: Path  # its data, socket, configuration

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def config(self) -> Path:
        return self.directory / "patroni.yml"

    @property
    def service(self) -> str:
        """The stack's service name: `patroni-a` runs node pg-a."""
        return "patroni-" + self.name.split("-")[1]


def hosts_of(url: str) -> list[tuple[str, int]]:
    """The host:port pairs of a (multi-host) PostgreSQL URL, as libpq reads `h1:p1,h2:p2`."""
    netloc = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
    pairs = []
    for item in netloc.split(","):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "5432")
        pairs.append((host or "127.0.0.1", int(port or 5432)))
    return pairs


def nodes(url: str, stack_dir: Path, rest_port: int) -> list[Node]:
    pairs = hosts_of(url)
    if len(pairs) != len(NODE_NAMES):
        raise ValueError(
            f"DB_HA=patroni needs DATABASE_URL with {len(NODE_NAMES)} hosts (h1:p1,h2:p2), not {len(pairs)}"
        )
    return [
        Node(name, port, rest_port + index, stack_dir / "patroni" / name)
        for index, (name, (_, port)) in enumerate(zip(NODE_NAMES, pairs, strict=True))
    ]


@dataclass(frozen=True)
class ClusterSettings:
    """The cluster's dynamic settings (Patroni writes them to etcd at bootstrap)."""

    ttl: int = 10  # seconds a leader's key lives without renewal: the failover time after a node is lost
    loop_wait: int = 1
    retry_timeout: int = 4  # ttl >= loop_wait + 2 * retry_timeout
    synchronous_mode_strict: bool = False
    logical: bool = False  # wal_level=logical (RELAY=debezium, or its slot still on a node)
    # RELAY=debezium: (slot, database) of the connector's logical slot, which Patroni keeps as a
    # permanent slot once relay_setup created it: copied to the standby and advanced there every
    # loop, so that it exists on whichever node is promoted. Not before: Patroni would create it
    # before the publication exists, and pgoutput cannot decode past a change older than the
    # publication it is asked for (`publication "..." does not exist`, for good).
    logical_slot: tuple[str, str] | None = None
    # RELAY=debezium: the slot's name, which Patroni must not drop as unknown meanwhile.
    ignored_slot: str | None = None


def etcd_command(stack_dir: Path, client_port: int) -> list[str]:
    """One etcd member on loopback (a real deployment runs three, on three machines)."""
    data = stack_dir / "etcd"
    client = f"http://127.0.0.1:{client_port}"
    peer = f"http://127.0.0.1:{client_port + 1}"
    return [
        "etcd",
        "--name",
        "stack",
        "--data-dir",
        str(data),
        "--listen-client-urls",
        client,
        "--advertise-client-urls",
        client,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--initial-cluster",
        f"stack={peer}",
        "--initial-cluster-state",
        "new",
        "--logger",
        "zap",
        "--log-level",
        "warn",
    ]


def dynamic_config(settings: ClusterSettings) -> dict[str, object]:
    """The settings Patroni keeps in etcd: written at bootstrap, and again at every `up` (PATCH
    /config) so that a change here reaches a cluster that already exists. A key whose value is
    None is removed by the PATCH (`slots` without RELAY=debezium: Patroni then drops the slot)."""
    slots = None
    if settings.logical_slot:
        name, database = settings.logical_slot
        slots = {name: {"type": "logical", "database": database, "plugin": "pgoutput"}}
    return {
        "ttl": settings.ttl,
        "loop_wait": settings.loop_wait,
        "retry_timeout": settings.retry_timeout,
        "maximum_lag_on_failover": 1048576,
        # A crashed primary is not restarted in place: the leader key is released at once and the
        # synchronous standby (which has every acknowledged commit) takes over.
        "primary_start_timeout": 0,
        "synchronous_mode": True,
        "synchronous_mode_strict": settings.synchronous_mode_strict,
        # With etcd unreachable, a primary that still reaches every member over Patroni's REST API
        # keeps serving instead of demoting itself (one etcd member here: a restart must not stop
        # the writes).
        "failsafe_mode": True,
        "slots": slots,
        "ignore_slots": [{"name": settings.ignored_slot, "type": "logical"}]
        if settings.ignored_slot
        else None,
        "postgresql": {
            "use_pg_rewind": True,
            "use_slots": True,
            "parameters": {
                "wal_level": "logical" if settings.logical else "replica",
                "wal_log_hints": "on",  # pg_rewind needs it (or data checksums)
                "hot_standby": "on",
                "max_connections": 200,
                "max_wal_senders": 10,
                "max_replication_slots": 10,
                "wal_keep_size": "256MB",
                # A logical slot copied to the standby is usable after a promotion only if the
                # primary kept the catalog rows it needs: the standby's feedback holds them.
                "hot_standby_feedback": "on" if settings.logical_slot else "off",
            },
        },
    }


def apply_dynamic_config(node: Node, settings: ClusterSettings) -> None:
    """PATCH the cluster's settings in etcd through one node's REST API."""
    body = json.dumps(dynamic_config(settings)).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{node.rest_port}/config",
        data=body,
        method="PATCH",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (an http:// URL we built)
        response.read()


def patroni_config(
    node: Node,
    all_nodes: list[Node],
    *,
    scope: str,
    etcd_port: int,
    bin_dir: str,
    settings: ClusterSettings,
    parameters: dict[str, str],
) -> str:
    """Patroni's YAML for one node, as JSON (YAML is a superset of JSON: no YAML writer needed)."""
    config = {
        "scope": scope,
        "namespace": "/service/",
        "name": node.name,
        "restapi": {
            "listen": f"127.0.0.1:{node.rest_port}",
            "connect_address": f"127.0.0.1:{node.rest_port}",
        },
        "etcd3": {"hosts": [f"127.0.0.1:{etcd_port}"]},
        "bootstrap": {
            "dcs": {key: value for key, value in dynamic_config(settings).items() if value is not None},
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, {"auth-local": "trust"}],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{node.port}",
            "connect_address": f"127.0.0.1:{node.port}",
            "data_dir": str(node.data),
            "bin_dir": bin_dir,
            "pgpass": str(node.directory / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres", "password": SUPERUSER_PASSWORD},
                "replication": {"username": REPLICATION_USER, "password": REPLICATION_PASSWORD},
                "rewind": {"username": "postgres", "password": SUPERUSER_PASSWORD},
            },
            "parameters": {"unix_socket_directories": str(node.directory), **parameters},
            "pg_hba": [
                "local all all trust",
                f"host replication {REPLICATION_USER} 127.0.0.1/32 scram-sha-256",
                "host all all 127.0.0.1/32 scram-sha-256",
            ],
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
    }
    return json.dumps(config, indent=2) + "\n"


def restart_postgresql(node: Node) -> None:
    """Patroni restarts its PostgreSQL in place (POST /restart): a setting that needs a restart
    (wal_level) takes effect; the leader stays the leader."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{node.rest_port}/restart",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=90) as response:  # noqa: S310 (an http:// URL we built)
        response.read()


def haproxy_config(all_nodes: list[Node], port: int) -> str:
    """HAProxy on loopback `port`, forwarding to the node whose Patroni answers 200 on GET /primary
    (the leader, running as primary; a standby answers 503). A node marked down has its sessions
    cut, so a client still talking to a demoted primary reconnects and lands on the new one.
    Timeouts are long: the connector's replication stream may stay quiet for a while."""
    servers = "\n".join(
        f"  server {node.name} 127.0.0.1:{node.port} check port {node.rest_port}" for node in all_nodes
    )
    return f"""# Written by scripts/stack at every start (scripts/stack_ha.py: haproxy_config).
global
  maxconn 200

defaults
  mode tcp
  timeout connect 3s
  timeout client 1h
  timeout server 1h
  timeout check 2s

listen primary
  bind 127.0.0.1:{port}
  option httpchk
  http-check send meth GET uri /primary
  http-check expect status 200
  default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
"""


def node_state(node: Node) -> dict[str, object] | None:
    """Patroni's view of its node (`GET /patroni`): role, state, timeline; None when it does not
    answer. Any HTTP status still carries the JSON (503 for a replica on /primary and so on)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.rest_port}/patroni", timeout=2) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        try:
            return dict(json.loads(error.read()))
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


def role_of(state: dict[str, object] | None) -> str:
    """`leader`, `sync standby`, `standby`, or what Patroni says it is doing (starting, stopped)."""
    if state is None:
        return "not answering"
    role = str(state.get("role", "?"))
    pg_state = str(state.get("state", "?"))
    if role in ("master", "primary") and pg_state == "running":
        return "leader"
    if role == "replica" and pg_state in ("running", "streaming"):
        sync = state.get("sync_standby")
        return "sync standby" if sync else "standby"
    return f"{role} {pg_state}"


def cluster(node: Node) -> dict[str, object] | None:
    """`GET /cluster` from any node: every member, its role, lag and timeline."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.rest_port}/cluster", timeout=2) as response:
            return dict(json.loads(response.read()))
    except (OSError, ValueError):
        return None


def leader(all_nodes: list[Node]) -> Node | None:
    for node in all_nodes:
        if role_of(node_state(node)) == "leader":
            return node
    return None
