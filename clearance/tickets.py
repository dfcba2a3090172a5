"""The e-ticket's token: what the QR code of a paid fee carries, signed by the centre (Django's signing,
keyed with the secret key). Shared by the fees (which issue it) and the gate (which scans it)."""

from __future__ import annotations

from django.core import signing

TICKET_SALT = "smartgate.e-ticket"
# A QR code's token is short; anything longer is not one of ours.
MAX_TICKET_CHARS = 1024


def ticket_token(payload: dict) -> str:
    return signing.dumps(payload, salt=TICKET_SALT, compress=True)


def ticket_payload(token: str) -> dict | None:
    """The payload of a ticket the centre signed, or None for a forged, altered or malformed one."""
    try:
        payload = signing.loads(token, salt=TICKET_SALT)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None
