"""A browser's side of Web Push for tests: its key pair and auth secret (what
PushManager.subscribe makes), a subscription pointing at a local push endpoint (the
WebhookReceiver of helpers.py standing in for the push service), and decryption of what the
server sent (RFC 8291 aes128gcm) with the browser's private key, through http-ece."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from patients.models import PushSubscription


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class BrowserKeys:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> BrowserKeys:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth_b64(self) -> str:
        return b64url(self.auth)

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


def subscribe(patient, endpoint: str, keys: BrowserKeys | None = None, device="Chrome on Android"):
    keys = keys or BrowserKeys.new()
    subscription = PushSubscription.objects.create(
        patient=patient, endpoint=endpoint, p256dh=keys.p256dh, auth=keys.auth_b64, device=device
    )
    return subscription, keys
