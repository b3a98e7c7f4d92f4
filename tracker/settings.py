"""Settings for the tracker service: one file, driven by environment variables.

DJANGO_ENV picks the mode: "production" (the default for wsgi and Celery), "development"
(`make run`, manage.py) or "test" (pytest). Production refuses to start without a real
SECRET_KEY and turns on every HTTPS protection; see README.md for the full table.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


if "DJANGO_ENV" in os.environ:
    DJANGO_ENV = os.environ["DJANGO_ENV"]
elif "pytest" in sys.modules:
    DJANGO_ENV = "test"
else:
    DJANGO_ENV = "production"
if DJANGO_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured("DJANGO_ENV must be production, development or test.")
PRODUCTION = DJANGO_ENV == "production"
TESTING = DJANGO_ENV == "test"

DEBUG = env_bool("DEBUG", DJANGO_ENV == "development")

_INSECURE_KEY = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode refuses to start without a real secret "
            "(50+ random characters). Set DJANGO_ENV=development for local work."
        )
    SECRET_KEY = _INSECURE_KEY
elif PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is too weak for production (use 50+ random characters).")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "axes",
    "csp",
    "tracker",
    "patients",
    "medications",
    "notifications",
    "interop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    # Failed sign-ins counted per client address across usernames (patients/signin_limit.py).
    "patients.signin_limit.SignInAddressLimitMiddleware",
    # Content-Security-Policy header (CONTENT_SECURITY_POLICY below; docs/security.md).
    "csp.middleware.CSPMiddleware",
    # Permissions-Policy header: no camera, microphone, location, payment... (PERMISSIONS_POLICY).
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Audit trail of every read and write of a patient's record (patients/audit.py).
    "patients.audit.AuditMiddleware",
    # Cache-Control: no-store for anything shown to a signed-in user (tracker/privacy.py).
    "core.middleware.NoStoreMiddleware",
    # API bodies: too large -> JSON 413, not JSON -> JSON 400, before any view (tracker/api.py).
    "core.middleware.JSONBodyGuardMiddleware",
    # NUL and other control characters in path, query, form or JSON -> 400 naming the field
    # (core/input_guard.py): PostgreSQL cannot store NUL.
    "core.middleware.ControlCharacterGuardMiddleware",
    # An Idempotency-Key reused for a different API write -> 422, nothing stored
    # (patients/idempotency.py).
    "patients.idempotency.IdempotencyKeyMiddleware",
]

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tracker" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tracker.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Default: a SQLite file under var/, in WAL mode with IMMEDIATE transactions and a busy timeout
# so web, worker and beat can write to it at the same time. Production uses DATABASE_URL.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "tracker.sqlite3",
            "OPTIONS": {
                # Seconds a write waits for another process's (periodic jobs also take turns:
                # tracker/joblock.py).
                "timeout": float(os.environ.get("SQLITE_BUSY_TIMEOUT", 20)),
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Fast hashing keeps the suite quick; production uses Django's default (PBKDF2).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Staff sessions end after 30 minutes without activity (refreshed on every request).
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", 30 * 60))
# "Keep me signed in on this phone" (patients only): a sliding session of this many days.
PATIENT_SESSION_DAYS = int(os.environ.get("PATIENT_SESSION_DAYS", 30))
# The expiry warning shows this many seconds before a short session ends.
SESSION_WARNING_SECONDS = int(os.environ.get("SESSION_WARNING_SECONDS", 120))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# API tokens end this many days after their last use (sliding; patients/tokens.py).
API_TOKEN_TTL_DAYS = float(os.environ.get("API_TOKEN_TTL_DAYS", 30))
# Idempotency-Key records (patients/idempotency.py) are kept this long, then purged hourly:
# a client retries within minutes; a key older than this may name a new request again.
IDEMPOTENCY_KEY_KEEP_DAYS = float(os.environ.get("IDEMPOTENCY_KEY_KEEP_DAYS", 7))

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Sign-in from one address, across usernames: after this many failures in this many minutes,
# every sign-in from it answers 429 with Retry-After (patients/signin_limit.py).
SIGN_IN_ADDRESS_LIMIT = int(os.environ.get("SIGN_IN_ADDRESS_LIMIT", 20))
SIGN_IN_ADDRESS_WINDOW_MINUTES = float(os.environ.get("SIGN_IN_ADDRESS_WINDOW_MINUTES", 10))
# Lock-out answer: JSON 429 on the API, a plain page on the site (tracker/security.py).
AXES_LOCKOUT_CALLABLE = "patients.lockout.lockout_response"

# --- I18N / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "tracker" / "static"]
if not PRODUCTION:
    STATIC_ROOT.mkdir(exist_ok=True)
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tracker@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF tokens that expire API_TOKEN_TTL_DAYS after their last use (patients/tokens.py).
        "patients.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "30/minute"),
        "user": os.environ.get("API_THROTTLE_USER", "600/minute"),
        "login": os.environ.get("API_THROTTLE_LOGIN", "10/minute"),
    },
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HCC medication adherence and side-effect tracker API",
    "DESCRIPTION": "Dose logging, symptom triage and advice-line alerts for people on "
    "systemic therapy for hepatocellular carcinoma.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are for signed-in users only (anonymous: 401), and Swagger UI is
    # served from our own static files: no script from a CDN runs on this origin.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation documents the error answers of the shared layers (tracker/api.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.document_error_answers",
    ],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DoseStateEnum": "medications.serializers.DOSE_STATES",
        # Alerts (notifications): named so they never collide with another app's kind/status.
        "AlertKindEnum": "notifications.models.AlertKind",
        "AlertEventKindEnum": "notifications.models.AlertEventKind",
        "AlertStatusEnum": "notifications.models.AlertStatus",
        "AlertOutcomeEnum": "notifications.models.AlertOutcome",
    },
}
# Largest request body accepted (bytes); bigger answers 400/413 before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024))

# --- Cache ----------------------------------------------------------------------------------
# Redis when REDIS_URL is set, falling back to this process's memory while Redis is down
# (core/cache.py): rate limits and sign-in keep working without it (docs/security.md).
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL and not TESTING:
    CACHES = {"default": {"BACKEND": "core.cache.FallbackRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
# Default broker: Celery's filesystem transport under var/broker, so worker and beat really
# run with nothing installed. REDIS_URL switches to Redis.
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request must not hang when the broker is down: publish fails fast and the
# periodic sweep picks the work up from the database later.
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", 2))
CELERY_BROKER_CONNECTION_MAX_RETRIES = 0
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Every periodic job: name -> (task, seconds between runs). `manage.py sweep` runs them all
# once; beat runs them on this schedule. Later apps add their jobs here.
PERIODIC_JOBS: dict[str, tuple[str, float]] = {
    "heartbeat": ("tracker.tasks.heartbeat", 60.0),
    # Expected doses 14 days ahead, infusion appointments, hold statuses (medications).
    "generate-expected-doses": ("medications.tasks.generate_expected_doses", 3600.0),
    # Symptom reports stored without a triage result (import, admin) are graded (medications).
    "triage-pending-reports": ("medications.tasks.triage_pending_symptom_reports", 60.0),
    # Alerts (notifications; docs/alerts.md). Raising jobs first, deliveries last, so
    # `manage.py sweep` sends what the jobs before it raised.
    "missed-doses": ("notifications.tasks.sweep_missed_doses", 60.0),
    "missed-infusions": ("notifications.tasks.sweep_missed_infusions", 300.0),
    "unraised-alerts": ("notifications.tasks.sweep_unraised_alerts", 60.0),
    "unraised-supply-alerts": ("notifications.tasks.sweep_unraised_supply_alerts", 600.0),
    # Scheduled check-ins (docs/checkins.md): generate, open and remind, chase, missed alerts.
    "check-ins": ("notifications.tasks.sweep_check_ins", 60.0),
    "alert-escalations": ("notifications.tasks.sweep_escalations", 60.0),
    "dose-reminders": ("notifications.tasks.send_dose_reminders", 60.0),
    "alert-deliveries": ("notifications.tasks.sweep_deliveries", 30.0),
    # FHIR bulk exports (interop; docs/fhir.md): run jobs whose task never ran, delete
    # files past their retention.
    "bulk-exports": ("interop.tasks.sweep_bulk_exports", 300.0),
    # Idempotency-Key records past IDEMPOTENCY_KEY_KEEP_DAYS (patients/idempotency.py).
    "idempotency-keys": ("patients.tasks.purge_idempotency_records", 3600.0),
}
CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": seconds} for name, (task, seconds) in PERIODIC_JOBS.items()
}

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp 4): everything from this origin only, no inline script,
# no plugins, no framing, forms post only here. htmx is a static file and its injected
# indicator style is switched off in base.html (htmx-config), so no 'unsafe-inline' anywhere.
# See docs/security.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Browser features no page of ours uses are switched off for this origin and any frame.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "usb",
    )
}
# Audit trail: the request header holding the client address when behind a trusted proxy
# (e.g. "HTTP_X_FORWARDED_FOR"); empty means REMOTE_ADDR.
AUDIT_CLIENT_IP_HEADER = os.environ.get("AUDIT_CLIENT_IP_HEADER", "")
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # "__Host-" cookies are only accepted over HTTPS, for this exact host, on every path.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Logging --------------------------------------------------------------------------------
# Nothing identifying goes to logs: code logs ids, never names, NHS numbers or notes.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# Django's 4xx/5xx request log carries the path only (the formatter never prints the request
# object); the "django" logger is re-pointed at the console alone, so no error e-mail with
# request details goes out even if ADMINS is set; the dev server's request lines lose their
# query strings; error reports never show posted fields (tracker/privacy.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"strip_query": {"()": "core.privacy.StripQueryStrings"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "filters": ["strip_query"], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.privacy.NoRequestDataReporterFilter"

# --- Web Push (patient dose reminders; core/vapid.py, docs/patient-app.md) -------------------
# The VAPID key pair (`python manage.py vapid_keys` prints a new one) and the contact address
# push services see. Production without them: push is off (reminders go by SMS and e-mail) and
# `check --deploy` says so; a half-set or mismatched pair refuses to start. Development and
# tests generate a pair once under VAR_DIR.
VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY", "").strip()
VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "").strip()
VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "").strip()
_vapid_given = [bool(VAPID_PUBLIC_KEY), bool(VAPID_PRIVATE_KEY), bool(VAPID_SUBJECT)]
if any(_vapid_given):
    if not all(_vapid_given):
        raise ImproperlyConfigured(
            "Set all of VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT, or none of them."
        )
    from core.vapid import validate as _validate_vapid

    _validate_vapid(VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT)
# Seconds to wait for a push service's answer.
PUSH_TIMEOUT = float(os.environ.get("PUSH_TIMEOUT", 10))
# Push subscription endpoints must be https; development and tests also accept plain http to
# a loopback address (a local push endpoint in the tests).
PUSH_ALLOW_LOOPBACK_HTTP = not PRODUCTION
# Hosts a subscription endpoint may point at (a leading dot: any subdomain): the browsers'
# push services. The server POSTs to these URLs, so nothing else is accepted.
PUSH_SERVICE_HOSTS = env_list(
    "PUSH_SERVICE_HOSTS",
    "fcm.googleapis.com,.google.com,.push.services.mozilla.com,.push.apple.com,.notify.windows.com",
)

# --- Clinical service settings --------------------------------------------------------------
# Default advice-line number shown to patients whose team has none set.
DEFAULT_ADVICE_LINE_PHONE = os.environ.get("DEFAULT_ADVICE_LINE_PHONE", "0800 000 0000")
# Alert deliveries (notifications): text messages go through this transport class. Production
# has no default gateway: an SMS channel fails visibly (and the alert escalates) until a real
# one is configured, instead of "sending" to a console nobody reads. Webhook timeout in s.
SMS_BACKEND = os.environ.get(
    "SMS_BACKEND",
    "notifications.sms.UnconfiguredSMSBackend"
    if PRODUCTION
    else "notifications.sms.LocmemSMSBackend"
    if TESTING
    else "notifications.sms.ConsoleSMSBackend",
)
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", 10))
# A delivery claimed longer than this (seconds) lost its sender and goes back to pending.
DELIVERY_STUCK_AFTER_SECONDS = int(os.environ.get("DELIVERY_STUCK_AFTER_SECONDS", 120))
# How often the nurse queue refreshes itself (seconds).
NURSE_QUEUE_POLL_SECONDS = int(os.environ.get("NURSE_QUEUE_POLL_SECONDS", 15))
# Seconds a process keeps the drug catalogue and users' roles (core/process_cache.py); a
# change made in another process is seen at the latest after this long.
PROCESS_CACHE_SECONDS = int(os.environ.get("PROCESS_CACHE_SECONDS", 60))
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-pass-2026")
# FHIR (interop; docs/fhir.md). Our own code systems (symptoms, triage levels, alert kinds)
# are named under this base; it should be a stable URL the Trust controls.
FHIR_CODE_SYSTEM_BASE = os.environ.get("FHIR_CODE_SYSTEM_BASE", f"{SITE_URL}/fhir").rstrip("/")
# Bulk export NDJSON files: where they are written (web and worker must share it) and how
# many hours they are kept before the sweep deletes them.
FHIR_EXPORT_DIR = Path(os.environ.get("FHIR_EXPORT_DIR", VAR_DIR / "exports"))
FHIR_EXPORT_RETENTION_HOURS = float(os.environ.get("FHIR_EXPORT_RETENTION_HOURS", 24))
# Links apps above `notifications` offer on the nurse's patient page: (label, URL name).
NURSE_PATIENT_PAGE_LINKS = [
    ("Clinic summary (print or PDF)", "interop:clinic_summary"),
    ("One-time sign-in link for this patient", "patient_sign_in_link"),
]
# Links apps above `patients` offer on the Account page: (roles, label, URL name, hint).
ACCOUNT_PAGE_LINKS = [
    (
        ("patient",),
        "Download all your data (JSON)",
        "interop:my_export",
        "Everything the service holds about you, in one file.",
    ),
    (
        ("patient",),
        "Download your record for another health service (FHIR)",
        "interop:my_export_fhir",
        "Your doses, symptom reports and treatment as a FHIR R4 Bundle.",
    ),
]
