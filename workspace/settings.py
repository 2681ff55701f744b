"""Settings for the Interagency Workspace.

Every deployment knob comes from an environment variable with an embedded default, so a
fresh clone runs on SQLite, the in-memory channel layer and files under ``var/``.
``DATABASE_URL`` switches to PostgreSQL and ``REDIS_URL`` to Redis (channel layer and
cache). ``WORKSPACE_ENV=production`` turns on the production hardening and refuses to
start without ``SECRET_KEY``.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("WORKSPACE_ENV", "development") == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when WORKSPACE_ENV=production.")
    # Development only: a fixed key so sessions survive restarts of the demo server.
    SECRET_KEY = "dev-only-insecure-key-never-used-in-production-" + "x" * 20

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
VAR_DIR = Path(os.environ.get("WORKSPACE_VAR_DIR", BASE_DIR / "var"))

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "guardian",
    "axes",
    "csp",
    "workspace",
    "communities",
    "messaging",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "workspace.middleware.RequestContextMiddleware",
    # Axes must be last: it turns a lockout signalled during authentication into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "workspace.urls"
ASGI_APPLICATION = "workspace.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "workspace.context_processors.workspace",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'workspace.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the server read while a writer holds the lock; the timeout makes a writer
    # wait for another instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "workspace")
REDIS_SOCKET_TIMEOUT = float(os.environ.get("REDIS_SOCKET_TIMEOUT", "15"))
# The channel layer's connections to Redis, per server process: a burst past this many
# concurrent calls waits up to REDIS_POOL_TIMEOUT seconds for a free one (workspace/layers.py).
REDIS_MAX_CONNECTIONS = int(os.environ.get("REDIS_MAX_CONNECTIONS", "100"))
REDIS_POOL_TIMEOUT = float(os.environ.get("REDIS_POOL_TIMEOUT", "10"))
# Messages a channel holds before sends to it are dropped. Each server process receives
# every event for all of its sockets on one channel (messaging/hub.py), so a burst must fit
# (an urgent alert reaches a process as one message per 1,000 people).
CHANNEL_CAPACITY = int(os.environ.get("CHANNEL_CAPACITY", "10000"))
# daphne's sockets send a frame at once when nothing waits before it, instead of on the
# reactor's next turn (workspace/eager_tcp.py). Off: Twisted's own buffered writes.
EAGER_TCP_WRITES = env_bool("EAGER_TCP_WRITES", True)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "workspace.layers.RedisChannelLayer",
            "CONFIG": {
                # channels_redis waits on a blocking pop for 5 s; a read timeout shorter than
                # that (redis-py's default is 5 s) would end idle sockets. A socket_timeout in
                # REDIS_URL's query string wins over this one.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": REDIS_SOCKET_TIMEOUT,
                        "max_connections": REDIS_MAX_CONNECTIONS,
                        "timeout": REDIS_POOL_TIMEOUT,
                    }
                ],
                "prefix": f"{REDIS_PREFIX}:asgi",
                "capacity": CHANNEL_CAPACITY,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "workspace.layers.InMemoryChannelLayer", "CONFIG": {"capacity": CHANNEL_CAPACITY}}
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "workspace.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# django-guardian: no anonymous user row; anonymous people hold no object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

# Sign-in lockout (django-axes): five failures for one account from one address lock that
# pair out for fifteen minutes. Locking on the pair keeps a stranger from locking a
# colleague out from elsewhere.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The sign-in form posts the email address in the "username" field (Django's AuthenticationForm).
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Chicago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# Serve /static/ from the ASGI app itself (fine for one host and the demo). Production
# puts the collected files behind the front proxy and sets SERVE_STATIC=false.
SERVE_STATIC = env_bool("SERVE_STATIC", not PRODUCTION)
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
SEARCH_INDEX_DIR = Path(os.environ.get("SEARCH_INDEX_DIR", VAR_DIR / "index"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Interagency Workspace <no-reply@workspace.invalid>")
# Absolute links in emails (invitations, password resets sent outside a request).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# How long an emailed staff invitation stays valid.
STAFF_INVITATION_TTL = timedelta(days=int(os.environ.get("STAFF_INVITATION_TTL_DAYS", "7")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Behind a reverse proxy that sets X-Forwarded-For, trust its first address for the audit log.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

# How long a community invitation or join request waits for the other side's decision.
COMMUNITY_CONSENT_TTL = timedelta(days=int(os.environ.get("COMMUNITY_CONSENT_TTL_DAYS", "14")))

# Realtime: how many missed events a reconnecting client may replay one by one before it
# is told to resync (reload the stream), and how long the event log keeps events.
EVENT_REPLAY_LIMIT = int(os.environ.get("EVENT_REPLAY_LIMIT", "500"))
EVENT_LOG_KEEP_DAYS = int(os.environ.get("EVENT_LOG_KEEP_DAYS", "30"))
# Largest message body accepted, in characters.
MESSAGE_MAX_LENGTH = int(os.environ.get("MESSAGE_MAX_LENGTH", "20000"))
# WebSocket limits: frames per second before the socket is closed (4008), the largest
# frame accepted (4009), and how often one socket may announce typing per thread.
WS_MAX_FRAMES_PER_SECOND = int(os.environ.get("WS_MAX_FRAMES_PER_SECOND", "60"))
WS_MAX_FRAME_BYTES = int(os.environ.get("WS_MAX_FRAME_BYTES", str(64 * 1024)))
WS_TYPING_INTERVAL = float(os.environ.get("WS_TYPING_INTERVAL", "3"))

# Urgent alerts: remind people who have not acknowledged this often; escalate an agency
# with no acknowledgement to its admins after this long (per alert, these are defaults).
ALERT_REMIND_EVERY = timedelta(minutes=int(os.environ.get("ALERT_REMIND_MINUTES", "5")))
ALERT_ESCALATE_AFTER = timedelta(minutes=int(os.environ.get("ALERT_ESCALATE_MINUTES", "15")))

# Shared documents: the largest upload accepted, the largest unpacked size of an Office
# file (zip bombs are refused), and the bounds of text extraction for search (seconds per
# file, characters kept). With DOCUMENT_X_ACCEL_PREFIX set (e.g. /protected-documents/)
# the front proxy sends the file after Django's permission check (see docs/operations.md).
DOCUMENT_MAX_UPLOAD_MB = float(os.environ.get("DOCUMENT_MAX_UPLOAD_MB", "25"))
DOCUMENT_MAX_UNPACKED_MB = int(os.environ.get("DOCUMENT_MAX_UNPACKED_MB", "250"))
DOCUMENT_EXTRACT_SECONDS = float(os.environ.get("DOCUMENT_EXTRACT_SECONDS", "10"))
DOCUMENT_EXTRACT_MAX_CHARS = int(os.environ.get("DOCUMENT_EXTRACT_MAX_CHARS", "200000"))
DOCUMENT_X_ACCEL_PREFIX = os.environ.get("DOCUMENT_X_ACCEL_PREFIX", "")

# Search: "whoosh" (default; an index directory on this host, SEARCH_INDEX_DIR above) or
# "postgres" (PostgreSQL full text, for several hosts sharing one database).
SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "whoosh")
# New items (messages, threads, documents) are queued in the database and indexed in
# batches. SEARCH_INDEX_WRITER "thread": by a background thread of each server process,
# which waits SEARCH_INDEX_DELAY seconds to write those of the moment together (a new
# message is findable within it plus one write; 0 indexes them in the request instead).
# "worker": by `manage.py search_worker`, a process of its own (docs/operations.md).
SEARCH_INDEX_WRITER = os.environ.get("SEARCH_INDEX_WRITER", "thread")
SEARCH_INDEX_DELAY = float(os.environ.get("SEARCH_INDEX_DELAY", "0.5"))

# Announcements: how long a promotion request waits for the receiving community's decision,
# how many entries a feed carries, and the most announcements one digest email lists.
ANNOUNCEMENT_PROMOTION_TTL = timedelta(days=int(os.environ.get("ANNOUNCEMENT_PROMOTION_TTL_DAYS", "14")))
ANNOUNCEMENT_FEED_LENGTH = int(os.environ.get("ANNOUNCEMENT_FEED_LENGTH", "50"))
ANNOUNCEMENT_DIGEST_MAX_ITEMS = int(os.environ.get("ANNOUNCEMENT_DIGEST_MAX_ITEMS", "50"))
