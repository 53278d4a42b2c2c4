"""Settings, read from the environment (and an optional `.env`) with django-environ.

Every setting has a safe default for a developer's machine, matching what `scripts/stack`
starts on loopback. `WALLET_ENV=production` turns on the guards that refuse a development
secret or DEBUG, so a misconfigured deployment fails at start-up instead of in front of users.
"""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
STACK_DIR = BASE_DIR / ".stack"

DEVELOPMENT_SECRET_KEY = "dev-insecure-secret-key-change-me-in-production"  # noqa: S105

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # silently skipped when the file is absent

WALLET_ENV = env.str("WALLET_ENV", default="development")
if WALLET_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("WALLET_ENV must be development, test or production")

SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
# Off unless asked for: with DEBUG on, Django answers errors with debug pages, which the API never may.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])

if WALLET_ENV == "production":
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when WALLET_ENV=production")
    # Django's own bar for a strong key (`check --deploy`, security.W009): 50+ characters, 5+ distinct.
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "set SECRET_KEY to a random value of 50+ characters when WALLET_ENV=production"
        )

PORT = env.int("PORT", default=3000)
# The web server listens here too, so the seed's history-service URLs (its port 3001) work unchanged.
HISTORY_PORT = env.int("HISTORY_PORT", default=3001)
WALLET_DEFAULT_CURRENCY = env.str("WALLET_DEFAULT_CURRENCY", default="USD")
# ISO 4217 codes a wallet may hold. Every amount has 4 decimal places, whatever the currency.
WALLET_CURRENCIES = env.list(
    "WALLET_CURRENCIES",
    default=[
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "CHF",
        "CAD",
        "AUD",
        "NZD",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "CNY",
        "HKD",
        "SGD",
        "INR",
        "BRL",
        "MXN",
        "ZAR",
        "NGN",
        "KES",
    ],
)
if WALLET_DEFAULT_CURRENCY not in WALLET_CURRENCIES:
    raise ImproperlyConfigured("WALLET_DEFAULT_CURRENCY must be one of WALLET_CURRENCIES")
# Group commit for a hot wallet (wallets/group_commit.py): an end user's unkeyed transfers that
# queue on one wallet are batched (one lock, one statement, one commit); a wallet is hot in a web
# worker once two of its transfers there waited more than WALLET_HOT_PATH_WAIT_MS within a second.
WALLET_HOT_PATH = env.bool("WALLET_HOT_PATH", default=False)
WALLET_HOT_PATH_WAIT_MS = env.float("WALLET_HOT_PATH_WAIT_MS", default=5.0)
# Seconds a web worker trusts a token it has looked up (saves a query per request); never past the
# token's own expiry. A revocation made through Django ends it at once (AUTH_GENERATION_FILE); one
# made in raw SQL, or on another host, waits this long at most.
API_TOKEN_CACHE_SECONDS = env.int("API_TOKEN_CACHE_SECONDS", default=30)
# A token's last use (shown in the admin) is written at most this often per token and web process
# (wallets/token_use.py): the cached request path makes no write.
API_TOKEN_USE_SECONDS = env.int("API_TOKEN_USE_SECONDS", default=60)
# The counter this host's processes share to drop cached tokens on a revocation (common/auth_generation.py).
AUTH_GENERATION_FILE = env.path("AUTH_GENERATION_FILE", default=STACK_DIR / "run" / "auth-generation")
# Lifetime of a token `issue_token` makes without --ttl; empty: tokens that never expire.
_token_ttl_days = env.str("API_TOKEN_TTL_DAYS", default="90").strip()
API_TOKEN_TTL = timedelta(days=float(_token_ttl_days)) if _token_ttl_days else None
# Failed API authentications (a bad, expired or revoked token) allowed per client address, DRF rate
# syntax ("20/min"); past it, refused tokens get 401 too_many_failed_authentications with
# Retry-After (common/throttling.py). Empty: no limit.
API_AUTH_FAILURE_RATE = env.str("API_AUTH_FAILURE_RATE", default="20/min") or None
# Requests per end user (never staff), e.g. "600/min"; empty (the default): no per-user limit.
API_USER_RATE = env.str("API_USER_RATE", default="") or None
# Proxies in front of the app that append to X-Forwarded-For; 0: the client address is the socket's.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Admin (and browsable API) logins: failures allowed per username and address before a lock-out of
# ADMIN_LOGIN_COOLOFF_MINUTES. Another user, or the same user from another address, is not locked.
ADMIN_LOGIN_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
ADMIN_LOGIN_COOLOFF_MINUTES = env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # Hashed API tokens with expiry; before wallets, whose admin replaces knox's token page.
    "knox",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files, served by whitenoise
    "wallets",
    # After wallets: its admin replaces the ledger transactions' page (the reverse action goes
    # through the approval threshold).
    "approvals",
    "history",
    "kafka_bridge",
    # The overview's charts: samples of the relay and the consumer, money per day (beat: trends.sample).
    "trends",
    # HTTP webhooks (docs/webhooks.md): endpoints, deliveries, attempts; `manage.py deliver_webhooks`.
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "walletproject.middleware.BodySizeLimitMiddleware",
    # Serves the admin's and the browsable API's static files from the app, compressed and cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: answers a locked-out admin login before the view runs.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = ADMIN_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=ADMIN_LOGIN_COOLOFF_MINUTES)
# Lock a username from one address only: a guesser cannot lock an operator out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "common.throttling.client_address"
# Failed logins are rows (admin: Access attempts); successful ones are in the access log too.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False  # no banner on every manage.py run; failures and lock-outs are still logged

ROOT_URLCONF = "walletproject.urls"
WSGI_APPLICATION = "walletproject.wsgi.application"
# The seed's paths have no trailing slash; the URL patterns accept both forms themselves.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The admin index with the operators' overview; the docs and browsable API pages, which
        # load (and link) nothing from other hosts.
        "DIRS": [BASE_DIR / "walletproject" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "libraries": {"operator_overview": "walletproject.overview"},
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL through psycopg 3. Persistent connections (CONN_MAX_AGE) keep the cost of connecting
# off the hot path; health checks (before a connection's first use in a request or task) replace a
# connection a database restart broke, so no request fails for it.
# DB_HA=patroni (docs/high-availability.md): the two Patroni nodes in one URL; libpq tries each host in
# turn and keeps the one that accepts writes (target_session_attrs=read-write), so after a failover
# the next connection finds the new primary.
DB_HA = env.str("DB_HA", default="off")
_DEFAULT_DATABASE_URL = (
    "postgres://wallet:wallet@127.0.0.1:5432,127.0.0.1:5433/wallet?target_session_attrs=read-write"
    if DB_HA == "patroni"
    else "postgres://wallet:wallet@127.0.0.1:5432/wallet"
)
DATABASES = {"default": env.db_url("DATABASE_URL", default=_DEFAULT_DATABASE_URL)}
# Django's PostgreSQL backend, with a health check that reads the socket's state instead of running
# `SELECT 1` (common/postgresql/base.py says why).
DATABASES["default"]["ENGINE"] = "common.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=3)
# A wallet lock is held for a few milliseconds; a wait past this is a fault, answered 409 `conflict`.
DATABASES["default"]["OPTIONS"]["options"] = f"-c lock_timeout={env.int('DB_LOCK_TIMEOUT_MS', default=5000)}"
# Server-side parameters: psycopg sends values apart from the SQL (no quoting in Python) and prepares
# a statement it has run a few times on a connection, so PostgreSQL stops re-planning the hot ones.
DATABASES["default"]["OPTIONS"]["server_side_binding"] = env.bool("DB_SERVER_SIDE_BINDING", default=True)
# psycopg prepares a statement on its 5th run on a connection (Django turns this off by default,
# for transaction-mode poolers such as PgBouncer: set DB_PREPARE_THRESHOLD=off behind one).
_prepare_threshold = env.str("DB_PREPARE_THRESHOLD", default="5")
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
    None if _prepare_threshold.lower() in ("off", "none", "") else int(_prepare_threshold)
)
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_wallet")}
# DB_READ_REPLICA=true (with DB_HA=patroni): a wallet's history, a user's activity, statements and
# balances at a moment are read from the standby when one answers (common/postgresql/router.py).
DB_READ_REPLICA = env.bool("DB_READ_REPLICA", default=False)
if DB_READ_REPLICA:
    DATABASES["replica"] = {
        **DATABASES["default"],
        "OPTIONS": {
            **DATABASES["default"]["OPTIONS"],
            "target_session_attrs": "prefer-standby",
            "application_name": "wallet-lag-tolerant-reads",
        },
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["common.postgresql.router.ReadReplicaRouter"]
    MIDDLEWARE.append("common.postgresql.router.LagTolerantReadsMiddleware")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Django's cache is Redis; it holds the throttles' counters (shared by every web worker) and nothing
# the money path needs: when Redis is down, throttling fails open (see common/throttling.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="wallet"),
        "OPTIONS": {
            # The most a Redis outage adds to a request that consults a throttle.
            "socket_connect_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=0.25),
            "socket_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=0.25),
        },
    }
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Tasks report through the outbox and the database, not results; only probes ask for a result.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
# Tasks are acknowledged when a pool process takes them, not after they ran (no `acks_late`): every
# task here is a periodic or coalesced job whose durable record is a table (the outbox rows, the
# reconcile runs), so a task lost with its worker is redone by the next sweep or commit. Late acks
# only added redeliveries after the visibility timeout and acks held open across broker restarts.
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# kombu's Redis transport with a fix for acks after a broker restart (see walletproject/broker.py).
CELERY_BROKER_TRANSPORT = "walletproject.broker:Transport"

# The outbox relay (kafka_bridge). Queue its tasks go to; the stack's worker consumes Celery's default.
OUTBOX_TASK_QUEUE = env.str("OUTBOX_TASK_QUEUE", default="celery")
# Rows claimed per batch, oldest first; one transaction and one producer flush per batch.
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=500)
# How long one publish task drains before handing over to a fresh task (keeps tasks short).
OUTBOX_PUBLISH_TIME_BUDGET_SECONDS = env.float("OUTBOX_PUBLISH_TIME_BUDGET_SECONDS", default=10.0)
# Kafka's answer for a message must come within this (librdkafka message.timeout.ms); a message
# without one is a failure and its row stays pending.
OUTBOX_DELIVERY_TIMEOUT_SECONDS = env.float("OUTBOX_DELIVERY_TIMEOUT_SECONDS", default=10.0)
# After this many batches in a row that sent rows and got no acknowledgement, the relay's producer is
# replaced (a broker that lost its log's tail leaves an idempotent producer stuck: publisher.py).
OUTBOX_PRODUCER_REBUILD_AFTER_FAILED_BATCHES = env.int(
    "OUTBOX_PRODUCER_REBUILD_AFTER_FAILED_BATCHES", default=3
)
# Lifetime of the Redis flag that coalesces publish tasks (one pending at a time). If a task is lost
# the flag expires and the next commit schedules again; the sweeper covers the gap meanwhile.
OUTBOX_COALESCE_SECONDS = env.int("OUTBOX_COALESCE_SECONDS", default=30)
# Socket timeout of the Redis call made at commit time: the most a Redis outage adds to a request.
OUTBOX_REDIS_TIMEOUT_SECONDS = env.float("OUTBOX_REDIS_TIMEOUT_SECONDS", default=0.25)
# Publish task retries while Kafka fails: exponential backoff capped here, then the sweeper alone.
OUTBOX_RETRY_BACKOFF_MAX_SECONDS = env.int("OUTBOX_RETRY_BACKOFF_MAX_SECONDS", default=30)
OUTBOX_TASK_MAX_RETRIES = env.int("OUTBOX_TASK_MAX_RETRIES", default=20)
# Celery beat runs the relay this often as a sweeper (Redis outage at commit time, lost tasks).
OUTBOX_LOCKED_OUT_RETRY_SECONDS = env.float("OUTBOX_LOCKED_OUT_RETRY_SECONDS", default=0.05)
# A publish task keeps polling this long after the outbox is empty, every LINGER_POLL seconds.
# Each poll costs the relay a few queries whatever it finds: at 10 ms the relay, Kafka and the
# consumer took a fifth of this 2-core machine's CPU at 400 transfers/s. At 50 ms (batches five
# times bigger; an event waits up to 40 ms more for its poll) the relay's CPU per transfer halved
# and the web served ~10% more; at 100 ms the relay and Kafka took another third less CPU per
# transfer and the web ~6% more, the lag still far inside its target (README, Performance).
OUTBOX_LINGER_SECONDS = env.float("OUTBOX_LINGER_SECONDS", default=1.0)
# Since issue #37 a lingering task is woken by each commit (kafka_bridge/wake.py): this is only the
# longest it waits between two looks when no wake-up comes (a lost one costs no more than this).
OUTBOX_LINGER_POLL_SECONDS = env.float("OUTBOX_LINGER_POLL_SECONDS", default=0.1)
# Woken on commit (a NOTIFY only while the relay sleeps); off: the relay polls as before.
OUTBOX_WAKE_ON_COMMIT = env.bool("OUTBOX_WAKE_ON_COMMIT", default=True)
# Under load, a drain starts no sooner than this after the previous one began, so that it takes a
# few milliseconds of commits at once (the relay's and Kafka's CPU per event) ...
OUTBOX_WAKE_MIN_INTERVAL_SECONDS = env.float("OUTBOX_WAKE_MIN_INTERVAL_SECONDS", default=0.005)
# ... and, while it drained OUTBOX_WAKE_BUSY_ROWS_PER_SECOND or more over its last second, no sooner
# than this: each drain is a fixed cost (a few statements of the relay's and PostgreSQL's CPU), and
# 200 of them a second took up to a third of the transfer rate at full load on 2 cores, while the
# lag at 80 % load was the same at 5 and 20 ms (the CPU's queue, not the interval, set it).
OUTBOX_WAKE_BUSY_INTERVAL_SECONDS = env.float("OUTBOX_WAKE_BUSY_INTERVAL_SECONDS", default=0.02)
OUTBOX_WAKE_BUSY_ROWS_PER_SECOND = env.float("OUTBOX_WAKE_BUSY_ROWS_PER_SECOND", default=150.0)
# It falls asleep (writes then NOTIFY, which serializes their commits) only after finding nothing
# for this long; until then it looks every OUTBOX_WAKE_MIN_INTERVAL_SECONDS ...
OUTBOX_WAKE_SLEEP_AFTER_SECONDS = env.float("OUTBOX_WAKE_SLEEP_AFTER_SECONDS", default=0.05)
# ... and looks again after this when a write was committing as it was about to fall asleep.
OUTBOX_WAKE_WRITING_PAUSE_SECONDS = env.float("OUTBOX_WAKE_WRITING_PAUSE_SECONDS", default=0.002)
# A running publish task promises (in its Redis flag) to keep draining this far ahead, renewed while
# rows keep coming; a web process that reads the promise skips the commit's Redis call until then,
# less the clock skew allowed between hosts (kafka_bridge/tasks.py). Cut to the linger: a retried
# task's linger then covers a promise its failed run left (no linger, no promise).
OUTBOX_RELAY_PROMISE_SECONDS = min(
    env.float("OUTBOX_RELAY_PROMISE_SECONDS", default=0.5), OUTBOX_LINGER_SECONDS
)
OUTBOX_CLOCK_SKEW_SECONDS = env.float("OUTBOX_CLOCK_SKEW_SECONDS", default=0.1)
if OUTBOX_RELAY_PROMISE_SECONDS < 0:
    raise ImproperlyConfigured("OUTBOX_RELAY_PROMISE_SECONDS must not be negative.")
OUTBOX_SWEEP_INTERVAL_SECONDS = env.float("OUTBOX_SWEEP_INTERVAL_SECONDS", default=5.0)
# A pending event older than this means the relay is stalled (readiness body, /metrics, admin, alert).
OUTBOX_STALL_SECONDS = env.float("OUTBOX_STALL_SECONDS", default=30.0)

# Which relay publishes the outbox (issue #24, kafka_bridge/debezium.py): "celery" (the publish task
# and its sweeper) or "debezium" (Debezium's outbox event router on Kafka Connect reads the outbox
# from the WAL; no publish task is enqueued, and beat's sweeper deletes the rows it captured and
# restarts its failed tasks). The rest configures that mode only.
RELAY = env.str("RELAY", default="celery")
if RELAY not in ("celery", "debezium"):
    raise ImproperlyConfigured("RELAY must be celery or debezium")
CONNECT_URL = env.str("CONNECT_URL", default=f"http://127.0.0.1:{env.int('CONNECT_PORT', default=8083)}")
DEBEZIUM_CONNECTOR = env.str("DEBEZIUM_CONNECTOR", default="wallet-outbox")  # its name in Connect
DEBEZIUM_SLOT = env.str("DEBEZIUM_SLOT", default="wallet_outbox")  # its logical replication slot
DEBEZIUM_PUBLICATION = env.str("DEBEZIUM_PUBLICATION", default="wallet_outbox")  # the outbox table only
# host:port the connector connects to; empty: the default connection's. DB_HA=patroni: scripts/stack
# sets it to its HAProxy, which forwards to whichever node leads (docs/high-availability.md).
DEBEZIUM_DATABASE_ADDRESS = env.str("DEBEZIUM_DATABASE_ADDRESS", default="")
# How long the connector's task waits for a batch to fill (Debezium's poll.interval.ms, default 500),
# and its reader sleeps when the WAL has nothing new: Debezium's latency floor. 5 ms gives events on
# Kafka in p50 ~15 ms but doubles its idle CPU (0.15 against 0.07 cores at 50 ms; issue #37,
# bench/results/relays.md), so the default stays 50.
DEBEZIUM_POLL_INTERVAL_MS = env.int("DEBEZIUM_POLL_INTERVAL_MS", default=50)

# The books are checked (manage.py reconcile) this often; the result shows in admin and /metrics.
# The periodic run checks what is new since its checkpoint; the full one (manage.py reconcile
# --full) everything ever written, which costs in proportion to the whole history.
RECONCILE_INTERVAL_SECONDS = env.float("RECONCILE_INTERVAL_SECONDS", default=3600.0)
RECONCILE_FULL_INTERVAL_SECONDS = env.float("RECONCILE_FULL_INTERVAL_SECONDS", default=7 * 24 * 3600.0)
# The periodic run's transaction watermark trails its snapshot (and any transaction still open)
# by this much: a ledger transaction stamped before it commits is never passed over.
RECONCILE_WATERMARK_MARGIN_SECONDS = env.float("RECONCILE_WATERMARK_MARGIN_SECONDS", default=300.0)
# Idempotency keys are kept at least this long (the spec asks for 24 hours), then pruned.
IDEMPOTENCY_RETENTION_HOURS = env.int("IDEMPOTENCY_RETENTION_HOURS", default=48)
# Pending holds past expires_at are released this often (the spec: within a minute).
HOLD_EXPIRY_INTERVAL_SECONDS = env.float("HOLD_EXPIRY_INTERVAL_SECONDS", default=20.0)

# Maker-checker (issue #23, approvals/): a staff fund or withdrawal above its currency's threshold,
# and every staff reversal, waits for a second operator's approval. APPROVAL_THRESHOLD is a comma-
# separated list of CURRENCY:AMOUNT, plus optionally a bare AMOUNT for every currency not listed
# (default 1000.0000), e.g. "USD:1000,EUR:900" or "USD:5000,2500". Decimal, never float.
_THRESHOLD_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,4})?$")  # wallets.money's amounts, or 0


def _approval_thresholds(
    text: str, name: str = "APPROVAL_THRESHOLD", default: Decimal = Decimal("1000.0000")
) -> tuple[dict[str, Decimal], Decimal]:
    per_currency: dict[str, Decimal] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        currency, _, amount = item.rpartition(":")
        currency = currency.strip().upper()
        if not _THRESHOLD_AMOUNT.fullmatch(amount.strip()):
            raise ImproperlyConfigured(f"{name}: {item!r} is not CURRENCY:AMOUNT or AMOUNT")
        if currency and currency not in WALLET_CURRENCIES:
            raise ImproperlyConfigured(f"{name}: {currency} is not in WALLET_CURRENCIES")
        if currency:
            per_currency[currency] = Decimal(amount.strip())
        else:
            default = Decimal(amount.strip())
    return per_currency, default


APPROVAL_THRESHOLDS, APPROVAL_THRESHOLD_DEFAULT = _approval_thresholds(
    env.str("APPROVAL_THRESHOLD", default="1000.0000")
)
# Rolling limits of what staff move without a second operator (approvals/policy.py), in the same
# CURRENCY:AMOUNT form: one operator's total per currency, and one wallet's (debited or credited by
# staff), over the last APPROVAL_LIMIT_WINDOW_HOURS; the movement that would pass either waits.
APPROVAL_OPERATOR_LIMITS, APPROVAL_OPERATOR_LIMIT_DEFAULT = _approval_thresholds(
    env.str("APPROVAL_OPERATOR_LIMIT", default="10000.0000"), "APPROVAL_OPERATOR_LIMIT"
)
APPROVAL_WALLET_LIMITS, APPROVAL_WALLET_LIMIT_DEFAULT = _approval_thresholds(
    env.str("APPROVAL_WALLET_LIMIT", default="2000.0000"), "APPROVAL_WALLET_LIMIT"
)
APPROVAL_LIMIT_WINDOW_HOURS = env.float("APPROVAL_LIMIT_WINDOW_HOURS", default=24.0)
# Every staff reversal waits for approval (the default); false: only those above the threshold.
APPROVAL_ALL_REVERSALS = env.bool("APPROVAL_ALL_REVERSALS", default=True)
# A pending approval nobody answered expires after this many hours; beat marks it every interval.
APPROVAL_EXPIRY_HOURS = env.float("APPROVAL_EXPIRY_HOURS", default=24.0)
if APPROVAL_EXPIRY_HOURS <= 0:
    raise ImproperlyConfigured("APPROVAL_EXPIRY_HOURS must be positive")
APPROVAL_EXPIRY_INTERVAL_SECONDS = env.float("APPROVAL_EXPIRY_INTERVAL_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "outbox-sweep": {
        "task": "kafka_bridge.sweep_outbox",
        "schedule": OUTBOX_SWEEP_INTERVAL_SECONDS,
        # A sweep nobody ran before the next one is due is useless: let it expire.
        "options": {"queue": OUTBOX_TASK_QUEUE, "expires": OUTBOX_SWEEP_INTERVAL_SECONDS},
    },
    "history-reconcile": {
        "task": "history.reconcile",
        "schedule": RECONCILE_INTERVAL_SECONDS,
        "options": {"expires": RECONCILE_INTERVAL_SECONDS},
    },
    "history-reconcile-full": {
        "task": "history.reconcile",
        "schedule": RECONCILE_FULL_INTERVAL_SECONDS,
        "kwargs": {"full": True},
        "options": {"expires": RECONCILE_FULL_INTERVAL_SECONDS},
    },
    "idempotency-prune": {
        "task": "wallets.prune_idempotency_records",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    "holds-expire": {
        "task": "wallets.expire_holds",
        "schedule": HOLD_EXPIRY_INTERVAL_SECONDS,
        "options": {"expires": HOLD_EXPIRY_INTERVAL_SECONDS},
    },
    "approvals-expire": {
        "task": "approvals.expire_approvals",
        "schedule": APPROVAL_EXPIRY_INTERVAL_SECONDS,
        "options": {"expires": APPROVAL_EXPIRY_INTERVAL_SECONDS},
    },
    # The overview's charts: the relay's backlog and the consumer's lag, and the ledger's daily totals.
    "trends-sample": {"task": "trends.sample", "schedule": 60.0, "options": {"expires": 60.0}},
}

KAFKA_BROKERS = env.str("KAFKA_BROKERS", default="127.0.0.1:9092")
KAFKA_TOPIC = env.str("KAFKA_TOPIC", default="wallet-events")
KAFKA_DLQ_TOPIC = env.str("KAFKA_DLQ_TOPIC", default=f"{KAFKA_TOPIC}.dlq")
# The approvals' steps (issue #23: APPROVAL_REQUESTED, ...): outbox rows of aggregatetype "approval",
# on a topic of their own, never the wallet topic (its consumer, the history, takes wallet events only).
KAFKA_APPROVALS_TOPIC = env.str("KAFKA_APPROVALS_TOPIC", default="wallet-approvals")
if KAFKA_APPROVALS_TOPIC in (KAFKA_TOPIC, KAFKA_DLQ_TOPIC):
    raise ImproperlyConfigured("KAFKA_APPROVALS_TOPIC must be a topic of its own, not KAFKA_TOPIC or its DLQ")
KAFKA_GROUP_ID = env.str("KAFKA_GROUP_ID", default="history-service-group")
KAFKA_PARTITIONS = env.int("KAFKA_PARTITIONS", default=6)
KAFKA_REPLICATION_FACTOR = env.int("KAFKA_REPLICATION_FACTOR", default=1)
# The relay's producer waits this long to fill a batch (librdkafka linger.ms).
KAFKA_LINGER_MS = env.int("KAFKA_LINGER_MS", default=5)

# Webhooks (docs/webhooks.md). The retry delays (seconds; the last repeats, each with full jitter) and
# the window after which a delivery fails and its endpoint is disabled.
WEBHOOKS_ENABLED = env.bool("WEBHOOKS_ENABLED", default=True)
WEBHOOK_MAX_ENDPOINTS_PER_USER = env.int("WEBHOOK_MAX_ENDPOINTS_PER_USER", default=10)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_RETRY_SCHEDULE = [
    float(delay) for delay in env.list("WEBHOOK_RETRY_SCHEDULE", default=[5, 30, 120, 600, 3600, 10800])
]
WEBHOOK_RETRY_WINDOW_SECONDS = env.float("WEBHOOK_RETRY_WINDOW_SECONDS", default=3 * 24 * 3600.0)
WEBHOOK_RESPONSE_CAP_BYTES = env.int("WEBHOOK_RESPONSE_CAP_BYTES", default=1024)
WEBHOOK_SECRET_OVERLAP_SECONDS = env.float("WEBHOOK_SECRET_OVERLAP_SECONDS", default=24 * 3600.0)
WEBHOOK_CONCURRENCY = env.int("WEBHOOK_CONCURRENCY", default=32)  # the shared pool of senders
WEBHOOK_PER_ENDPOINT = env.int("WEBHOOK_PER_ENDPOINT", default=4)  # at most in flight per endpoint
WEBHOOK_GROUP_ID = env.str("WEBHOOK_GROUP_ID", default="wallet-webhooks")

# How long a readiness probe waits for each dependency before calling it down.
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=2.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "common.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "common.errors.api_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["common.parsers.ExactJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # drf-spectacular's, without ApiView's docstring as every operation's description.
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    # Failed authentications are throttled where they are answered (common.throttling); this one is
    # the optional per-end-user limit, a no-op unless API_USER_RATE is set. Rates: the settings above.
    "DEFAULT_THROTTLE_CLASSES": ["common.throttling.EndUserRateThrottle"],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}

# django-rest-knox: only a SHA-512 digest of each key is stored. The header stays the seed's
# `Authorization: Token <key>`. Tokens are made by `issue_token` only (no login endpoint).
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": API_TOKEN_TTL,
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Wallet API",
    "DESCRIPTION": (
        "Digital wallet transaction system: wallets, ledger, transfers, holds, split payments, "
        "maker-checker approvals, event history.\n\n"
        "Authenticate with `Authorization: Token <key>`. Every answer is an envelope: "
        '`{"success": true, "data": ...}` or `{"success": false, "error": ..., "code": ...}`. '
        'Money is a decimal string (`"100.00"`). A POST may carry an `Idempotency-Key`; lists are '
        "cursor pages (`limit`, `cursor`, `has_more`, `next_cursor`). A generated Python client: "
        "clients/python (docs/client.md)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The default enum hook, then the seed's paths (no trailing slash) and the links from every
    # response carrying a wallet to the operations on it (schemathesis' stateful phase follows them).
    # Several outputs have a `status`; each set of choices gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "WalletStatusEnum": ["active", "frozen"],
        "HoldStatusEnum": ["pending", "captured", "voided", "expired"],
        "CompletedStatusEnum": ["COMPLETED"],
        "ApprovalStatusEnum": ["pending", "approved", "rejected", "expired"],
        "ApprovalKindEnum": [
            "fund",
            "withdraw",
            "reverse",
            "transfer",
            "split",
            "batch",
            "hold_create",
            "hold_capture",
        ],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.schema.seed_paths",
        "wallets.api.schema.link_wallets",
        "wallets.api.schema.link_holds_and_transactions",
        "approvals.api.schema.staff_movements_may_wait",
        "approvals.api.schema.link_approvals",
        "common.schema.retry_after",
    ],
    # Swagger UI and Redoc come from drf-spectacular-sidecar's static files: no page loads anything
    # from another host, so the docs work offline and show the pinned version.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No "valid" badge fetched from swagger.io's online validator.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # The API's contract is JSON. The form parsers exist for the browsable API's HTML forms only
    # (common/api.py), so the schema never offers form bodies.
    "PARSER_WHITELIST": ["common.parsers.ExactJSONParser"],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=STACK_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request bodies: 64 KiB, but 1 MiB for POST /transactions/batch (1,000 transfers with their
# notes). The middleware answers 413 from Content-Length before any work; Django's own check, when
# the body is read, is the larger limit.
REQUEST_BODY_MAX_BYTES = 64 * 1024
BATCH_BODY_MAX_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = BATCH_BODY_MAX_BYTES

# HTTP hardening. Every environment: no framing, no MIME sniffing, the referrer only to this site.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Origins allowed to POST forms (the admin) across origins, e.g. "https://wallet.example.com".
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where TLS ends at a proxy: the header it sets and its value for HTTPS, "HTTP_X_FORWARDED_PROTO,https".
# Only set it when that proxy always sets (or strips) the header; otherwise a client could fake it.
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER is a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https"
    )
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header[0], _proxy_ssl_header[1]) if _proxy_ssl_header else None
# Production is HTTPS only: HTTP is redirected (but the health probes, which load balancers and the
# stack send in plain HTTP), browsers are told to stay on HTTPS (HSTS), cookies never go over HTTP.
_production = WALLET_ENV == "production"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_production)
SECURE_REDIRECT_EXEMPT = [r"^health(/ready)?/?$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if _production else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_production)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_production)
SESSION_COOKIE_SECURE = _production
CSRF_COOKIE_SECURE = _production

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
