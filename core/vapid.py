"""The VAPID key pair that signs Web Push requests (RFC 8292) and that browsers subscribe
with (the public key is PushManager.subscribe's applicationServerKey).

Production takes VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT from the environment
(`python manage.py vapid_keys` prints a new pair); without them push is off (the reminder
chain goes straight to SMS and e-mail, the push key endpoint answers 503) and settings refuse
a half-set or mismatched pair. Development and tests generate a pair once and keep it in
VAR_DIR/vapid.json (mode 0600), so `make run` works with nothing set and subscriptions
survive restarts. Changing the pair orphans every existing subscription (browsers tie a
subscription to the key it was made with); the push service then answers 403 and the
reminder falls back to the next channel.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_FILE_NAME = "vapid.json"
DEVELOPMENT_SUBJECT = "mailto:tracker@localhost"


@dataclass(frozen=True)
class VapidKeys:
    public_key: str  # base64url, uncompressed P-256 point (65 bytes): applicationServerKey
    private_key: str  # base64url, raw 32-byte private scalar (what py-vapid's from_string reads)
    subject: str  # "mailto:..." or "https://..." (RFC 8292 "sub"): who push services contact


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_pair() -> tuple[str, str]:
    """A new (public, private) pair, both base64url as the environment variables take them."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return _public_of(key), _b64url(private)


def _public_of(key: ec.EllipticCurvePrivateKey) -> str:
    return _b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def _private_key(private: str) -> ec.EllipticCurvePrivateKey:
    raw = _unb64url(private)
    if len(raw) != 32:
        raise ValueError("a raw 32-byte P-256 private key, base64url")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def validate(public: str, private: str, subject: str) -> None:
    """Refuse a pair that does not belong together, or a subject push services reject."""
    try:
        derived = _public_of(_private_key(private))
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "VAPID_PRIVATE_KEY is not a base64url raw P-256 private key "
            "(run `python manage.py vapid_keys` for a new pair)."
        ) from exc
    if derived != public.strip().rstrip("="):
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY.")
    if not subject.startswith(("mailto:", "https://")):
        raise ImproperlyConfigured(
            'VAPID_SUBJECT must be a "mailto:" address or an "https://" URL (RFC 8292).'
        )


def _development_pair(var_dir: Path) -> VapidKeys:
    path = var_dir / KEY_FILE_NAME
    if not path.exists():
        public, private = generate_pair()
        data = json.dumps({"public_key": public, "private_key": private}).encode()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            # link, not rename: of two processes starting at once, the first pair wins and
            # both use it.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    data = json.loads(path.read_text())
    subject = settings.VAPID_SUBJECT or DEVELOPMENT_SUBJECT
    validate(data["public_key"], data["private_key"], subject)
    return VapidKeys(data["public_key"], data["private_key"], subject)


@lru_cache(maxsize=1)
def _keys(public: str, private: str, subject: str, production: bool, var_dir: str):
    if public and private and subject:
        validate(public, private, subject)
        return VapidKeys(public.strip().rstrip("="), private.strip(), subject)
    if production:
        return None
    return _development_pair(Path(var_dir))


def vapid_keys() -> VapidKeys | None:
    """The key pair, or None when push is not configured (production without VAPID_*)."""
    return _keys(
        settings.VAPID_PUBLIC_KEY,
        settings.VAPID_PRIVATE_KEY,
        settings.VAPID_SUBJECT,
        settings.PRODUCTION,
        str(settings.VAR_DIR),
    )


def push_enabled() -> bool:
    return vapid_keys() is not None
