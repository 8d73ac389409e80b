"""The API key lives only in the keyring: after a real session, the Settings dialog, the command line, an export and a
crash report, not one byte of it is in the database (and its WAL), the log, the settings, the export or crash output."""

from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.cli import main as cli_main
from app.domain.tools import COMMAND_TOOL_NAME, EDITOR_TOOL_NAME
from app.paths import config_dir, data_dir
from app.services import events, review
from app.services.api_key import ApiKeyStore
from app.services.settings import load_settings, save_settings
from app.standin.scenario import text_turn, tool_turn, tool_use_block
from app.ui.application import install_excepthook
from app.ui.settings_dialog import SettingsDialog
from tests.support.agent_harness import run


def files_under(*folders: Path) -> list[Path]:
    found = []
    for folder in folders:
        if folder.is_file():
            found.append(folder)
        elif folder.is_dir():
            found.extend(p for p in folder.rglob("*") if p.is_file())
    return found


def test_the_api_key_is_never_written_anywhere_but_the_keyring(
    stack_factory, qtbot, capfd, memory_keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-ant-api03-CANARY" + secrets.token_hex(24)
    # The agent tries to read the key back through a command; the command's environment has no secrets.
    leak_attempt = 'env; echo "key=$ANTHROPIC_API_KEY"; printenv ANTHROPIC_API_KEY || true'
    stack = stack_factory(
        [
            tool_turn(tool_use_block(COMMAND_TOOL_NAME, {"command": leak_attempt})),
            tool_turn(
                tool_use_block(EDITOR_TOOL_NAME, {"command": "create", "path": "notes.txt", "file_text": "hello\n"})
            ),
            text_turn("Done."),
        ]
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    log_path = data_dir() / "signoff.log"
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root_logger = logging.getLogger()
    old_level = root_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.DEBUG)
    try:
        # 1. A real session: the SDK sends the key to the (stand-in) API, the command runs, the edit lands.
        async def session_run():
            session = await stack.start()
            decided: set[int] = set()
            for _ in range(2):
                proposal = await stack.until(
                    lambda: next(
                        (
                            e.proposal
                            for e in stack.seen
                            if isinstance(e, events.ProposalWaiting) and e.proposal.id not in decided
                        ),
                        None,
                    )
                )
                decided.add(proposal.id)
                await stack.manager.decide(review.approve(proposal.id, "ada"))
            assert await stack.manager.wait(session.id) == "finished"
            await stack.close()
            return session

        session = run(session_run())
        presented = {
            r.headers.get("x-api-key") or r.headers.get("authorization", "").partition(" ")[2]
            for r in stack.server.requests
            if r.path.startswith("/v1/messages")
        }
        assert presented == {key}
        assert (stack.workspace / "notes.txt").read_text() == "hello\n"

        # 2. The Settings dialog saves a key: to the keyring, never to settings.json.
        dialog = SettingsDialog(load_settings(), key_status="", model_ids=[])
        qtbot.addWidget(dialog)
        dialog.api_key_edit.setText(key)
        result = dialog.result_value()
        save_settings(result.settings)
        ApiKeyStore().save(result.new_api_key)
        assert memory_keyring.passwords[("signoff", "anthropic-api-key")] == key

        # 3. The command line, with the key in its environment.
        db = str(stack.db_path)
        for argv in (
            ["sessions", "--json", "--db", db],
            ["queue", "--db", db],
            ["show", "1", "--db", db],
            ["audit", "verify", "--db", db],
            ["policy", "show", "--workspace", str(stack.workspace)],
        ):
            assert cli_main(argv) == 0, argv

        # 4. An export, when this build has one.
        export_dir = tmp_path / "export"
        try:
            import app.services.export  # noqa: F401
        except ImportError:
            pass
        else:
            assert cli_main(["export", "--format", "raw", "--out", str(export_dir), "--db", db]) == 0

        # 5. A crash report: the excepthook logs it, writes it to stderr and shows it.
        app = QApplication.instance()
        previous_hook = sys.excepthook
        install_excepthook(app)
        try:

            def crash(api_key: str) -> None:
                raise RuntimeError(f"boom while holding a key of {len(api_key)} characters")

            try:
                crash(key)
            except RuntimeError:
                sys.excepthook(*sys.exc_info())
        finally:
            sys.excepthook = previous_hook
            for widget in QApplication.topLevelWidgets():
                if isinstance(widget, QMessageBox):
                    widget.close()
                    widget.deleteLater()
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(old_level)
        handler.close()

    printed = capfd.readouterr()
    assert "boom while holding a key" in printed.err  # the crash report was written
    assert "boom while holding a key" in log_path.read_text(encoding="utf-8")
    assert f"Session {session.id}" in printed.out or '"id": ' + str(session.id) in printed.out

    needle = key.encode()
    scanned = files_under(
        stack.db_path, Path(f"{stack.db_path}-wal"), Path(f"{stack.db_path}-shm"), data_dir(), config_dir(), export_dir
    )
    assert stack.db_path in scanned and log_path in scanned and config_dir() / "settings.json" in scanned
    if export_dir.exists():
        assert any(p.suffix == ".jsonl" for p in files_under(export_dir))
    stored = b"".join(p.read_bytes() for p in scanned if p.name.startswith(stack.db_path.name))
    assert b"key=\\n" in stored  # the command's output is stored (and so scanned): it ran without the key
    leaked = [str(p) for p in scanned if needle in p.read_bytes()]
    assert leaked == []
    assert key not in printed.out and key not in printed.err
    # The command the agent ran saw no key either (its output is stored in the transcript, scanned above).
