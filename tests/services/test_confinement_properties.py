"""Property tests: whatever path or tool input the agent sends, no read or write leaves the workspace root.

A sandbox holds the workspace and, beside it, a folder of secrets; the workspace has symlinks leading out (to the
secrets, to /etc, to /dev/null), a FIFO, a .git folder and unicode names. Every example runs the real editor tool
(view, draft_change + apply_file_change) and the command tool's cwd check, then compares the filesystem outside the
root with a snapshot. 10,000 generated inputs in all.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services import editor_tool
from app.services.apply import ApplyConflict, apply_file_change
from app.services.command_tool import draft_command
from app.services.workspace import ToolInputError, Workspace

SECRET = "OUTSIDE-SECRET-7f3a"
PROPERTY_SETTINGS = dict(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)


class Sandbox:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.outside = base / "outside"
        self.root = base / "root"
        self.outside.mkdir()
        (self.outside / "secret.txt").write_text(f"{SECRET}\n")
        (self.outside / "nested").mkdir()
        (self.outside / "nested" / "deep.txt").write_text(f"{SECRET} deep\n")
        self.root.mkdir()
        (self.root / "src").mkdir()
        (self.root / "src" / "app.py").write_text("print('inside')\n")
        (self.root / "a.txt").write_text("alpha\nbeta\n")
        (self.root / "é ü 日本.txt").write_text("unicode\n")
        (self.root / ".git").mkdir()
        (self.root / ".git" / "config").write_text("[core]\n")
        (self.root / "out_link").symlink_to(self.outside)
        (self.root / "secret_link").symlink_to(self.outside / "secret.txt")
        (self.root / "abs_link").symlink_to("/etc")
        (self.root / "devnull").symlink_to("/dev/null")
        (self.root / "src" / "up_link").symlink_to("../../outside/nested")
        (self.root / "inner_link").symlink_to("src")
        (self.root / "loop_a").symlink_to("loop_b")
        (self.root / "loop_b").symlink_to("loop_a")
        os.mkfifo(self.root / "pipe")
        self.workspace = Workspace(self.root)
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, tuple]:
        """Everything outside the root that a write could touch: the sandbox's own entries and the secrets folder."""
        seen: dict[str, tuple] = {}
        for entry in self.base.iterdir():
            if entry.name != "root":
                seen[entry.name] = (entry.is_symlink(), entry.is_dir())
        for folder, dirs, files in os.walk(self.outside):
            for name in dirs + files:
                path = Path(folder) / name
                info = path.lstat()
                content = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
                seen[str(path.relative_to(self.base))] = (info.st_mode, info.st_size, info.st_mtime_ns, content)
        return seen

    def assert_outside_untouched(self) -> None:
        assert self.snapshot() == self.before


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    return Sandbox(tmp_path_factory.mktemp("confinement"))


SEGMENTS = st.sampled_from(
    [
        "..",
        ".",
        "",
        "out_link",
        "secret_link",
        "abs_link",
        "devnull",
        "pipe",
        ".git",
        "config",
        "hooks",
        "src",
        "app.py",
        "a.txt",
        "é ü 日本.txt",
        "outside",
        "secret.txt",
        "nested",
        "deep.txt",
        "up_link",
        "inner_link",
        "loop_a",
        "etc",
        "passwd",
        "new.txt",
        "~",
        "\x00",
        "..\x00",
        "\\..\\",
        " ",
        "…",
        "%2e%2e",
        "/",
    ]
)


RANDOM_SEGMENTS = st.text(st.sampled_from(list("a.~/\\\x00é日 -")), min_size=1, max_size=5)


@st.composite
def agent_paths(draw, sandbox_root: str, outside: str) -> str:
    parts = draw(st.lists(st.one_of(SEGMENTS, SEGMENTS, SEGMENTS, RANDOM_SEGMENTS), min_size=1, max_size=5))
    body = "/".join(parts)
    prefix = draw(st.sampled_from(["", "", "", "/", "./", sandbox_root + "/", outside + "/", "//", "~/", "../"]))
    return prefix + body


_PATH_STRATEGIES: dict[str, st.SearchStrategy[str]] = {}


def paths(sandbox: Sandbox) -> st.SearchStrategy[str]:
    # Built once: a fresh composite per draw costs hypothesis more than the test itself.
    key = str(sandbox.root)
    if key not in _PATH_STRATEGIES:
        _PATH_STRATEGIES[key] = agent_paths(str(sandbox.root), str(sandbox.outside))
    return _PATH_STRATEGIES[key]


VIEW_RANGES = st.one_of(st.none(), st.lists(st.integers(-3, 5), min_size=2, max_size=2))
FILE_TEXTS = st.sampled_from(["x\n", "", "日本\n", "\x00binary"])
KNOWN_TARGETS = st.sampled_from(
    ["secret_link", "out_link/secret.txt", "src/up_link/deep.txt", "a.txt", "inner_link/app.py"]
)
OLD_STRINGS = st.sampled_from([SECRET, "alpha", "inside", "x"])
_TOOL_INPUTS: dict[str, st.SearchStrategy] = {}


def tool_inputs(sandbox: Sandbox) -> st.SearchStrategy:
    key = str(sandbox.root)
    if key not in _TOOL_INPUTS:
        value = st.one_of(
            st.none(),
            st.integers(),
            st.booleans(),
            st.sampled_from(["", "x", "view"]),
            paths(sandbox),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.just("k"), st.integers(), max_size=1),
        )
        keys = st.sampled_from(
            ["command", "path", "file_text", "old_str", "new_str", "insert_line", "insert_text", "view_range"]
        )
        commands = st.sampled_from(["view", "create", "str_replace", "insert", "undo_edit", "delete"])
        shaped = st.builds(
            lambda extra, command: {**extra, "command": command} if command else extra,
            st.dictionaries(keys, value, max_size=5),
            st.one_of(st.none(), commands),
        )
        _TOOL_INPUTS[key] = st.one_of(shaped, value)
    return _TOOL_INPUTS[key]


def _inside_root(sandbox: Sandbox, relative: str) -> bool:
    target = (sandbox.root / relative).resolve()
    return target == sandbox.root or sandbox.root in target.parents


def check_view(sandbox: Sandbox, path: str, view_range) -> None:
    tool_input = {"command": "view", "path": path}
    if view_range is not None:
        tool_input["view_range"] = view_range
    try:
        text = editor_tool.view(sandbox.workspace, tool_input)
    except ToolInputError as err:
        assert str(err)  # refused, with a reason the model reads
        return
    assert SECRET not in text
    assert "root:x:0:0" not in text


def check_write(sandbox: Sandbox, tool_input: dict) -> None:
    try:
        change = editor_tool.draft_change(sandbox.workspace, tool_input)
    except ToolInputError as err:
        assert str(err)
        return
    assert _inside_root(sandbox, change.path)
    assert change.path.split("/")[0] != ".git"
    if change.old_content is not None:
        assert SECRET.encode() not in change.old_content
    try:
        apply_file_change(sandbox.workspace, change.path, change.base_hash, change.new_content)
    except (ApplyConflict, ToolInputError, NotADirectoryError, IsADirectoryError):
        # The runner reports these as a conflict or a failed apply; nothing was written.
        return
    written = (sandbox.root / change.path).resolve()
    assert sandbox.root in written.parents
    assert written.read_bytes() == change.new_content


# Each example checks a batch of inputs: hypothesis's per-example bookkeeping costs more than the checks themselves.
BATCH = 5


@given(data=st.data())
@settings(max_examples=600, **PROPERTY_SETTINGS)
def test_no_view_reads_outside_the_root(sandbox: Sandbox, data) -> None:
    for _ in range(BATCH):
        check_view(sandbox, data.draw(paths(sandbox)), data.draw(VIEW_RANGES))
    sandbox.assert_outside_untouched()


@given(data=st.data())
@settings(max_examples=600, **PROPERTY_SETTINGS)
def test_no_created_file_lands_outside_the_root_or_in_git(sandbox: Sandbox, data) -> None:
    for _ in range(BATCH):
        path = data.draw(paths(sandbox))
        check_write(sandbox, {"command": "create", "path": path, "file_text": data.draw(FILE_TEXTS)})
    sandbox.assert_outside_untouched()


@given(data=st.data())
@settings(max_examples=400, **PROPERTY_SETTINGS)
def test_no_edit_or_insert_changes_anything_outside_the_root(sandbox: Sandbox, data) -> None:
    for _ in range(BATCH):
        path = data.draw(st.one_of(paths(sandbox), KNOWN_TARGETS))
        if data.draw(st.booleans()):
            tool_input = {
                "command": "str_replace",
                "path": path,
                "old_str": data.draw(OLD_STRINGS),
                "new_str": "changed",
            }
        else:
            tool_input = {
                "command": "insert",
                "path": path,
                "insert_line": data.draw(st.integers(-1, 3)),
                "insert_text": "added",
            }
        check_write(sandbox, tool_input)
    sandbox.assert_outside_untouched()


@given(data=st.data())
@settings(max_examples=400, **PROPERTY_SETTINGS)
def test_no_tool_input_of_any_shape_escapes(sandbox: Sandbox, data) -> None:
    """Malformed input (wrong types, missing keys, odd commands) is refused with a message, never followed outside;
    a command's working folder is always a folder inside the root."""
    for _ in range(BATCH):
        tool_input = data.draw(tool_inputs(sandbox))
        try:
            if isinstance(tool_input, dict) and tool_input.get("command") == "view":
                assert SECRET not in editor_tool.view(sandbox.workspace, tool_input)
            elif isinstance(tool_input, dict):
                check_write(sandbox, tool_input)
            else:
                editor_tool.draft_change(sandbox.workspace, tool_input)
        except ToolInputError as err:
            assert str(err)
        try:
            draft = draft_command(sandbox.workspace, {"command": "ls", "cwd": data.draw(paths(sandbox))})
        except ToolInputError as err:
            assert str(err)
        else:
            assert _inside_root(sandbox, draft.cwd)
            assert (sandbox.root / draft.cwd).resolve().is_dir()
    sandbox.assert_outside_untouched()


def test_the_property_tests_cover_ten_thousand_generated_inputs() -> None:
    tests = (
        test_no_view_reads_outside_the_root,
        test_no_created_file_lands_outside_the_root_or_in_git,
        test_no_edit_or_insert_changes_anything_outside_the_root,
        test_no_tool_input_of_any_shape_escapes,
    )
    assert sum(t._hypothesis_internal_use_settings.max_examples for t in tests) * BATCH >= 10_000


# -- the named cases, each on its own so a failure says which -------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "../outside/secret.txt",
        "secret_link",
        "out_link/secret.txt",
        "abs_link/passwd",
        "/etc/passwd",
        "devnull",
        "pipe",
        "src/up_link/deep.txt",
        "loop_a",
        "a.txt\x00.png",
        "~/../../outside/secret.txt",
    ],
)
def test_named_escapes_are_refused_with_a_reason(sandbox: Sandbox, path: str) -> None:
    with pytest.raises(ToolInputError):
        editor_tool.view(sandbox.workspace, {"command": "view", "path": path})
    with pytest.raises(ToolInputError):
        editor_tool.draft_change(sandbox.workspace, {"command": "create", "path": path, "file_text": "x"})
    sandbox.assert_outside_untouched()


def test_writes_into_git_are_refused_but_reads_of_it_are_allowed(sandbox: Sandbox) -> None:
    with pytest.raises(ToolInputError, match=r"\.git"):
        editor_tool.draft_change(
            sandbox.workspace, {"command": "create", "path": ".git/hooks/pre-commit", "file_text": "x"}
        )
    with pytest.raises(ToolInputError, match=r"\.git"):
        apply_file_change(sandbox.workspace, ".git/config", None, b"x")
    assert "[core]" in editor_tool.view(sandbox.workspace, {"command": "view", "path": ".git/config"})


def test_symlinks_that_stay_inside_are_followed(tmp_path: Path) -> None:
    fresh = Sandbox(tmp_path)  # the shared sandbox has been edited by the property tests
    assert "inside" in editor_tool.view(fresh.workspace, {"command": "view", "path": "inner_link/app.py"})
