"""The catalogue of read-only commands and their safe options, and the checks a rule's allow must pass on top.

Data plus pure checks: a prefix rule (`allow git log`) covers only the options listed here, never writing or
executing ones; redirections into files and words whose expansion can leave the workspace always ask. Reads the
file system only to resolve globs and symlinks at check time. No Qt here.
"""

from __future__ import annotations

import glob
import os
import posixpath
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

from app.domain.shell_parse import ParsedCommand, Redirect, SimpleCommand

_HARMLESS_TARGETS = ("/dev/null", "/dev/stdout", "/dev/stderr")
_GUARDED_DIRS = (".git", ".signoff")


@dataclass(frozen=True)
class CommandSpec:
    """One read-only command: the words that name it and the options it may take under a prefix rule."""

    name: tuple[str, ...]
    # Short options without a value, as one string of letters ("lah"); short options taking a value ("nABC").
    short: str = ""
    short_valued: str = ""
    long: frozenset[str] = frozenset()
    # Long options that take a value (`--opt=v` or `--opt v`) and ones that take one only with `=` (`--color=auto`).
    long_valued: frozenset[str] = frozenset()
    long_optional: frozenset[str] = frozenset()
    # Options that look like words (find's primaries): no value / one value.
    words: frozenset[str] = frozenset()
    words_valued: frozenset[str] = frozenset()
    # Whether operands (paths, revisions, patterns) may follow; the path checks still apply to them.
    operands: bool = True
    # Options known to write, execute or reach out, with why (for a clearer reason than "not a known option").
    forbidden: dict[str, str] = field(default_factory=dict)
    # Numeric short options like `head -20` / `git log -3`.
    numeric: bool = False
    # Every word is printed, never read as a file or an option that does something (echo, printf).
    any_words: bool = False

    @property
    def label(self) -> str:
        return " ".join(self.name)


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_GIT_LOG_LIKE = _set(
    "--oneline --graph --decorate --no-decorate --all --branches --tags --remotes --stat --shortstat --numstat "
    "--name-only --name-status --summary --patch --no-patch --follow --reverse --abbrev-commit --no-abbrev-commit "
    "--no-merges --merges --first-parent --full-history --date-order --topo-order --left-right --cherry-pick "
    "--no-color --no-ext-diff --no-textconv --raw --full-diff --ignore-all-space --ignore-space-change --source "
    "--parents --children --boundary --notes --no-notes --show-signature --relative-date --all-match "
    "--regexp-ignore-case "
    "--invert-grep --fixed-strings --extended-regexp --basic-regexp --perl-regexp --minimal --patience --histogram "
    "--word-diff --color-words --find-renames --find-copies --mailmap --no-mailmap --cc --combined-all-paths --root"
)
_GIT_LOG_VALUED = _set(
    "--max-count --skip --since --after --until --before --author --committer --grep --format --pretty --date "
    "--abbrev --unified --diff-filter --encoding --stat-width --min-parents --max-parents --decorate-refs "
    "--decorate-refs-exclude --exclude --glob --relative"
)
_GIT_LOG_OPTIONAL = _set(
    "--color --decorate --word-diff --abbrev --find-renames --find-copies --stat --relative --notes"
)
_GIT_FORBIDDEN = {
    "--output": "writes its output to a file",
    "--ext-diff": "runs an external diff program",
    "--textconv": "runs text-conversion programs",
    "--exec-path": "changes which git programs run",
    "-c": "sets configuration (which can run programs)",
    "-C": "runs git in another folder",
    "--git-dir": "points git at another repository",
    "--work-tree": "points git at another folder",
    "--paginate": "pages output through a pager program",
    "--config-env": "sets configuration (which can run programs)",
}
_GIT_DIFF_FLAGS = _set(
    "--stat --numstat --shortstat --name-only --name-status --cached --staged --patch --no-patch --no-color "
    "--no-ext-diff --no-textconv --check --summary --raw --minimal --patience --histogram --ignore-all-space "
    "--ignore-space-change --ignore-blank-lines --ignore-space-at-eol --no-index --exit-code --quiet --full-index "
    "--binary --no-renames --text --reverse --merge-base --dirstat --color-words --word-diff --find-renames"
)


def _git(sub: str, forbidden: dict[str, str] | None = None, **fields: Any) -> CommandSpec:
    return CommandSpec(("git", sub), forbidden={**_GIT_FORBIDDEN, **(forbidden or {})}, **fields)


_GREP_LONG = _set(
    "--extended-regexp --fixed-strings --basic-regexp --perl-regexp --ignore-case --no-ignore-case --word-regexp "
    "--line-regexp --invert-match --count --files-with-matches --files-without-match --only-matching --quiet --silent "
    "--no-messages --byte-offset --with-filename --no-filename --line-number --initial-tab --null --null-data "
    "--recursive --text --binary --line-buffered --no-line-number"
)

CATALOGUE: tuple[CommandSpec, ...] = (
    _git(
        "status",
        short="sbvuz",
        long=_set("--short --branch --long --verbose --ignored --show-stash --ahead-behind --no-ahead-behind --null"),
        long_optional=_set("--porcelain --untracked-files --ignored --column --no-column --ignore-submodules"),
    ),
    _git(
        "diff",
        short="puswbWRMBDaz",
        short_valued="U",
        long=_GIT_DIFF_FLAGS,
        long_valued=_set("--unified --diff-filter --relative --stat-width --inter-hunk-context --anchored"),
        long_optional=_set("--color --word-diff --stat --dirstat --relative --find-renames --submodule --abbrev"),
        numeric=True,
    ),
    _git(
        "log",
        short="psuwbz",
        short_valued="nSGLU",
        long=_GIT_LOG_LIKE,
        long_valued=_GIT_LOG_VALUED,
        long_optional=_GIT_LOG_OPTIONAL,
        numeric=True,
    ),
    _git(
        "show",
        short="psuwbz",
        short_valued="U",
        long=_GIT_LOG_LIKE,
        long_valued=_GIT_LOG_VALUED,
        long_optional=_GIT_LOG_OPTIONAL,
    ),
    _git(
        "branch",
        short="avr",
        long=_set("--all --verbose --remotes --list --show-current --no-color --no-column --ignore-case"),
        long_valued=_set("--contains --no-contains --merged --no-merged --sort --points-at --format"),
        long_optional=_set("--color --abbrev"),
        # A name after `git branch` creates a branch; listing takes none here.
        operands=False,
        forbidden={
            "-d": "deletes a branch",
            "-D": "deletes a branch",
            "-m": "renames a branch",
            "-c": "copies a branch",
        },
    ),
    _git(
        "rev-parse", long=_set("--show-toplevel --git-dir --is-inside-work-tree --short --verify --abbrev-ref --quiet")
    ),
    _git("ls-files", short="comdsz", long=_set("--cached --others --modified --deleted --stage --exclude-standard")),
    _git(
        "blame", short="lstwfn", short_valued="L", long=_set("--porcelain --line-porcelain --show-name --show-number")
    ),
    _git("shortlog", short="sne", long=_set("--summary --numbered --email --all"), long_valued=_set("--since --until")),
    _git("remote", short="v", long=_set("--verbose"), operands=False),
    _git("tag", short="ln", long=_set("--list"), long_valued=_set("--contains --sort --points-at"), operands=False),
    CommandSpec(
        ("grep",),
        short="EFGPiyvwxcLloqsbHhnTZzrUaI",
        short_valued="efmABCdD",
        long=_GREP_LONG,
        long_valued=_set(
            "--regexp --file --max-count --after-context --before-context --context --include --exclude "
            "--exclude-dir --binary-files --label --devices --directories"
        ),
        long_optional=_set("--color --colour"),
        numeric=True,
        forbidden={"-R": "follows symlinks out of the folder", "--dereference-recursive": "follows symlinks"},
    ),
    CommandSpec(
        ("rg",),
        short="iSswxvclnNHFoUu0IqPa",
        short_valued="gtTeABCmMjfE",
        long=_set(
            "--ignore-case --smart-case --case-sensitive --word-regexp --line-regexp --invert-match --count "
            "--files-with-matches --files-without-match --line-number --no-line-number --with-filename --no-filename "
            "--fixed-strings --only-matching --hidden --no-ignore --no-ignore-vcs --files --vimgrep --json --heading "
            "--no-heading --null --quiet --stats --multiline --trim --type-list --sort-files --text"
        ),
        long_valued=_set(
            "--glob --iglob --type --type-not --regexp --after-context --before-context --context --max-count "
            "--max-depth --max-columns --threads --sort --sortr --file --encoding --max-filesize"
        ),
        long_optional=_set("--color --colors"),
        forbidden={
            "--pre": "runs a program on every file",
            "-z": "runs decompression programs",
            "--search-zip": "runs decompression programs",
            "-L": "follows symlinks out of the folder",
            "--follow": "follows symlinks out of the folder",
        },
    ),
    CommandSpec(
        ("find",),
        words=_set(
            "-print -print0 -prune -o -or -a -and -not ! ( ) -true -false -depth -empty -readable -writable "
            "-executable -ls -quit -nouser -nogroup -xdev -mount -daystart -noleaf"
        ),
        words_valued=_set(
            "-name -iname -path -ipath -wholename -iwholename -type -xtype -maxdepth -mindepth -size -mtime -mmin "
            "-atime -amin -ctime -cmin -newer -perm -user -group -regex -iregex -regextype -printf -samefile -links "
            "-inum -uid -gid -used -fstype -lname -ilname"
        ),
        forbidden={
            "-exec": "runs a command on every file",
            "-execdir": "runs a command on every file",
            "-ok": "runs a command on every file",
            "-okdir": "runs a command on every file",
            "-delete": "deletes files",
            "-fprint": "writes a file",
            "-fprint0": "writes a file",
            "-fprintf": "writes a file",
            "-fls": "writes a file",
            "-L": "follows symlinks out of the folder",
            "-H": "follows symlinks out of the folder",
            "-follow": "follows symlinks out of the folder",
        },
    ),
    CommandSpec(
        ("sort",),
        short="bdfgiMhnRrVcCsuz",
        short_valued="ktS",
        long=_set(
            "--ignore-leading-blanks --dictionary-order --ignore-case --general-numeric-sort --ignore-nonprinting "
            "--month-sort --human-numeric-sort --numeric-sort --random-sort --reverse --version-sort --check --merge "
            "--stable --unique --zero-terminated"
        ),
        long_valued=_set("--key --field-separator --buffer-size --parallel --sort"),
        long_optional=_set("--check"),
        forbidden={
            "-o": "writes its output to a file",
            "--output": "writes its output to a file",
            "--compress-program": "runs a program",
            "-T": "writes temporary files in another folder",
            "--temporary-directory": "writes temporary files in another folder",
            "--files0-from": "reads file names from a file",
            "--random-source": "reads another file",
        },
    ),
    CommandSpec(
        ("ls",),
        short="aAlhR1dFtrSsinGpCxmgoUvXBLc",
        short_valued="Iw",
        long=_set(
            "--all --almost-all --human-readable --recursive --directory --classify --reverse --size --inode "
            "--numeric-uid-gid --no-group --literal --escape --dereference --group-directories-first --full-time"
        ),
        long_valued=_set("--ignore --hide --width --sort --time-style --format --block-size --time"),
        long_optional=_set("--color --colour --indicator-style --quoting-style --hyperlink --classify"),
    ),
    CommandSpec(
        ("cat",),
        short="AbeEnstTuv",
        long=_set("--show-all --number-nonblank --number --squeeze-blank --show-ends --show-tabs --show-nonprinting"),
    ),
    CommandSpec(
        ("head",),
        short="qvz",
        short_valued="nc",
        long=_set("--quiet --silent --verbose --zero-terminated"),
        long_valued=_set("--lines --bytes"),
        numeric=True,
    ),
    CommandSpec(
        ("tail",),
        short="qvz",
        short_valued="nc",
        long=_set("--quiet --silent --verbose --zero-terminated"),
        long_valued=_set("--lines --bytes"),
        numeric=True,
        forbidden={
            "-f": "keeps running until stopped",
            "-F": "keeps running until stopped",
            "--follow": "keeps running",
        },
    ),
    CommandSpec(
        ("wc",),
        short="clmwL",
        long=_set("--bytes --chars --lines --words --max-line-length"),
        forbidden={"--files0-from": "reads file names from a file"},
    ),
    CommandSpec(
        ("diff",),
        short="qsyiEZbwBaurNcTtpdl",
        short_valued="UCxW",
        long=_set(
            "--brief --report-identical-files --side-by-side --ignore-case --ignore-tab-expansion "
            "--ignore-trailing-space --ignore-space-change --ignore-all-space --ignore-blank-lines --text --recursive "
            "--new-file --unidirectional-new-file --initial-tab --expand-tabs --show-c-function --minimal "
            "--speed-large-files "
            "--strip-trailing-cr --suppress-common-lines --left-column"
        ),
        long_valued=_set("--label --exclude --width --tabsize --horizon-lines --ignore-matching-lines"),
        long_optional=_set("--unified --context --color --normal"),
        numeric=True,
        forbidden={"--from-file": "compares against another file", "--to-file": "compares against another file"},
    ),
    # echo prints its words; it reads nothing and takes only -n, -e, -E.
    CommandSpec(("echo",), any_words=True),
    CommandSpec(("printf",), any_words=True),
    CommandSpec(("pwd",), short="LP", operands=False),
    CommandSpec(("true",), operands=False),
    CommandSpec(("false",), operands=False),
)

_PYTEST = dict(
    short="qvxslh",
    short_valued="kmrn",
    long=_set(
        "--quiet --verbose --exitfirst --showlocals --lf --last-failed --ff --failed-first --nf --new-first --sw "
        "--stepwise --co --collect-only --no-header --no-summary --strict-markers --durations-min --runxfail "
        "--disable-warnings --cache-clear --setup-show --full-trace --version"
    ),
    long_valued=_set("--maxfail --tb --durations --deselect --color --capture --import-mode --count -W"),
    numeric=False,
    forbidden={
        "-p": "loads a plugin module (only -p no:NAME is read-only)",
        "--basetemp": "writes (and empties) the folder it names",
        "--junitxml": "writes a report file",
        "--junit-xml": "writes a report file",
        "--result-log": "writes a report file",
        "-o": "overrides configuration",
        "--override-ini": "overrides configuration",
        "-c": "reads another configuration file",
        "--config-file": "reads another configuration file",
        "--rootdir": "moves the root folder",
        "--confcutdir": "changes which conftest.py files load",
        "--pyargs": "imports installed packages by name",
        "--debug": "writes a log file",
        "--log-file": "writes a log file",
        "--pdb": "waits for a debugger",
        "--trace": "waits for a debugger",
    },
)
CATALOGUE += (
    CommandSpec(("pytest",), **_PYTEST),  # type: ignore[arg-type]
    CommandSpec(("python", "-m", "pytest"), **_PYTEST),  # type: ignore[arg-type]
    CommandSpec(("python3", "-m", "pytest"), **_PYTEST),  # type: ignore[arg-type]
    CommandSpec(("npm", "test"), long=_set("--silent --quiet"), operands=False),
    CommandSpec(("npm", "run", "test"), long=_set("--silent --quiet"), operands=False),
)

# Programs the catalogue knows whole: a prefix rule covers only their catalogued forms (`allow git` is not `git push`).
# npm and python are known only in their test-running forms; other uses of them keep plain prefix rules.
CATALOGUED_PROGRAMS = frozenset(spec.name[0] for spec in CATALOGUE if spec.name[0] not in ("npm", "python", "python3"))


def spec_for(argv: tuple[str, ...]) -> CommandSpec | None:
    """The catalogue entry that describes this command line, the longest name first."""
    if not argv:
        return None
    name = (posixpath.basename(argv[0]),) + argv[1:]
    best: CommandSpec | None = None
    for spec in CATALOGUE:
        if name[: len(spec.name)] == spec.name and (best is None or len(spec.name) > len(best.name)):
            best = spec
    return best


def _forbidden_reason(spec: CommandSpec, option: str) -> str | None:
    key = option.split("=", 1)[0]
    if key in spec.forbidden:
        return f"`{option}` {spec.forbidden[key]}"
    return None


def option_concern(spec: CommandSpec, args: tuple[str, ...]) -> str | None:
    """Why ``args`` (what follows the command's name) are not all read-only options of ``spec``; None if they are."""
    if spec.any_words:
        return None
    index = 0
    operands_only = False
    while index < len(args):
        arg = args[index]
        index += 1
        if operands_only or arg == "-" or not arg.startswith("-") and arg not in spec.words | spec.words_valued:
            if arg not in spec.words and not spec.operands:
                return f"`{spec.label}` takes no operands under a rule (`{arg}`)"
            continue
        if arg == "--":
            operands_only = True
            continue
        if spec.label.endswith("pytest") and (arg == "-p" and args[index : index + 1] or arg.startswith("-pno:")):
            # `-p no:NAME` only turns a plugin off; any other -p loads code by module name.
            value = arg[2:] if arg != "-p" else args[index]
            if value.startswith("no:"):
                index += 0 if arg != "-p" else 1
                continue
        why = _forbidden_reason(spec, arg)
        if why:
            return why
        if arg in spec.words:
            continue
        if arg in spec.words_valued:
            index += 1
            continue
        if arg.startswith("--"):
            used = _long_option(spec, arg)
            if used is None:
                return f"`{arg}` is not a known read-only option of `{spec.label}`"
            index += used
            continue
        skip = _short_cluster(spec, arg)
        if skip is None:
            return f"`{arg}` is not a known read-only option of `{spec.label}`"
        if skip == "forbidden":
            return _forbidden_reason(spec, "-" + next(c for c in arg[1:] if "-" + c in spec.forbidden)) or arg
        index += int(skip)
    return None


def _long_option(spec: CommandSpec, arg: str) -> int | None:
    """How many following words a long option uses (its value), or None when it is not a known read-only option."""
    key, has_value, _ = arg.partition("=")
    if key in spec.long and not has_value:
        return 0
    if key in spec.long_optional and (has_value or key not in spec.long_valued):
        return 0
    if key in spec.long_valued:
        return 0 if has_value else 1
    return None


def _short_cluster(spec: CommandSpec, arg: str) -> int | str | None:
    """How many following words a cluster like ``-rn`` / ``-n5`` / ``-A 3`` uses; None if it has an unknown option."""
    body = arg[1:]
    if spec.numeric and body.isdigit():
        return 0
    for position, char in enumerate(body):
        if "-" + char in spec.forbidden:
            return "forbidden"
        if char in spec.short_valued:
            return 0 if position + 1 < len(body) else 1
        if char not in spec.short:
            return None
    return 0


# -- the checks every allow passes -------------------------------------------------------------------------------------


def redirect_concern(redirect: Redirect) -> str | None:
    """Why a redirection cannot run unasked: every form that writes a file, and reads through /dev/fd or /proc."""
    target = redirect.target
    if target is None:
        return f"the redirection `{redirect.operator}` goes to a file only known when it runs"
    if redirect.writes:
        if target in _HARMLESS_TARGETS:
            return None
        return f"the redirection `{redirect.operator} {target}` writes a file"
    if target.startswith(("/dev/fd/", "/proc/", "/dev/stdin")) and not _plain_fd(target):
        return f"the redirection `{redirect.operator} {target}` reads through {target.split('/')[1]}/"
    return None


def _plain_fd(target: str) -> bool:
    rest = target.removeprefix("/dev/fd/")
    return rest != target and rest.isdigit()


def word_concerns(item: SimpleCommand, folders: list[Path], root: Path) -> str | None:
    """Why a word of ``item`` may lead outside the workspace when it runs: expansions, globs reaching `..`, /proc,
    /dev/fd, symlinks that resolve outside (checked now), and globs that match into .git/ or .signoff/."""
    words = item.words
    for position, word in enumerate(words):
        if position == len(item.assignments):
            continue  # the command's name: rules match it as written
        if position in item.dynamic_words or (item.via is not None and ("$" in word or word.startswith("~"))):
            return f"`{word}` is only known when it runs (it expands a variable, ~ or a command)"
        for candidate in _candidates(word):
            if candidate.startswith(("/proc", "/dev/fd")) or "/dev/fd/" in candidate:
                return f"`{word}` reaches through {candidate.split('/')[1]}/"
            globbed = position in item.globbed_words or (item.via is not None and set("*?[") & set(candidate))
            if globbed:
                why = _glob_concern(candidate, folders, root)
                if why:
                    return f"`{word}` {why}"
            elif not candidate.startswith("-"):
                why = _symlink_concern(candidate, folders, root)
                if why:
                    return f"`{word}` {why}"
    return None


def _candidates(word: str) -> list[str]:
    found = [word]
    if word.startswith("-") and "=" in word:
        found.append(word.split("=", 1)[1])
    return found


def _glob_concern(pattern: str, folders: list[Path], root: Path) -> str | None:
    if "{" in pattern and "," in pattern and "." in pattern:
        return "is a brace expansion that can spell `..`"
    for part in PurePosixPath(pattern).parts:
        # The shell never lets * or ? match a leading dot; anything else that can spell `..` can climb out.
        if part not in ("..", ".") and not part.startswith(("*", "?")) and fnmatchcase("..", part):
            return "is a glob that can match `..`"
    for folder in folders:
        base = str(folder) if not pattern.startswith("/") else ""
        for match in glob.glob(pattern, root_dir=base or None, include_hidden=False)[:10_000]:
            target = Path(os.path.realpath(os.path.join(base or "/", match)))
            where = _where(target, root)
            if where:
                return f"matches {match}, {where}"
    return None


def _symlink_concern(name: str, folders: list[Path], root: Path) -> str | None:
    for folder in folders:
        path = Path(name) if name.startswith("/") else folder / name
        if not os.path.lexists(path):
            continue
        target = Path(os.path.realpath(path))
        where = _where(target, root)
        if where and Path(os.path.abspath(path)) != target:
            return f"resolves through a symlink to {target}, {where}"
    return None


def _where(target: Path, root: Path) -> str | None:
    if target != root and root not in target.parents:
        return "outside the workspace"
    if target != root and target.relative_to(root).parts[0] in _GUARDED_DIRS:
        return f"inside {target.relative_to(root).parts[0]}/"
    return None


# find's tests whose value is a name pattern, never opened: `find . -path ./.git -prune` reads nothing in .git/.
_FIND_PATTERN_TESTS = frozenset(
    {"-path", "-ipath", "-wholename", "-iwholename", "-name", "-iname", "-regex", "-iregex"}
)


def path_words(item: SimpleCommand) -> list[str]:
    """The words of ``item`` that may name files: its arguments and assignments, less find's name patterns."""
    words = list(item.argv[1:])
    if item.argv and posixpath.basename(item.argv[0]) == "find":
        words = [w for i, w in enumerate(words) if i == 0 or words[i - 1] not in _FIND_PATTERN_TESTS]
    return words + list(item.assignments)


def folders_seen(parsed: ParsedCommand, cwd: str, root: Path) -> list[Path]:
    """Every folder the command may run in: where it starts and each literal `cd` target, in text order."""
    current = (root / cwd).resolve(strict=False)
    folders = [current]
    for directory in parsed.directories:
        current = (current / directory).resolve(strict=False)
        folders.append(current)
    return folders


# git subcommands that write only .git/ and the workspace: a rule that grants .git writes may allow them by prefix (they
# run sandboxed, .git writable, every other change captured); options before the subcommand still ask.
GIT_WRITE_SUBCOMMANDS = frozenset(
    {"add", "commit", "tag", "branch", "stash", "checkout", "switch", "restore", "reset", "merge", "mv", "rm", "notes"}
)


def allow_concern(
    parsed: ParsedCommand,
    item: SimpleCommand,
    exact: bool,
    folders: list[Path],
    root: Path,
    *,
    git_writes: bool = False,
) -> str | None:
    """Why an allow rule that matched ``item`` does not cover it; None when it does. ``exact`` rules name every word,
    so only the file-system checks apply to them; prefix and glob rules also need catalogued, read-only options, or,
    for a rule granting .git writes, a git subcommand of GIT_WRITE_SUBCOMMANDS."""
    granted_git_write = (
        git_writes
        and len(item.argv) > 1
        and posixpath.basename(item.argv[0]) == "git"
        and item.argv[1] in GIT_WRITE_SUBCOMMANDS
        and item.via is None
    )
    if not exact and not granted_git_write:
        program = posixpath.basename(item.argv[0]) if item.argv else ""
        if program == "xargs":
            return "`xargs` runs a command with arguments only known when it runs"
        if item.via is not None and item.via.startswith(("xargs", "find -exec", "find -ok")):
            return f"`{item.text}` runs with arguments only known when it runs ({item.via})"
        spec = spec_for(item.argv)
        if spec is None and program in CATALOGUED_PROGRAMS:
            return f"`{item.text}` is not a read-only form the catalogue knows for {program}"
        if spec is not None:
            why = option_concern(spec, item.argv[len(spec.name) :])
            if why:
                return why
            if spec.name[0] == "git" and len(item.argv) > 1 and item.argv[1].startswith("-"):
                return "git options before the subcommand change what git does"
    return word_concerns(item, folders, root)


# Programs that write no file whatever their (catalogued) options: a command line made only of these, with no
# redirection that writes, runs on a read-only view of the workspace, with nothing to capture (cheaper to start).
# A wrong guess here costs only a "Read-only file system" error, never an unreviewed change.
_NEVER_WRITE = frozenset(
    {"true", "false", ":", "echo", "printf", "pwd", "test", "[", "cd", "ls", "cat", "head", "tail", "wc", "grep", "rg"}
    | {"diff", "sort", "find", "git"}
)


def cannot_write(parsed: ParsedCommand) -> bool:
    """Whether every part of a parsed command line is a program of _NEVER_WRITE in a read-only catalogued form."""
    if parsed.problems or not parsed.commands:
        return False
    for redirect in parsed.redirects:
        if redirect.target is None or (redirect.writes and redirect.target not in _HARMLESS_TARGETS):
            return False
    for item in parsed.commands:
        if item.dynamic_name or item.assignments or not item.argv or item.via is not None or "/" in item.argv[0]:
            return False
        program = item.argv[0]
        if program not in _NEVER_WRITE:
            return False
        if program in CATALOGUED_PROGRAMS:
            spec = spec_for(item.argv)
            if spec is None or option_concern(spec, item.argv[len(spec.name) :]) is not None:
                return False
    return True
