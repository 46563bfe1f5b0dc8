"""Encryption at rest of API key secrets (Fernet: AES-128-CBC with an HMAC-SHA256 tag).

The secret must be readable again to check a request's HMAC signature, so it cannot be hashed
like a password; it is encrypted with API_KEY_ENCRYPTION_KEY (a Fernet key from the settings),
or, when that is not set, a key derived from the site's SECRET_KEY. Rotating the key makes the
stored secrets unreadable: their keys must then be created again.
"""

import base64
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.API_KEY_ENCRYPTION_KEY
    if not key:
        digest = hashlib.sha256(f"marginsite api keys:{settings.SECRET_KEY}".encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
