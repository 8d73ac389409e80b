"""Where the Anthropic API key comes from: the OS keyring (saved in Settings), else ANTHROPIC_API_KEY, else a key
given for this run only. The key is never written to the database, config files or logs.

Keyring calls run with a time limit: a locked desktop keyring can block, and headless machines have no backend.
No Qt here.
"""

from __future__ import annotations

import concurrent.futures
import os
from dataclasses import dataclass

import keyring
import keyring.errors

SERVICE = "signoff"
ACCOUNT = "anthropic-api-key"
KEYRING_TIMEOUT_S = 3.0


class KeyringUnavailable(Exception):
    """No usable keyring: the message says why, in words for the Settings dialog."""


@dataclass(frozen=True)
class ApiKey:
    value: str
    # 'keyring' | 'environment' | 'this run'
    source: str


def _with_timeout(function, *args):
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="signoff-keyring")
    try:
        return executor.submit(function, *args).result(timeout=KEYRING_TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        raise KeyringUnavailable("The system keyring did not answer within 3 seconds (is it locked?).") from None
    except keyring.errors.NoKeyringError:
        raise KeyringUnavailable(
            "This machine has no keyring backend (no Secret Service or KWallet running)."
        ) from None
    except keyring.errors.KeyringError as err:
        raise KeyringUnavailable(f"The system keyring failed: {err}.") from None
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


class ApiKeyStore:
    def __init__(self) -> None:
        self._this_run: str | None = None

    def saved_key(self) -> str | None:
        return _with_timeout(keyring.get_password, SERVICE, ACCOUNT)

    def save(self, value: str) -> str:
        """Save the key in the keyring; without one, keep it for this run. Returns where it went, as words."""
        value = value.strip()
        try:
            _with_timeout(keyring.set_password, SERVICE, ACCOUNT, value)
        except KeyringUnavailable as err:
            self._this_run = value
            return f"{err} The key is used for this run only and will not be remembered."
        self._this_run = None
        return "Saved in the system keyring."

    def forget(self) -> None:
        self._this_run = None
        try:
            _with_timeout(keyring.delete_password, SERVICE, ACCOUNT)
        except (KeyringUnavailable, keyring.errors.PasswordDeleteError):
            pass

    def current(self) -> ApiKey | None:
        if self._this_run:
            return ApiKey(self._this_run, "this run")
        try:
            saved = self.saved_key()
        except KeyringUnavailable:
            saved = None
        if saved:
            return ApiKey(saved, "keyring")
        env = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if env:
            return ApiKey(env, "environment")
        return None
