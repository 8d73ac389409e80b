"""Per-workspace rules (allow / ask / deny) for proposed edits and commands, their file's text, and offers to add rules.

Rules live in ``.signoff/policy.toml`` under the workspace. This decides; it never reads or writes files, records or
applies anything (app.services.policy_file does the file), and whatever it cannot be sure of is "ask". No Qt here.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, cast

from app.domain.judgments import CRITIC_REVIEWER
from app.domain.path_glob import path_glob_regex

if TYPE_CHECKING:
    import tomlkit
    import tomlkit.items

    from app.domain.shell_parse import ParsedCommand, SimpleCommand


def parse_command(command: str) -> ParsedCommand:
    # bashlex builds its parser tables on import (a few hundred ms): only commands pay it, never a file check (the
    # Claude Code hook answers file edits on the agent's critical path).
    from app.domain.shell_parse import parse_command as parse

    return parse(command)


POLICY_FILE = ".signoff/policy.toml"
ACTIONS = ("allow", "ask", "deny")
# 'file' is either: a change to an existing file ('edit') or a new one ('create').
# 'delegate' matches the role a sub-agent would get (issue 15); with no delegate rule, delegating is allowed: the
# sub-agent's own edits and commands are still reviewed one by one.
KINDS = ("command", "edit", "create", "file", "delegate")
MATCHES = ("prefix", "exact", "glob")
# Which of a sandboxed command's effects a person reviews (top-level `review_effects` in the file): every one, those
# outside what its rule or approval granted (the default), or none (applied unseen; the window and CLI warn).
REVIEW_EFFECTS = ("always", "outside", "never")
DEFAULT_REVIEW_EFFECTS = "outside"
SUGGEST_AFTER = 5
# What a decision made by a rule is stored with (the reviewer is "policy:<rule>" for approvals).
POLICY_CHANNEL = "policy"
POLICY_REVIEWER = "policy"
_REVIEWER_MAX = 200
_GLOB_CHARS = set("*?[")
# Folders whose changes steer Signoff or git themselves: never allowed by a rule, at most asked.
_GUARDED_DIRS = (".signoff", ".git")
_HARMLESS_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty")


class PolicyError(Exception):
    """The policy file cannot be used as written; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Rule:
    action: str
    kind: str
    pattern: str
    # Commands only: 'prefix' (the command's first words), 'exact' (all of its words) or 'glob' (over its words).
    match: str = "prefix"
    note: str = ""
    # Commands only: what a command this rule allows may do beyond writing the workspace's own files.
    git_writes: bool = False
    network: bool = False

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise PolicyError(f"Unknown action {self.action!r}; use allow, ask or deny.")
        if self.kind not in KINDS:
            raise PolicyError(f"Unknown kind {self.kind!r}; use command, edit, create, file or delegate.")
        if not isinstance(self.pattern, str) or not self.pattern.strip():
            raise PolicyError("A rule needs a non-empty pattern.")
        if self.match not in MATCHES:
            raise PolicyError(f"Unknown match {self.match!r}; use prefix, exact or glob.")
        if (self.git_writes or self.network) and (self.kind != "command" or self.action != "allow"):
            raise PolicyError("Only an allow rule for commands can grant .git writes or network.")
        if self.kind == "command" and self.match != "glob":
            try:
                if not shlex.split(self.pattern):
                    raise ValueError("no words")
            except ValueError as err:
                raise PolicyError(f"The command pattern {self.pattern!r} cannot be split into words ({err}).") from None

    @classmethod
    def for_command(
        cls,
        action: str,
        pattern: str,
        match: str | None = None,
        note: str = "",
        *,
        git_writes: bool = False,
        network: bool = False,
    ) -> Rule:
        if match is None:
            match = "glob" if _GLOB_CHARS & set(pattern) else "prefix"
        return cls(action, "command", pattern, match, note, git_writes, network)

    @property
    def grants(self) -> tuple[str, ...]:
        """What the rule grants, in words: '.git writes', 'network'."""
        return tuple(name for name, on in ((".git writes", self.git_writes), ("network", self.network)) if on)

    @property
    def label(self) -> str:
        if self.kind == "command":
            how = {"prefix": "", "exact": " (exactly)", "glob": " (glob)"}[self.match]
            granted = f" with {' and '.join(self.grants)}" if self.grants else ""
            return f"{self.action} command `{self.pattern}`{how}{granted}"
        if self.kind == "delegate":
            return f"{self.action} delegating to `{self.pattern}`"
        what = {"edit": "edits of", "create": "new files", "file": "changes to"}[self.kind]
        return f"{self.action} {what} `{self.pattern}`"

    def matches_words(self, words: tuple[str, ...]) -> bool:
        if not words:
            return False
        if self.match == "glob":
            return fnmatchcase(" ".join(words), self.pattern)
        tokens = tuple(shlex.split(self.pattern))
        if self.match == "exact":
            return words == tokens
        return words[: len(tokens)] == tokens

    def matches_path(self, kind: str, path: str) -> bool:
        if self.kind in ("command", "delegate") or (self.kind != "file" and self.kind != kind):
            return False
        return path_glob_regex(self.pattern).match(path) is not None


@dataclass(frozen=True)
class Verdict:
    action: str  # allow | ask | deny
    reason: str
    rules: tuple[Rule, ...] = ()

    @property
    def git_writes(self) -> bool:
        """An allowed command may write .git only when every rule that allowed a part of it grants that (the grant
        covers the whole sandbox the command line runs in)."""
        return self.action == "allow" and bool(self.rules) and all(rule.git_writes for rule in self.rules)

    @property
    def network(self) -> bool:
        return self.action == "allow" and bool(self.rules) and all(rule.network for rule in self.rules)

    @property
    def reviewer(self) -> str:
        """How a decision made by this verdict names its reviewer: 'policy' or 'policy:<rule>'."""
        if not self.rules:
            return POLICY_REVIEWER
        text = f"{POLICY_REVIEWER}:" + "; ".join(dict.fromkeys(rule.label for rule in self.rules))
        return text if len(text) <= _REVIEWER_MAX else text[: _REVIEWER_MAX - 1] + "…"


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = ()
    review_effects: str = DEFAULT_REVIEW_EFFECTS

    # -- files ---------------------------------------------------------------------------------------------------------

    def check_file(self, kind: str, path: str) -> Verdict:
        """A proposed create or edit of ``path`` (workspace-relative, '/'-separated)."""
        parts = PurePosixPath(path).parts
        if parts and parts[0] in _GUARDED_DIRS:
            return Verdict("ask", f"{path} is inside {parts[0]}/, which no rule may allow; a person decides.")
        for rule in self.rules:
            if rule.matches_path(kind, path):
                return Verdict(rule.action, f"{path} matches the rule: {rule.label}.", (rule,))
        return Verdict("ask", "No rule matches; edits ask by default.")

    # -- commands ------------------------------------------------------------------------------------------------------

    def check_command(self, command: str, cwd: str = ".", *, root: str | os.PathLike[str]) -> Verdict:
        """A proposed command line run by /bin/sh in ``cwd`` (workspace-relative): every part must be allowed."""
        # Imported here, with the shell parser: a file check (the hook's most common call) needs neither.
        from app.domain.command_catalogue import allow_concern, folders_seen, redirect_concern

        parsed = parse_command(command)
        root_path = Path(root).resolve()
        items = [c for c in parsed.commands if not _is_plain_cd(c)]

        # A deny anywhere wins, even where other parts could not be understood.
        for item in items:
            for deny in self.rules:
                if deny.kind == "command" and deny.action == "deny" and _rule_catches(deny, item):
                    return Verdict("deny", f"`{_shown(item)}` is denied by the rule: {deny.label}.", (deny,))

        if parsed.problems:
            return Verdict(
                "ask", "Signoff cannot tell from the text what this runs: " + "; ".join(parsed.problems) + "."
            )
        if not items:
            return Verdict("ask", "The command runs nothing a rule could allow.")
        outside = _outside_reasons(parsed, items, cwd, root_path)
        if outside:
            return Verdict("ask", outside[0])

        used: list[Rule] = []
        folders = folders_seen(parsed, cwd, root_path)
        for item in items:
            if item.dynamic_name:
                return Verdict("ask", f"`{_shown(item)}` runs a program only known when it runs.")
            rule = self._first_command_rule(item)
            if rule is None:
                return Verdict("ask", f"No rule allows `{_shown(item)}`; commands ask by default.")
            if rule.action == "ask":
                return Verdict("ask", f"`{_shown(item)}` matches the rule: {rule.label}.", (rule,))
            if rule.action == "deny":  # pragma: no cover - denies were handled above
                return Verdict("deny", f"`{_shown(item)}` is denied by the rule: {rule.label}.", (rule,))
            # The catalogue (command_catalogue.py) knows what options and words do; a rule's words do not.
            concern = allow_concern(parsed, item, rule.match == "exact", folders, root_path, git_writes=rule.git_writes)
            if concern:
                return Verdict("ask", f"`{_shown(item)}` matches the rule: {rule.label}, but {concern}.", (rule,))
            used.append(rule)
        for redirect in parsed.redirects:
            concern = redirect_concern(redirect)
            if concern:
                return Verdict("ask", f"Every command is allowed, but {concern}; a person decides.", tuple(used))
        labels = ", ".join(dict.fromkeys(rule.label for rule in used))
        return Verdict("allow", f"Every part is allowed ({labels}).", tuple(dict.fromkeys(used)))

    def _first_command_rule(self, item: SimpleCommand) -> Rule | None:
        for rule in self.rules:
            if rule.kind == "command" and _rule_catches(rule, item):
                return rule
        return None

    # -- delegation ---------------------------------------------------------------------------------------------------

    def check_delegate(self, role: str) -> Verdict:
        """Handing a step to a sub-agent with ``role``: the first delegate rule whose pattern matches the role decides;
        without one it is allowed."""
        for rule in self.rules:
            if rule.kind == "delegate" and fnmatchcase(role, rule.pattern):
                return Verdict(rule.action, f"Delegating to a {role} matches the rule: {rule.label}.", (rule,))
        return Verdict("allow", "No delegate rule matches; delegating is allowed by default.")

    # -- proposals -----------------------------------------------------------------------------------------------------

    def check(self, proposal: Any, root: str | os.PathLike[str]) -> Verdict:
        """A stored proposal (anything with kind, path, command, cwd)."""
        if proposal.kind == "command":
            return self.check_command(proposal.command or "", proposal.cwd or ".", root=root)
        return self.check_file(proposal.kind, proposal.path or "")

    def with_rules(self, rules: Iterable[Rule]) -> Policy:
        """This policy with ``rules`` added at the end (ones already present are not repeated)."""
        existing = list(self.rules)
        for rule in rules:
            if not any(_same_rule(rule, old) for old in existing):
                existing.append(rule)
        return Policy(tuple(existing), self.review_effects)


def _same_rule(a: Rule, b: Rule) -> bool:
    return (a.action, a.kind, a.pattern, a.match, a.git_writes, a.network) == (
        b.action,
        b.kind,
        b.pattern,
        b.match,
        b.git_writes,
        b.network,
    )


def _rule_catches(rule: Rule, item: SimpleCommand) -> bool:
    """Allow rules must match every word, NAME=value prefixes included (they change what runs). Ask and deny rules
    also catch the bare command and the program's base name, so `FOO=1 /bin/rm` cannot slip past `deny rm`."""
    if rule.matches_words(item.words):
        return True
    if rule.action == "allow":
        return False
    if rule.matches_words(item.argv):
        return True
    if item.argv and "/" in item.argv[0]:
        return rule.matches_words((posixpath.basename(item.argv[0]),) + item.argv[1:])
    return False


def _is_plain_cd(item: SimpleCommand) -> bool:
    # A literal `cd` changes nothing itself; where it leads is checked in _outside_reasons.
    return not item.assignments and bool(item.argv) and item.argv[0] in ("cd", "pushd") and not item.dynamic_name


def _shown(item: SimpleCommand) -> str:
    text = item.text
    return text if len(text) <= 120 else text[:119] + "…"


def _resolve_under(base: Path, name: str) -> Path:
    return (base / name).resolve(strict=False) if not name.startswith("/") else Path(name).resolve(strict=False)


def _inside(root: Path, target: Path) -> bool:
    return target == root or root in target.parents


def _guarded(root: Path, target: Path) -> str | None:
    if not _inside(root, target) or target == root:
        return None
    first = target.relative_to(root).parts[0]
    return first if first in _GUARDED_DIRS else None


def _outside_reasons(parsed: ParsedCommand, items: list[SimpleCommand], cwd: str, root: Path) -> list[str]:
    """Why the command reaches outside the workspace (or into .git/, .signoff/), judged from every folder it may be
    in."""
    folders, reason = _folders_seen(parsed, cwd, root)
    if reason is not None:
        return [reason]
    # Subshells and functions make text order unreliable, so a relative name must be safe from every folder seen.
    return _redirect_reasons(parsed, folders, root) + _word_reasons(items, folders, root)


def _folders_seen(parsed: ParsedCommand, cwd: str, root: Path) -> tuple[list[Path], str | None]:
    """Every folder the command may run in (``cwd`` and each one it changes into), or why it may not run there."""
    start = _resolve_under(root, cwd)
    folders = [start]
    current = start
    for directory in parsed.directories:
        current = _resolve_under(current, directory)
        if not _inside(root, current):
            return folders, f"It changes into {directory}, outside the workspace."
        folders.append(current)
    for folder in folders:
        guarded = _guarded(root, folder)
        if guarded:
            return folders, f"It runs inside {guarded}/, where no rule may allow changes."
    return folders, None


def _redirect_reasons(parsed: ParsedCommand, folders: list[Path], root: Path) -> list[str]:
    reasons: list[str] = []
    for redirect in parsed.redirects:
        if redirect.target is None:
            reasons.append("It redirects to a file only known when it runs.")
            continue
        if redirect.target in _HARMLESS_DEVICES or redirect.target.startswith("/dev/fd/"):
            continue
        for folder in folders:
            target = _resolve_under(folder, redirect.target)
            if not _inside(root, target):
                verb = "writes" if redirect.writes else "reads"
                reasons.append(f"It {verb} {redirect.target}, outside the workspace.")
                break
            guarded = _guarded(root, target)
            if guarded and redirect.writes:
                reasons.append(f"It writes into {guarded}/ ({redirect.target}).")
                break
    return reasons


def _word_reasons(items: list[SimpleCommand], folders: list[Path], root: Path) -> list[str]:
    from app.domain.command_catalogue import path_words

    reasons: list[str] = []
    for item in items:
        for word in path_words(item):
            for candidate in _path_candidates(word):
                reason = _candidate_reason(item, candidate, folders, root)
                if reason is None:
                    continue
                reasons.append(reason)
                if candidate.startswith("~"):
                    # A home-folder name ends the word's candidates; an outside or guarded path does not.
                    break
    return reasons


def _candidate_reason(item: SimpleCommand, candidate: str, folders: list[Path], root: Path) -> str | None:
    """Why a path-like word of ``item`` reaches outside the workspace (or into a guarded folder), if it does."""
    if candidate in _HARMLESS_DEVICES:
        return None
    if candidate.startswith("~"):
        return f"`{_shown(item)}` names {candidate}, in the home folder outside the workspace."
    if not (
        candidate.startswith("/")
        or ".." in PurePosixPath(candidate).parts
        or any(part in _GUARDED_DIRS for part in PurePosixPath(candidate).parts)
    ):
        return None
    for folder in folders:
        target = _resolve_under(folder, candidate)
        if not _inside(root, target):
            return f"`{_shown(item)}` names {candidate}, outside the workspace."
        guarded = _guarded(root, target)
        if guarded and not (item.argv[0] == "git" and guarded == ".git"):
            return f"`{_shown(item)}` names {candidate}, inside {guarded}/."
    return None


# Options whose value is a name pattern, not a path: `grep -r --exclude-dir=.git` reads nothing in .git/.
_PATTERN_OPTIONS = ("--exclude-dir=", "--exclude=", "--include=", "--glob=", "--iglob=")


def _path_candidates(word: str) -> list[str]:
    if word.startswith(_PATTERN_OPTIONS) and "/" not in word:
        return []
    candidates = [word]
    if "=" in word:
        candidates.append(word.split("=", 1)[1])
    if ":" in word and not word.startswith(("http:", "https:")):
        candidates.extend(part for part in word.split(":") if part.startswith(("/", "~")))
    return [c for c in candidates if c]


# -- path globs --------------------------------------------------------------------------------------------------------


def escape_path_glob(path: str) -> str:
    """A glob matching exactly ``path`` (anchored at the root)."""
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in path)
    return "/" + escaped


# -- the file's text ---------------------------------------------------------------------------------------------------
# Reading and writing the file (the lock, the backup, the atomic rename) is app.services.policy_file's job: these
# functions only turn text into rules and rules into text, keeping every comment the person wrote.

_HEADER = """\
# Signoff policy for this workspace: which proposed changes need a person.
# Rules are checked from the top; the first rule that matches decides.
#   action  allow | ask | deny
#   kind    command | edit (existing files) | create (new files) | file (either)
#   pattern commands: the command's first words ("pytest -q"), all of them (match = "exact"),
#           or a glob over them (match = "glob", e.g. "npm run *");
#           files: a path glob from the workspace root ("src/**/*.py", "docs/", "*.md").
#   git_writes = true / network = true  (allow command rules only) let the sandboxed command write .git/ (for
#           `git commit`) or reach the network; without them .git/ is read-only and there is no network.
# review_effects (top level): which files a command changed a person reviews as a diff before they land:
#   "always", "outside" what its rule or approval granted (the default), or "never" (applied unseen).
# Every part of a command line (a && b, a; b, pipes, $(...), bash -c '...') must be allowed for it to run unasked.
# Without a matching rule: reads run, edits and commands ask. Paths outside the workspace are always refused.

"""
_TOP_KEYS = ("version", "review_effects", "rule")
_RULE_KEYS = ("action", "kind", "pattern", "match", "note", "git_writes", "network")
_FLAG_KEYS = ("git_writes", "network")
# A table header or a key at the start of a line; good enough to point a person at the line they wrote.
_HEADER_LINE = re.compile(r"^\s*(\[\[?)\s*([^\]]*?)\s*\]\]?")
_KEY_LINE = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.-]+)\s*=")


def policy_path(root: str | os.PathLike[str]) -> Path:
    return Path(root) / POLICY_FILE


def _toml_string(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\x7f", "\\u007f")


def _rule_lines(rule: Rule) -> list[str]:
    lines = [
        "[[rule]]",
        f"action = {_toml_string(rule.action)}",
        f"kind = {_toml_string(rule.kind)}",
        f"pattern = {_toml_string(rule.pattern)}",
    ]
    if rule.kind == "command":
        lines.append(f"match = {_toml_string(rule.match)}")
    if rule.note:
        lines.append(f"note = {_toml_string(rule.note)}")
    lines += [f"{name} = true" for name in _FLAG_KEYS if getattr(rule, name)]
    return lines


def rule_text(rule: Rule) -> str:
    """The rule exactly as it is written into the policy file (a ``[[rule]]`` table)."""
    return "\n".join(_rule_lines(rule)) + "\n"


def dumps(policy: Policy) -> str:
    """A fresh policy file (with the explanatory header) holding ``policy``'s rules."""
    lines = [_HEADER.rstrip("\n"), "", "version = 1"]
    if policy.review_effects != DEFAULT_REVIEW_EFFECTS:
        lines.append(f"review_effects = {_toml_string(policy.review_effects)}")
    for rule in policy.rules:
        lines += ["", *_rule_lines(rule)]
    return "\n".join(lines) + "\n"


@dataclass
class _Lines:
    """Where each table and key was written (1-based line numbers), for messages."""

    tables: dict[str, int] = field(default_factory=dict)
    # (table name or "" for the top, index of the [[table]] occurrence, key) -> line
    keys: dict[tuple[str, int, str], int] = field(default_factory=dict)


def _locate(text: str) -> _Lines:
    found = _Lines()
    table, occurrence = "", 0
    seen: dict[str, int] = defaultdict(int)
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER_LINE.match(line)
        if header and not _KEY_LINE.match(line):
            table = header.group(2).strip().strip("\"'")
            occurrence = seen[table]
            seen[table] += 1
            found.tables.setdefault(table, number)
            continue
        key = _KEY_LINE.match(line)
        if key:
            name = key.group(1).strip("\"'")
            found.keys.setdefault((table, occurrence, name.split(".")[0]), number)
    return found


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    if not close and name.rstrip("s") in choices:
        close = [name.rstrip("s")]
    return f"; did you mean {close[0]!r}?" if close else "."


def _unknown_top(data: dict[str, Any], lines: _Lines, source: str) -> PolicyError | None:
    for name in data:
        if name in _TOP_KEYS:
            continue
        if isinstance(data[name], (dict, list)) and name in lines.tables:
            brackets = "[[{}]]" if isinstance(data[name], list) else "[{}]"
            hint = _did_you_mean(name, ["rule"])
            hint = hint.replace("'rule'", "[[rule]]")
            return PolicyError(
                f"{source}, line {lines.tables[name]}: unknown table {brackets.format(name)}{hint} "
                "Signoff reads only `version`, `review_effects` and [[rule]] tables, and changes nothing until this "
                "is fixed."
            )
        line = lines.keys.get(("", 0, name))
        where = f", line {line}" if line else ""
        return PolicyError(
            f"{source}{where}: unknown key {name!r}{_did_you_mean(name, _TOP_KEYS)} "
            "Signoff reads only `version`, `review_effects` and [[rule]] tables, and changes nothing until this is "
            "fixed."
        )
    return None


def loads(text: str, *, source: str = "policy") -> Policy:
    """The rules in a policy file's text; anything Signoff would not use as written is a PolicyError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"{source} is not valid TOML: {err}.") from None
    lines = _locate(text)
    unknown = _unknown_top(data, lines, source)
    if unknown is not None:
        raise unknown
    version = data.get("version", 1)
    if version != 1:
        raise PolicyError(f"{source} has version {version!r}; this Signoff reads version 1.")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        line = lines.tables.get("rule") or lines.keys.get(("", 0, "rule"))
        where = f", line {line}" if line else ""
        raise PolicyError(f"{source}{where}: rules are written as [[rule]] tables.")
    rules: list[Rule] = []
    for number, raw in enumerate(raw_rules, start=1):
        rules.append(_rule_from_table(raw, number, lines, source))
    review = data.get("review_effects", DEFAULT_REVIEW_EFFECTS)
    if review not in REVIEW_EFFECTS:
        line = lines.keys.get(("", 0, "review_effects"))
        where = f", line {line}" if line else ""
        raise PolicyError(
            f"{source}{where}: review_effects must be one of {', '.join(repr(c) for c in REVIEW_EFFECTS)}, "
            f"not {review!r}."
        )
    return Policy(tuple(rules), review)


def _rule_from_table(raw: Any, number: int, lines: _Lines, source: str) -> Rule:
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: rule {number} is not a table.")
    unknown = [key for key in raw if key not in _RULE_KEYS]
    if unknown:
        line = lines.keys.get(("rule", number - 1, unknown[0]))
        where = f", line {line}" if line else ""
        raise PolicyError(
            f"{source}{where}: rule {number} has unknown keys {sorted(unknown)}{_did_you_mean(unknown[0], _RULE_KEYS)}"
        )
    values = {key: raw.get(key) for key in _RULE_KEYS}
    for key, value in values.items():
        wanted = bool if key in _FLAG_KEYS else str
        if value is not None and not isinstance(value, wanted):
            kind_word = "true or false" if wanted is bool else "a string"
            raise PolicyError(f"{source}: rule {number}: `{key}` must be {kind_word}.")
    action, kind, pattern, note = (values[key] or "" for key in ("action", "kind", "pattern", "note"))
    flags = {key: bool(values[key]) for key in _FLAG_KEYS}
    try:
        if kind == "command":
            return Rule.for_command(action, pattern, values["match"], note, **flags)
        return Rule(action, kind, pattern, "prefix", note, **flags)
    except PolicyError as err:
        raise PolicyError(f"{source}: rule {number}: {err}") from None


def _rule_table(rule: Rule) -> tomlkit.items.Table:
    import tomlkit

    table = cast(tomlkit.items.Table, tomlkit.parse("\n".join(_rule_lines(rule)) + "\n")["rule"][0])
    table.add(tomlkit.nl())
    return table


def _document(text: str | None, source: str) -> tuple[tomlkit.TOMLDocument, Policy]:
    """The file's text as an editable document and its rules; refuses (PolicyError) text it cannot read, so nothing
    the person wrote is dropped by a rewrite."""
    # Only rewriting a policy needs tomlkit; reading one (every policy check, the hook) uses tomllib.
    import tomlkit

    if text is None or not text.strip():
        return tomlkit.parse(dumps(Policy())), Policy()
    policy = loads(text, source=source)
    return tomlkit.parse(text), policy


def _rules_of(document: tomlkit.TOMLDocument) -> tomlkit.items.AoT:
    import tomlkit

    if "rule" not in document:
        document.append("rule", tomlkit.aot())
    return cast(tomlkit.items.AoT, document["rule"])


def text_with_rules_added(text: str | None, rules: Iterable[Rule], *, source: str = "policy") -> tuple[str, Policy]:
    """``text`` (a policy file's, None for no file) with ``rules`` appended where missing; comments are kept."""
    import tomlkit

    if text is None or not text.strip():
        merged = Policy().with_rules(rules)
        return dumps(merged), merged
    document, policy = _document(text, source)
    merged = policy.with_rules(rules)
    table_list = _rules_of(document)
    for rule in merged.rules[len(policy.rules) :]:
        table_list.append(_rule_table(rule))
    return tomlkit.dumps(document), merged


def text_without_rule(text: str | None, number: int, *, source: str = "policy") -> tuple[str, Rule]:
    """``text`` without rule ``number`` (1-based, as listed); the other rules and every comment are kept."""
    import tomlkit

    document, policy = _document(text, source)
    if not 1 <= number <= len(policy.rules):
        raise PolicyError(f"There is no rule {number}; the policy has {len(policy.rules)} rule(s).")
    del _rules_of(document)[number - 1]
    return tomlkit.dumps(document), policy.rules[number - 1]


def text_with_rules(
    text: str | None, rules: Iterable[Rule], *, source: str = "policy", loaded: Iterable[Rule] | None = None
) -> tuple[str, Policy]:
    """``text`` holding ``rules`` in this order (as the policy window saves them): a rule that was already there
    keeps its table, comments included; new ones are added. With ``loaded`` (the rules the editor started from),
    rules written meanwhile by someone else are kept after them instead of being dropped."""
    import tomlkit

    wanted = Policy().with_rules(rules)
    if text is None or not text.strip():
        return dumps(wanted), wanted
    document, policy = _document(text, source)
    wanted = Policy((), policy.review_effects).with_rules(wanted.rules)
    if loaded is not None:
        before = list(loaded)
        wanted = wanted.with_rules(r for r in policy.rules if not any(_same_rule(r, old) for old in before))
    old_tables = list(_rules_of(document)) if policy.rules else []
    tables = []
    for rule in wanted.rules:
        index = next((i for i, old in enumerate(policy.rules) if _same_rule(old, rule) and old.note == rule.note), None)
        tables.append(old_tables[index] if index is not None else _rule_table(rule))
    table_list = _rules_of(document)
    while len(table_list):
        del table_list[0]
    for table in tables:
        table_list.append(table)
    return tomlkit.dumps(document), wanted


def text_with_review_effects(text: str | None, choice: str, *, source: str = "policy") -> tuple[str, Policy]:
    """``text`` with its top-level ``review_effects`` set to ``choice``; rules and comments are kept."""
    import tomlkit

    if choice not in REVIEW_EFFECTS:
        raise PolicyError(f"review_effects must be one of {', '.join(REVIEW_EFFECTS)}, not {choice!r}.")
    document, policy = _document(text, source)
    if choice == DEFAULT_REVIEW_EFFECTS and "review_effects" not in document:
        return tomlkit.dumps(document), Policy(policy.rules, choice)
    if "review_effects" in document:
        document["review_effects"] = choice
    else:
        # Top-level keys must come before the first [[rule]] table.
        body = list(document.body)
        document = tomlkit.document()
        placed = False
        for key, item in body:
            if not placed and (key is None or key.key != "version") and isinstance(item, tomlkit.items.AoT):
                document.add("review_effects", choice)
                placed = True
            if key is None:
                document.add(item)
            else:
                document.append(key, item)
            if not placed and key is not None and key.key == "version":
                document.add("review_effects", choice)
                placed = True
        if not placed:
            document.add("review_effects", choice)
    new_text = tomlkit.dumps(document)
    return new_text, loads(new_text, source=source)


# -- rules from decisions ----------------------------------------------------------------------------------------------


def rules_to_always_allow(proposal: Any) -> list[Rule]:
    """The rules that would have allowed this proposal: the exact command parts, or this one file.

    Empty when no rule could (the command cannot be read for sure, or it touches .git/ or .signoff/).
    """
    if proposal.kind == "command":
        parsed = parse_command(proposal.command or "")
        if parsed.problems:
            return []
        rules: list[Rule] = []
        for item in parsed.commands:
            if _is_plain_cd(item) or item.dynamic_name or not item.words:
                continue
            rule = Rule.for_command("allow", shlex.join(item.words), "exact")
            if not any(_same_rule(rule, old) for old in rules):
                rules.append(rule)
        return rules
    path = proposal.path or ""
    if not path or PurePosixPath(path).parts[0] in _GUARDED_DIRS:
        return []
    return [Rule("allow", proposal.kind if proposal.kind in ("edit", "create") else "file", escape_path_glob(path))]


@dataclass(frozen=True)
class Suggestion:
    rule: Rule
    count: int
    text: str
    # Proposal ids the suggestion was drawn from (for display).
    examples: tuple[int, ...] = field(default=())


def suggest_rules(
    history: Iterable[tuple[Any, Any]],
    policy: Policy,
    root: str | os.PathLike[str],
    *,
    threshold: int = SUGGEST_AFTER,
) -> list[Suggestion]:
    """Offers for rules, from decisions people made in this workspace: the same command part approved ``threshold``
    times, or that many changes approved under one folder, never rejected, and not already allowed."""
    tally = _DecisionTally()
    for proposal, decision in history:
        # Only people's decisions: a policy's own and the critic's auto-approvals would teach the policy itself.
        if decision.channel not in (POLICY_CHANNEL, CRITIC_REVIEWER):
            tally.count(proposal, approved=decision.verdict == "approve")
    suggestions = _command_suggestions(tally, policy, root, threshold) + _folder_suggestions(tally, policy, threshold)
    suggestions.sort(key=lambda s: -s.count)
    return suggestions


@dataclass
class _DecisionTally:
    """Proposal ids approved per command part and per folder, and the parts and folders ever rejected."""

    command_counts: dict[tuple[str, ...], list[int]] = field(default_factory=lambda: defaultdict(list))
    command_rejected: set[tuple[str, ...]] = field(default_factory=set)
    folder_counts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    folder_rejected: set[str] = field(default_factory=set)

    def count(self, proposal: Any, *, approved: bool) -> None:
        if proposal.kind == "command":
            parsed = parse_command(proposal.command or "")
            if parsed.problems:
                return
            for item in parsed.commands:
                if _is_plain_cd(item) or item.dynamic_name or not item.words:
                    continue
                if approved:
                    self.command_counts[item.words].append(proposal.id)
                else:
                    self.command_rejected.add(item.words)
        elif proposal.path:
            folder = posixpath.dirname(proposal.path)
            if folder.split("/")[0] in _GUARDED_DIRS:
                return
            if approved:
                self.folder_counts[folder].append(proposal.id)
            else:
                self.folder_rejected.add(folder)


def _command_suggestions(
    tally: _DecisionTally, policy: Policy, root: str | os.PathLike[str], threshold: int
) -> list[Suggestion]:
    suggestions: list[Suggestion] = []
    for words, ids in tally.command_counts.items():
        ids = sorted(set(ids))
        if len(ids) < threshold or words in tally.command_rejected:
            continue
        rule = Rule.for_command("allow", shlex.join(words), "exact")
        if policy.check_command(rule.pattern, root=root).action == "allow" or any(
            _same_rule(rule, r) for r in policy.rules
        ):
            continue
        suggestions.append(
            Suggestion(
                rule, len(ids), f"You approved `{rule.pattern}` {len(ids)} times here. Always allow it?", tuple(ids)
            )
        )
    return suggestions


def _folder_suggestions(tally: _DecisionTally, policy: Policy, threshold: int) -> list[Suggestion]:
    suggestions: list[Suggestion] = []
    for folder, ids in tally.folder_counts.items():
        ids = sorted(set(ids))
        if len(ids) < threshold or folder in tally.folder_rejected:
            continue
        pattern = "/*" if folder == "" else escape_path_glob(folder) + "/**"
        rule = Rule("allow", "file", pattern)
        sample = f"{folder}/x" if folder else "x"
        if policy.check_file("edit", sample).action == "allow" or any(_same_rule(rule, r) for r in policy.rules):
            continue
        where = f"under {folder}/" if folder else "at the top of the workspace"
        suggestions.append(
            Suggestion(
                rule, len(ids), f"You approved {len(ids)} changes {where}. Always allow changes there?", tuple(ids)
            )
        )
    return suggestions


def describe(policy: Policy) -> list[str]:
    return [
        f"{number}. {rule.label}" + (f"  — {rule.note}" if rule.note else "")
        for number, rule in enumerate(policy.rules, 1)
    ]
