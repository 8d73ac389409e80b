"""Settings: the API key lives in the keyring and nowhere else; without a keyring it is used for this run only."""

from __future__ import annotations

from pathlib import Path

from app.services.api_key import ACCOUNT, SERVICE, ApiKeyStore
from app.services.settings import Settings, load_settings, save_settings, settings_path
from tests.support.window_harness import WindowDriver

KEY = "sk-ant-api03-very-secret-test-key"


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_key_saved_in_settings_goes_to_the_keyring_and_nowhere_else(qtbot, qasync_loop, tmp_path, memory_keyring):
    driver = WindowDriver(qtbot, tmp_path / "signoff.db")

    async def scenario():
        window = await driver.open()
        assert window.demo_mode  # no key yet
        window.open_settings()
        dialog = await driver.until(lambda: getattr(window, "settings_dialog", None), what="the Settings dialog")
        dialog.api_key_edit.setText(KEY)
        dialog.reviewer_edit.setText("Ada")
        dialog.max_turns.setValue(12)
        dialog.accept()
        await driver.until(lambda: not window.demo_mode, what="API mode after saving a key")
        await driver.close()

    qasync_loop.run_until_complete(scenario())
    assert memory_keyring.passwords[(SERVICE, ACCOUNT)] == KEY
    settings = load_settings()
    assert settings.reviewer == "Ada" and settings.max_turns == 12
    assert files_containing(tmp_path, KEY.encode()) == []
    assert KEY not in settings_path().read_text()


def test_without_a_keyring_backend_the_key_is_kept_for_this_run_only_and_said_so(no_keyring):
    store = ApiKeyStore()
    message = store.save(KEY)
    assert "no keyring backend" in message and "this run only" in message
    current = store.current()
    assert current.value == KEY and current.source == "this run"
    assert ApiKeyStore().current() is None  # a new run does not remember it


def test_the_environment_key_is_used_when_none_is_saved(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-env")
    current = ApiKeyStore().current()
    assert current.value == "sk-env" and current.source == "environment"


def test_a_damaged_settings_file_falls_back_to_defaults_and_is_rewritten_on_save():
    settings_path().write_text("{not json")
    assert load_settings() == Settings()
    save_settings(Settings(reviewer="bo"))
    assert load_settings().reviewer == "bo"
