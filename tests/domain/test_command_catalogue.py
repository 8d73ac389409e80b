"""The catalogue of read-only commands: for every entry, a prefix rule allows its read-only forms and asks, naming the
part, for options that write, execute or reach out; redirections and words that can leave the workspace always ask."""

from __future__ import annotations

import os

import pytest

from app.domain.command_catalogue import CATALOGUE, option_concern, spec_for
from app.domain.policy import Policy, Rule

# Per catalogue entry: read-only command lines a prefix rule for it allows, and ones it must ask about (with a word
# the reason has to name).
ENTRIES: dict[tuple[str, ...], tuple[list[str], list[tuple[str, str]]]] = {
    ("git", "status"): (
        ["git status", "git status -sb", "git status --porcelain=v1", "git status --short --branch"],
        [("git status --output=x", "--output"), ("git status -c x", "-c"), ("git status --exec-path=/x", "exec")],
    ),
    ("git", "diff"): (
        ["git diff", "git diff --stat HEAD~1", "git diff --cached -U5 src", "git diff --color=never --name-only"],
        [
            ("git diff --output=x", "--output"),
            ("git diff --ext-diff", "external"),
            ("git diff --textconv", "text-conversion"),
            ("git diff --outp=x", "--outp"),
        ],
    ),
    ("git", "log"): (
        ["git log --oneline -5", "git log -n 3 --format=%H", "git log -p --follow src/a.py", "git log -S foo"],
        [
            ("git log -1 --format=%n --output=.git/config", "--output"),
            ("git log --out=x", "--out"),
            ("git log --exec-path=/tmp", "--exec-path"),
            ("git log --paginate", "pager"),
        ],
    ),
    ("git", "show"): (
        ["git show HEAD", "git show --stat HEAD~2", "git show -p HEAD"],
        [("git show --output=x HEAD", "--output"), ("git show --ext-diff", "external")],
    ),
    ("git", "branch"): (
        ["git branch", "git branch -a", "git branch --show-current", "git branch --contains HEAD"],
        [("git branch evil", "operands"), ("git branch -D main", "deletes"), ("git branch -m a b", "renames")],
    ),
    ("git", "rev-parse"): (["git rev-parse --show-toplevel", "git rev-parse HEAD"], [("git rev-parse --x", "--x")]),
    ("git", "ls-files"): (["git ls-files", "git ls-files -m"], [("git ls-files --with-tree=x", "--with-tree")]),
    ("git", "blame"): (["git blame a.py", "git blame -L 1,5 a.py"], [("git blame --contents=x a.py", "--contents")]),
    ("git", "shortlog"): (["git shortlog -sn"], [("git shortlog --output=x", "--output")]),
    ("git", "remote"): (["git remote -v"], [("git remote add x y", "operands")]),
    ("git", "tag"): (["git tag", "git tag -l"], [("git tag v1", "operands"), ("git tag -d v1", "-d")]),
    ("grep",): (
        ["grep -rn foo src", "grep -rn foo --exclude-dir=.git .", "grep -e a -e b a.py", "grep -A3 foo a.py"],
        [("grep -R foo .", "symlinks"), ("grep --dereference-recursive foo .", "symlinks"), ("grep -Q x", "-Q")],
    ),
    ("rg",): (
        ["rg foo", "rg -n --hidden foo src", "rg -g '*.py' foo"],
        [("rg --pre sh foo", "runs a program"), ("rg -z foo", "decompression"), ("rg -L foo", "symlinks")],
    ),
    ("find",): (
        [
            "find . -name '*.py' -type f",
            "find src -maxdepth 2 -print0",
            "find . -path ./.git -prune -o -print",
            "find . \\( -name a -o -name b \\)",
        ],
        [
            ("find . -delete", "-delete"),
            ("find . -exec rm {} ;", "-exec"),
            ("find . -fprintf conftest.py x", "-fprintf"),
            ("find . -fprint out", "-fprint"),
            ("find . -fls out", "-fls"),
            ("find -L .", "symlinks"),
        ],
    ),
    ("sort",): (
        ["sort a.txt", "sort -n -k2 a.txt", "sort -u -t, a.txt"],
        [
            ("sort -o out a.txt", "-o"),
            ("sort --output=out a.txt", "--output"),
            ("sort --compress-program=sh a.txt", "runs a program"),
            ("sort -T tmpdir a.txt", "temporary"),
        ],
    ),
    ("ls",): (["ls", "ls -la src", "ls --color=auto -1"], [("ls --zzz", "--zzz")]),
    ("cat",): (["cat a.txt", "cat -n a.txt"], [("cat --zzz a.txt", "--zzz")]),
    ("head",): (["head a.txt", "head -20 a.txt", "head -n 5 a.txt"], [("head --zzz a.txt", "--zzz")]),
    ("tail",): (["tail a.txt", "tail -n 5 a.txt"], [("tail -f a.txt", "keeps running")]),
    ("wc",): (["wc -l a.txt"], [("wc --files0-from=list", "file names")]),
    ("diff",): (["diff a.txt b.txt", "diff -u a.txt b.txt"], [("diff --to-file=x a.txt", "another file")]),
    ("echo",): (["echo hello", "echo -n hi", "echo -delete"], [("echo hi > a.txt", "writes a file")]),
    ("printf",): (["printf '%s\\n' hi"], [("printf hi >> a.txt", "writes a file")]),
    ("pwd",): (["pwd"], [("pwd x", "operands")]),
    ("true",): (["true"], [("true x", "operands")]),
    ("false",): (["false"], [("false x", "operands")]),
    ("pytest",): (
        ["pytest", "pytest -q tests", "pytest -x -k foo", "pytest -q -p no:randomly tests"],
        [
            ("pytest --basetemp=.", "--basetemp"),
            ("pytest -p evil", "plugin"),
            ("pytest --junitxml=src/app.py", "report"),
            ("pytest -o addopts=-pevil", "configuration"),
            ("pytest --rootdir=/", "root"),
        ],
    ),
    ("python", "-m", "pytest"): (["python -m pytest -q"], [("python -m pytest --basetemp=x", "--basetemp")]),
    ("python3", "-m", "pytest"): (["python3 -m pytest"], [("python3 -m pytest -p x", "plugin")]),
    ("npm", "test"): (["npm test", "npm test --silent"], [("npm test -- --watch", "operands")]),
    ("npm", "run", "test"): (["npm run test"], [("npm run test x", "operands")]),
}


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / ".git").mkdir()
    (root / ".signoff").mkdir()
    (root / ".signoff" / "policy.toml").write_text("version = 1\n")
    for name in ("a.txt", "b.txt", "a.py", "src/a.py", "tests/test_a.py"):
        (root / name).write_text("x\n")
    (tmp_path / "secret").write_text("sentinel\n")
    os.symlink(tmp_path / "secret", root / "pw")
    os.symlink("src", root / "inner")
    return root


def policy_allowing(*patterns: str) -> Policy:
    return Policy(tuple(Rule.for_command("allow", pattern) for pattern in patterns))


def test_every_catalogue_entry_has_examples_here():
    assert {spec.name for spec in CATALOGUE} == set(ENTRIES)


@pytest.mark.parametrize("name", sorted(ENTRIES), ids=" ".join)
def test_a_prefix_rule_for_a_catalogue_entry_allows_its_read_only_forms_and_asks_for_the_rest(name, workspace):
    policy = policy_allowing(" ".join(name))
    allowed, asked = ENTRIES[name]
    for command in allowed:
        verdict = policy.check_command(command, root=workspace)
        assert verdict.action == "allow", (command, verdict.reason)
    for command, named in asked:
        verdict = policy.check_command(command, root=workspace)
        assert verdict.action == "ask", (command, verdict.reason)
        assert named in verdict.reason, (command, verdict.reason)


def test_an_exact_rule_still_covers_the_options_it_spells_out(workspace):
    policy = Policy((Rule.for_command("allow", "git log --oneline --graph", "exact"),))
    assert policy.check_command("git log --oneline --graph", root=workspace).action == "allow"


def test_a_prefix_rule_for_git_never_covers_global_options_aliases_or_unknown_subcommands(workspace):
    policy = policy_allowing("git")
    for command in ("git -c core.pager=sh log", "git --exec-path=/tmp status", "git lg", "git push", "git -p log"):
        assert policy.check_command(command, root=workspace).action == "ask", command
    assert policy.check_command("git status", root=workspace).action == "allow"


@pytest.mark.parametrize(
    ("command", "named"),
    [
        ("echo hi > a.txt", "> a.txt"),
        ("echo hi >> a.txt", ">> a.txt"),
        ("echo hi >| a.txt", ">| a.txt"),
        ("echo hi &> a.txt", "&> a.txt"),
        ("echo hi >&a.txt", "a.txt"),
        ("cat <> a.txt", "<> a.txt"),
        ("echo hi 3> a.txt", "a.txt"),
        ("echo hi 2> err.log", "err.log"),
        ("echo x > conftest.py && pytest -q", "conftest.py"),
        ("cat < /dev/fd/../../etc/passwd", "/dev/fd"),
    ],
)
def test_every_redirection_into_a_file_asks_and_names_it(command, named, workspace):
    verdict = policy_allowing("echo", "cat", "pytest").check_command(command, root=workspace)
    assert verdict.action == "ask" and named in verdict.reason, verdict.reason


def test_redirections_to_harmless_devices_and_descriptors_stay_allowed(workspace):
    policy = policy_allowing("echo", "cat")
    for command in ("echo hi >/dev/null", "echo hi 2>&1", "echo hi >&2", "cat a.txt 2>/dev/null", "cat < a.txt"):
        assert policy.check_command(command, root=workspace).action == "allow", command


@pytest.mark.parametrize(
    ("command", "named"),
    [
        ("cat $HOME/x", "$HOME"),
        ("cat ${PWD%/*}/x", "PWD"),
        ("cat $OLDPWD/secret", "OLDPWD"),
        ("cat ${x:-/etc/shadow}", "shadow"),
        ("cat ~/.ssh/id_rsa", "~"),
        ("cat .?/secret", "`..`"),
        ("cat .[.]/secret", "`..`"),
        ("cat .*/secret", "`..`"),
        ("cat {.,.}./secret", "`..`"),
        ("cat pw", "symlink"),
        ("grep -rn x pw", "symlink"),
        ("cat /proc/self/root/etc/passwd", "proc"),
        ("cat .s*/policy.toml", ".signoff"),
        ("echo -delete | xargs find .", "xargs"),
        ("echo --output=x | xargs git diff", "xargs"),
    ],
)
def test_words_whose_expansion_can_leave_the_workspace_ask_and_name_the_word(command, named, workspace):
    policy = policy_allowing("cat", "grep", "echo", "find", "git diff", "xargs")
    verdict = policy.check_command(command, root=workspace)
    assert verdict.action == "ask" and named in verdict.reason, verdict.reason


def test_globs_and_symlinks_that_stay_inside_the_workspace_are_allowed(workspace):
    policy = policy_allowing("cat", "ls")
    for command in ("cat *.txt", "ls src/*.py", "cat inner/a.py", "ls -la"):
        assert policy.check_command(command, root=workspace).action == "allow", command


def test_a_quoted_dollar_at_the_end_of_a_pattern_is_not_an_expansion(workspace):
    assert policy_allowing("grep").check_command("grep -n 'foo$' src", root=workspace).action == "allow"


def test_short_option_clusters_are_read_letter_by_letter():
    grep = spec_for(("grep",))
    assert grep is not None
    assert option_concern(grep, ("-rniA3", "x")) is None
    assert "`-R`" in (option_concern(grep, ("-rRn", "x")) or "")
    assert "not a known" in (option_concern(grep, ("-rQ", "x")) or "")
