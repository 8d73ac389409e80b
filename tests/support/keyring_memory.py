"""An in-memory keyring installed for every test, and `no_keyring` to act out a headless machine without one.

Must never reach the developer's real keychain (Secret Service, KWallet, macOS Keychain), in process or in subprocesses.
"""

from __future__ import annotations

import keyring
import keyring.backends.fail
import keyring.errors
import pytest
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """Passwords held in a dict for one test; `passwords` lets a test check what was stored."""

    priority = 100

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(f"no password for {username!r} in {service!r}") from None


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    # A subprocess (the CLI, say) picks its own backend; the failing one keeps it off the real keychain.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return backend


@pytest.fixture
def no_keyring(memory_keyring: MemoryKeyring) -> keyring.backends.fail.Keyring:
    """The backend keyring picks when no usable one exists: every call raises NoKeyringError."""
    backend = keyring.backends.fail.Keyring()
    keyring.set_keyring(backend)
    return backend
