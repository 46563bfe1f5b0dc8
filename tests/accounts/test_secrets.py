"""API key secrets, encrypted at rest (accounts/secrets.py) and decrypted once per process."""

import pytest
from cryptography.fernet import Fernet, InvalidToken

from accounts.secrets import secret_decrypt, secret_encrypt


def test_a_secret_decrypted_before_is_unreadable_once_the_encryption_key_is_rotated(settings):
    settings.API_KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()
    token = secret_encrypt("the bot's secret")
    assert secret_decrypt(token) == "the bot's secret"
    assert secret_decrypt(token) == "the bot's secret"  # kept: the same

    settings.API_KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()

    with pytest.raises(InvalidToken):
        secret_decrypt(token)
