"""The macOS sandbox-exec profile, checked as text (this Linux machine cannot run sandbox-exec): nothing by default,
no network unless granted, the system read-only, the workspace view writable except .git (unless granted) and
.signoff, a private home; and the run prepared on darwin uses it on a copy of the workspace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.services import seatbelt
from app.services.sandbox import SEATBELT, Grant, SandboxInfo, prepare


def sbpl(grant=None, view="/w/view"):
    return seatbelt.profile(Path(view), Path("/s/home"), Path("/s/tmp"), grant or Grant())


def test_the_profile_denies_everything_by_default_and_the_network_with_it():
    text = sbpl()
    assert text.startswith("(version 1)\n(deny default)\n")
    assert "network" not in text


def test_the_workspace_view_is_writable_except_git_and_signoff():
    text = sbpl()
    write_view = next(line for line in text.splitlines() if line.startswith("(allow file-write* (require-all"))
    assert '(subpath "/w/view")' in write_view
    assert '(require-not (require-any (subpath "/w/view/.git") (subpath "/w/view/.signoff")))' in write_view
    assert '(allow file-write* (subpath "/s/home") (subpath "/s/tmp"))' in text
    writable = re.findall(r"\(allow file-write\*.*", text)
    assert not any('(subpath "/usr")' in line or '(literal "/")' in line for line in writable)


def test_the_system_is_readable_but_nothing_else_outside():
    text = sbpl()
    read = next(line for line in text.splitlines() if line.startswith('(allow file-read* (literal "/")'))
    assert '(subpath "/usr")' in read and '(subpath "/System")' in read
    assert "/Users" not in text and '(subpath "/")' not in text


def test_grants_open_git_writes_and_the_network_only_when_given():
    git = sbpl(Grant(git_writes=True))
    assert '(subpath "/w/view/.git")' not in git and '(subpath "/w/view/.signoff")' in git
    assert "network" not in git
    assert "(allow network*)" in sbpl(Grant(network=True))


def test_a_path_cannot_close_its_string_and_add_a_rule():
    text = sbpl(view='/w/x") (allow default) ("')
    assert "(allow default)" not in text.replace('\\") (allow default) (\\"', "")
    assert '"/w/x\\") (allow default) (\\""' in text
    with pytest.raises(ValueError, match="control characters"):
        sbpl(view="/w/a\nb")


def test_on_darwin_a_command_runs_under_sandbox_exec_in_a_copy_with_a_private_home(tmp_path):
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a\n")
    prepared = prepare(root, root / "src", "ls", Grant(), SandboxInfo(SEATBELT, "test"))
    try:
        assert prepared.argv[0] == "/usr/bin/env" and prepared.argv[1].startswith("HOME=")
        at = prepared.argv.index(seatbelt.SANDBOX_EXEC)
        assert prepared.argv[at + 1] == "-p" and "(deny default)" in prepared.argv[at + 2]
        assert prepared.argv[at + 3 :] == ["/bin/sh", "-c", "ls"]
        assert prepared.cwd == prepared.changes / "src" and (prepared.changes / "src" / "a.py").read_text() == "a\n"
        assert prepared.describe().startswith("sandbox-exec (Seatbelt) on a copy")
    finally:
        prepared.cleanup()
