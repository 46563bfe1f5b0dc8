"""Encryption at rest of API key secrets (Fernet: AES-128-CBC with an HMAC-SHA256 tag).

The secret must be readable again to check a request's HMAC signature, so it cannot be hashed
like a password; it is encrypted with API_KEY_ENCRYPTION_KEY (a Fernet key from the settings),
or, when that is not set, a key derived from the site's SECRET_KEY. Rotating the key makes the
stored secrets unreadable: their keys must then be created again.
"""

import base64
import functools
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet_key() -> str:
    key = settings.API_KEY_ENCRYPTION_KEY
    if not key:
        digest = hashlib.sha256(f"marginsite api keys:{settings.SECRET_KEY}".encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return key


def secret_encrypt(secret: str) -> str:
    return Fernet(_fernet_key()).encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _decrypted(_fernet_key(), token)


@functools.lru_cache(maxsize=4096)
def _decrypted(key: str, token: str) -> str:
    """Kept in this process: every signed request checks its key's signature with the secret,
    and decrypting it again each time cost some 3 % of a signed order's time. Keyed by the
    encryption key too, so a rotated key still leaves the old secrets unreadable. A revoked key
    never reaches here (accounts/api_keys.py's active_key)."""
    return Fernet(key).decrypt(token.encode()).decode()
