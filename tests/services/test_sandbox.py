"""Commands run under bubblewrap on a private view of the workspace (overlay, or a copy): what they can see and do,
what their effects are, which of them land, and what the agent and `signoff show` are told."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import pytest

from app.services import effects as fx
from app.services.command_tool import CommandDraft, run_command
from app.services.sandbox import COPY, NONE, OVERLAY, Grant, SandboxInfo, sandbox_info
from app.services.workspace import Workspace

SECRET = "SENTINEL-SANDBOX-5d1e"


@pytest.fixture(params=[OVERLAY, COPY])
def mode(request):
    info = sandbox_info()
    assert info.available, info.detail
    if request.param == OVERLAY and info.mode != OVERLAY:
        pytest.fail(f"overlayfs should work on this machine: {info.detail}")
    return SandboxInfo(request.param, "test")


@pytest.fixture
def root(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(SECRET)
    workspace = tmp_path / "ws"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "app.py").write_text("print('hi')\n")
    (workspace / "old.txt").write_text("old\n")
    (workspace / "gone").mkdir()
    (workspace / "gone" / "a.txt").write_text("a\n")
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("[core]\n")
    (workspace / ".signoff").mkdir()
    (workspace / ".signoff" / "policy.toml").write_text("version = 1\n")
    return workspace


def run(root, command, info, **kwargs):
    return asyncio.run(run_command(Workspace(root), CommandDraft(command, "."), info=info, **kwargs))


def test_this_machine_has_a_working_sandbox_and_says_which():
    info = sandbox_info(refresh=True)
    assert info.mode in (OVERLAY, COPY), info.detail
    assert "bubblewrap" in info.detail


def test_changes_inside_the_workspace_land_exactly_as_captured(root, mode):
    outcome = run(
        root,
        "echo new > src/new.py && echo more >> old.txt && rm -r gone && chmod 700 src/app.py && mkdir -p d/e",
        mode,
    )
    assert outcome.exit_code == 0, outcome.output
    changes = {(effect.path, effect.change) for effect in outcome.landed}
    assert changes == {
        ("src/new.py", fx.CREATED),
        ("old.txt", fx.MODIFIED),
        ("gone", fx.DELETED),
        ("src/app.py", fx.MODE),
        ("d", fx.CREATED),
        ("d/e", fx.CREATED),
    }
    assert (root / "src" / "new.py").read_text() == "new\n"
    assert (root / "old.txt").read_text() == "old\nmore\n"
    assert not (root / "gone").exists()
    assert os.stat(root / "src" / "app.py").st_mode & 0o777 == 0o700
    assert (root / "d" / "e").is_dir()
    assert "Changes applied to the workspace (6)" in outcome.as_tool_result_text("x")


def test_git_and_signoff_are_read_only_unless_git_writes_are_granted(root, mode):
    outcome = run(root, "echo x >> .git/config; echo y > .signoff/policy.toml; touch .git/new", mode)
    assert "Read-only file system" in outcome.output
    assert (root / ".git" / "config").read_text() == "[core]\n"
    assert (root / ".signoff" / "policy.toml").read_text() == "version = 1\n"
    granted = run(root, "echo x >> .git/config", mode, grant=Grant(git_writes=True))
    assert [effect.path for effect in granted.landed] == [".git/config"]
    assert (root / ".git" / "config").read_text() == "[core]\nx\n"


def test_nothing_outside_the_workspace_is_visible_or_writable(root, mode):
    outcome = run(
        root,
        "cat ../outside/secret.txt; ls ~ | wc -l; touch /usr/pwned /etc/pwned ../pwned; cat /etc/shadow; echo end",
        mode,
    )
    assert SECRET not in outcome.output
    assert "end" in outcome.output
    assert not (root.parent / "pwned").exists()
    assert not os.path.exists("/usr/pwned") and not os.path.exists("/etc/pwned")
    assert "root:" not in outcome.output


def test_other_processes_are_invisible_and_the_network_is_off_unless_granted(root, mode):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    probe = (
        f"{sys.executable} -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2); print('connected')\""
    )
    try:
        outcome = run(root, f"ls /proc | grep -c '^[0-9]'; {probe}", mode)
        assert int(outcome.output.split()[0]) <= 4, outcome.output
        assert "connected" not in outcome.output
        granted = run(root, probe, mode, grant=Grant(network=True))
        assert "connected" in granted.output, granted.output
    finally:
        listener.close()


def test_review_always_holds_every_change_and_the_agent_is_told_what_did_not_land(root, mode):
    outcome = run(root, "echo new > src/new.py; echo more >> old.txt", mode, review="always")
    assert outcome.landed == ()
    assert {effect.path for effect, _ in outcome.held} == {"src/new.py", "old.txt"}
    assert not (root / "src" / "new.py").exists()
    text = outcome.as_tool_result_text("x")
    assert "Changes NOT applied (2); the workspace does not have them" in text
    record = outcome.effects_record()
    held = {entry["path"]: entry for entry in record["not_applied"]}
    assert "+more" in held["old.txt"]["diff"]


def test_the_workspace_setting_chooses_which_effects_a_person_reviews(root, mode):
    (root / ".signoff" / "policy.toml").write_text('version = 1\nreview_effects = "always"\n')
    assert run(root, "echo new > n.txt", mode).landed == ()
    (root / ".signoff" / "policy.toml").write_text('version = 1\nreview_effects = "sometimes"\n')
    outcome = run(root, "echo new > n.txt", mode)
    assert outcome.landed == () and "review_effects must be one of" in outcome.as_tool_result_text("x")
    (root / ".signoff" / "policy.toml").write_text('version = 1\nreview_effects = "never"\n')
    unseen = run(root, "echo new > n.txt; echo x >> .git/config", mode)
    assert [effect.path for effect in unseen.landed] == ["n.txt"] and unseen.for_review == ()
    assert (root / ".git" / "config").read_text() == "[core]\n"
    assert "WARNING" in unseen.as_tool_result_text("x")


def test_a_symlink_swapped_in_for_a_folder_is_never_written_through(root, tmp_path, mode):
    # The command replaces src/ by a link to a folder outside; applying it must not write outside.
    outcome = run(root, "rm -r src && ln -s ../outside src && echo x > other.txt", mode)
    assert (root / "src").is_symlink()
    assert sorted(os.listdir(tmp_path / "outside")) == ["secret.txt"]
    assert (root / "other.txt").read_text() == "x\n"
    assert outcome.exit_code == 0


def test_the_tool_result_names_the_sandbox(root, mode):
    text = run(root, "true", mode).as_tool_result_text("true")
    assert "Sandbox: bubblewrap on" in text and "no network" in text


def test_without_a_sandbox_the_command_runs_plainly_and_says_so(root):
    outcome = run(root, "echo x > plain.txt", SandboxInfo(NONE, "No sandbox: testing."))
    assert (root / "plain.txt").exists()
    text = outcome.as_tool_result_text("echo x > plain.txt")
    assert "Sandbox: none: it ran unsandboxed" in text and "not captured" in text


def test_policy_check_says_plainly_when_allow_rules_ask_for_lack_of_a_sandbox(root):
    env = dict(os.environ, SIGNOFF_SANDBOX="none")
    subprocess.run(
        [sys.executable, "-m", "app", "policy", "add", "allow", "command", "ls", "--workspace", str(root)],
        check=True,
        capture_output=True,
        env=env,
    )
    checked = subprocess.run(
        [sys.executable, "-m", "app", "policy", "check", "--workspace", str(root), "--command", "ls"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert checked.stdout.startswith("ask: No sandbox"), checked.stdout + checked.stderr
    assert "allow rules ask" in checked.stdout


def test_git_works_read_only_in_a_worktree_whose_git_folder_is_outside(tmp_path, mode):
    main = tmp_path / "main"
    main.mkdir()
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"
    )
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "first"], ["worktree", "add", "-q", "../wt"]):
        subprocess.run(["git", *args], cwd=main, check=True, capture_output=True, env=env)
    outcome = run(tmp_path / "wt", "git log --oneline | wc -l; git commit -q --allow-empty -m second", mode)
    assert outcome.output.splitlines()[0].strip() == "1", outcome.output
    log = subprocess.run(["git", "log", "--oneline"], cwd=main, capture_output=True, text=True, check=True)
    assert len(log.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("command", "reads_only"),
    [
        ("true", True),
        ("ls -la src && cat old.txt | grep -c old", True),
        ("git status --short; git log --oneline", True),
        ("echo hi > /dev/null", True),
        ("echo hi > x.txt", False),
        ("find . -delete", False),
        ("sort -o old.txt old.txt", False),
        ("pytest -q", False),
        ("git -c core.pager=cat log", False),
        ("git commit -m x", False),
        ("X=1 ls", False),
        ("$(echo ls)", False),
    ],
)
def test_only_a_command_that_cannot_write_gets_the_cheaper_read_only_view(command, reads_only):
    from app.domain.command_catalogue import cannot_write
    from app.domain.policy import parse_command

    assert cannot_write(parse_command(command)) is reads_only


def test_a_read_only_view_refuses_every_write_and_captures_nothing(root):
    from app.services.sandbox import READ_ONLY, prepare

    info = sandbox_info()
    prepared = prepare(root, root, "true", info=info, read_only=True)
    assert prepared.mode == READ_ONLY and prepared.changes is None
    outcome = run(root, "cat old.txt; ls", info)
    assert "read-only view" in outcome.sandbox and "old" in outcome.output and outcome.landed == ()
    forced = subprocess.run(
        prepare(root, root, "echo x > old.txt; touch new.txt", info=info, read_only=True).argv,
        capture_output=True,
        text=True,
    )
    assert "Read-only file system" in forced.stderr
    assert (root / "old.txt").read_text() == "old\n" and not (root / "new.txt").exists()
