"""The centre's gate-pass signing keys, by key id, read once per process from the settings.

``SMARTGATE_GATE_PASS_KEYS`` ("kid:base64url-private-key", comma-separated) or, when unset, the file
``SMARTGATE_GATE_PASS_KEY_FILE`` (one such line per key; generated with one new key when missing). The
first key signs; all are published, so a device still verifies passes signed before a rotation.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone

from clearance import gate_pass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyRing:
    signing_key_id: str
    private_keys: dict[str, Ed25519PrivateKey]

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return self.private_keys[self.signing_key_id]

    @property
    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {key_id: key.public_key() for key_id, key in self.private_keys.items()}


def parse_keys(text: str, *, source: str) -> KeyRing:
    """Keys as "kid:key" items separated by commas or new lines. Raises ImproperlyConfigured naming the
    source and the item that is wrong."""
    keys: dict[str, Ed25519PrivateKey] = {}
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        key_id, _, encoded = item.partition(":")
        key_id = key_id.strip()
        if not key_id or not encoded or len(key_id) > 64 or not key_id.isascii():
            raise ImproperlyConfigured(f"{source}: each key is 'key-id:base64url-ed25519-private-key'.")
        if key_id in keys:
            raise ImproperlyConfigured(f"{source}: key id {key_id!r} given twice.")
        try:
            keys[key_id] = gate_pass.private_key_from_text(encoded)
        except gate_pass.InvalidToken as error:
            raise ImproperlyConfigured(f"{source}: key {key_id!r}: {error}.") from error
    if not keys:
        raise ImproperlyConfigured(f"{source}: no gate-pass signing key.")
    return KeyRing(signing_key_id=next(iter(keys)), private_keys=keys)


def new_key_line() -> str:
    """A fresh key as a settings line, named by its creation day: ``gp-20261130-1a2b:…``."""
    key_id = f"gp-{timezone.now():%Y%m%d}-{secrets.token_hex(2)}"
    return f"{key_id}:{gate_pass.private_key_text(gate_pass.generate_private_key())}"


def _key_file(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once create one key file, and both read it.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    with os.fdopen(descriptor, "w") as file:
        file.write(new_key_line() + "\n")
    logger.warning("gate_pass.key_generated", extra={"path": str(path)})
    return path.read_text()


@functools.cache
def key_ring() -> KeyRing:
    if settings.SMARTGATE_GATE_PASS_KEYS:
        return parse_keys(settings.SMARTGATE_GATE_PASS_KEYS, source="SMARTGATE_GATE_PASS_KEYS")
    path = Path(settings.SMARTGATE_GATE_PASS_KEY_FILE)
    return parse_keys(_key_file(path), source=str(path))


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs) -> None:
    if setting.startswith("SMARTGATE_GATE_PASS_KEY"):
        key_ring.cache_clear()
