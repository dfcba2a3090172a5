"""Signed gate passes and revocation lists: compact Ed25519-signed tokens a lane device verifies offline.

Pure functions (no Django), so the reference lane agent (``smartgate.lane_agent``) verifies with the very
code the centre signs with. A token is ``<payload>.<signature>``: the payload is canonical JSON (sorted
keys, no spaces) in unpadded base64url, the signature Ed25519 over those ASCII bytes, also base64url. The
payload names the key that signed it (``kid``), so keys rotate: a device holds every published public key
by id and picks the one a token names.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT_VERSION = 1
# What a token's payload says it is: a gate pass, or a lane's revocation list.
PASS = "gate_pass"
REVOCATIONS = "revocation_list"
MAX_TOKEN_CHARS = 4096


class InvalidToken(ValueError):
    """The token is malformed, names a key nobody published, or its signature does not verify."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text.isascii():
        raise InvalidToken("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidToken("not base64url") from error


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_text(key: Ed25519PrivateKey) -> str:
    """The 32 raw bytes of a private key, base64url: the form the settings and key files hold."""
    return _b64encode(
        key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    )


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    raw = _b64decode(text.strip())
    if len(raw) != 32:
        raise InvalidToken("an Ed25519 private key is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    return _b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    raw = _b64decode(text.strip())
    if len(raw) != 32:
        raise InvalidToken("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(payload: Mapping, *, key_id: str, key: Ed25519PrivateKey) -> str:
    """A token carrying ``payload`` (JSON-serializable) plus the format version and the key id."""
    body = json.dumps(
        {**payload, "v": FORMAT_VERSION, "kid": key_id}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    encoded = _b64encode(body)
    return f"{encoded}.{_b64encode(key.sign(encoded.encode('ascii')))}"


def verify(token: str, public_keys: Mapping[str, Ed25519PublicKey], *, kind: str) -> dict:
    """The payload of a token signed by one of ``public_keys`` (by key id) and of ``kind``.

    Raises InvalidToken naming what is wrong: malformed, unknown key, bad signature, another kind."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidToken("malformed token")
    encoded, signature = token.split(".")
    try:
        payload = json.loads(_b64decode(encoded))
    except ValueError as error:
        raise InvalidToken("malformed payload") from error
    if not isinstance(payload, dict) or payload.get("v") != FORMAT_VERSION:
        raise InvalidToken("unknown token format")
    key = public_keys.get(payload.get("kid"))
    if key is None:
        raise InvalidToken(f"unknown key id {payload.get('kid')!r}")
    try:
        key.verify(_b64decode(signature), encoded.encode("ascii"))
    except InvalidSignature as error:
        raise InvalidToken("bad signature") from error
    if payload.get("typ") != kind:
        raise InvalidToken(f"not a {kind} token")
    return payload
