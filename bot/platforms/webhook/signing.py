"""The webhook signature scheme, shared by inbound events and outbound replies:
`X-Vigie-Signature: v1=<hex HMAC-SHA256(secret, "v1:{timestamp}:{raw body}")>` with
`X-Vigie-Timestamp` in Unix seconds, accepted within a tolerance window (replay protection)."""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Vigie-Timestamp"
SIGNATURE_HEADER = "X-Vigie-Signature"


class SignatureError(Exception):
    """Why a request's signature was refused: missing, stale or wrong (never says what was expected)."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    tolerance: int,
    now: float | None = None,
) -> None:
    if not timestamp:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    current = now if now is not None else time.time()
    if abs(current - stamp) > tolerance:
        raise SignatureError(f"{TIMESTAMP_HEADER} is outside the {tolerance}s window")
    expected = sign(secret, stamp, body)
    # Several signatures may be sent during a secret rotation: accept any that matches.
    candidates = [part.strip() for part in signature.split(",")]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")
