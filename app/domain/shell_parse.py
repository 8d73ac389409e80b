"""A command line parsed with a real shell parser (bashlex) into every simple command it would run and every redirect.

Only describes; deciding is policy.py's job. Anything it cannot be sure of is listed in ``problems`` so the caller
asks a person instead of guessing. No Qt here.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

# Longer command lines are not parsed (a policy check of one asks a person) and are refused as tool input.
MAX_COMMAND_CHARS = 64 * 1024
# Nested `bash -c`, `eval`, `xargs sh -c` ... deeper than this is refused rather than followed.
MAX_NESTING = 6
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "yash"})
_WRITE_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})
_READ_REDIRECTS = frozenset({"<"})
_GLOB_OR_BRACE = set("*?[{")
# Commands whose arguments are themselves shell code.
_RUNS_TEXT = SHELLS | {"eval", "watch"}
_QUOTED_HEREDOC = re.compile(r"<<(-?)[ \t]*(['\"])(\w+)\2")


@dataclass(frozen=True)
class SimpleCommand:
    """One command the line would run, with its words after quote removal."""

    argv: tuple[str, ...]
    # NAME=value words in front of it (they change what the command does: PATH, LD_PRELOAD, ...).
    assignments: tuple[str, ...] = ()
    # The command name is only known when it runs ($cmd, $(…), globs, brace expansion): no rule can allow it.
    dynamic_name: bool = False
    # Set when found inside another command's arguments: 'bash -c', 'eval', 'xargs', 'find -exec', 'env', ...
    via: str | None = None
    # Positions in ``words`` only known when it runs ($VAR, ~, $(…)) and ones with unquoted glob characters.
    dynamic_words: frozenset[int] = frozenset()
    globbed_words: frozenset[int] = frozenset()

    @property
    def words(self) -> tuple[str, ...]:
        return self.assignments + self.argv

    @property
    def text(self) -> str:
        return " ".join(_quote(word) for word in self.words)


@dataclass(frozen=True)
class Redirect:
    operator: str
    # The file it names after quote removal; None when only known at run time (``> $OUT``).
    target: str | None
    writes: bool


@dataclass(frozen=True)
class ParsedCommand:
    source: str
    commands: tuple[SimpleCommand, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    # Literal `cd`/`pushd` targets in text order; relative ones are relative to wherever the shell was then.
    directories: tuple[str, ...] = ()
    # Why the line cannot be judged from its text (unparsable, unsupported syntax, code only known at run time).
    problems: tuple[str, ...] = ()

    @property
    def understood(self) -> bool:
        return not self.problems


_BLANKS = frozenset(" \t\r\n")


def unquoted_word(raw: str) -> str | None:
    """One shell word after POSIX quote removal (as ``shlex.split`` gives it, in linear time: shlex grows its token
    one character at a time, quadratic on long words); None unless ``raw`` is exactly one complete word."""
    out: list[str] = []
    index, length, quote = 0, len(raw), ""
    while index < length:
        char = raw[index]
        if quote == "'":
            end = raw.find("'", index)
            if end < 0:
                return None
            out.append(raw[index:end])
            index, quote = end + 1, ""
            continue
        if quote == '"':
            if char == '"':
                quote = ""
            elif char == "\\" and index + 1 < length and raw[index + 1] in '\\"$`\n':
                out.append(raw[index + 1])
                index += 1
            else:
                out.append(char)
        elif char in "'\"":
            quote = char
        elif char == "\\":
            if index + 1 >= length:
                return None
            out.append(raw[index + 1])
            index += 1
        elif char in _BLANKS:
            return None
        else:
            out.append(char)
        index += 1
    if quote or not raw:
        return None
    return "".join(out)


def _quote(word: str) -> str:
    if word and all(ch.isalnum() or ch in "-_./=:,+@%^" for ch in word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


@dataclass
class _Collector:
    source: str
    depth: int = 0
    commands: list[SimpleCommand] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


def parse_command(command: str) -> ParsedCommand:
    """Everything ``/bin/sh -c command`` would run, as far as its text tells; see ``ParsedCommand.problems``."""
    collector = _Collector(command)
    if len(command) > MAX_COMMAND_CHARS:
        # bashlex reads about 100 kB a second; past this a person reads the line instead of the agent waiting.
        collector.problem(
            f"the command line is {len(command):,} characters long, more than the {MAX_COMMAND_CHARS:,} a policy "
            "check reads"
        )
    else:
        _parse_into(collector, command, via=None)
    return ParsedCommand(
        source=command,
        commands=tuple(collector.commands),
        redirects=tuple(collector.redirects),
        directories=tuple(collector.directories),
        problems=tuple(collector.problems),
    )


def _parse_into(collector: _Collector, text: str, *, via: str | None) -> None:
    if collector.depth > MAX_NESTING:
        collector.problem(f"commands nested more than {MAX_NESTING} levels deep")
        return
    if "\x00" in text:
        collector.problem("the command contains a NUL character")
        return
    if not text.strip():
        if via is None:
            collector.problem("the command is empty")
        return
    # Imported on first use, with its parser tables read from a stored module instead of rebuilt (bashlex_loader).
    from app.domain.bashlex_loader import load_bashlex

    load_bashlex()
    import bashlex
    import bashlex.errors

    # bashlex cannot read a quoted here-document delimiter (<<'EOF'); unquoted, its body is judged more strictly
    # (as if it expanded), so reading it that way never allows more.
    text = _QUOTED_HEREDOC.sub(r"<<\1\3", text)
    try:
        trees = bashlex.parse(text)
    except (
        bashlex.errors.ParsingError,
        NotImplementedError,
        IndexError,
        AttributeError,
        TypeError,
        ValueError,
        RecursionError,
        AssertionError,
    ) as err:
        # bashlex leaves some syntax unimplemented (case, select, arithmetic, `time`); a person reads those.
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        collector.problem(f"the shell parser could not read {'it' if via is None else via + ' text'} ({detail})")
        return
    walker = _Walker(collector, text, via)
    for tree in trees:
        walker.visit(tree)


class _Walker:
    def __init__(self, collector: _Collector, text: str, via: str | None) -> None:
        self.collector = collector
        self.text = text
        self.via = via

    def visit(self, node: Any) -> None:
        kind = node.kind
        if kind == "command":
            self._command(node)
        elif kind in ("list", "pipeline", "if", "for", "while", "until", "function"):
            for part in node.parts:
                self.visit(part)
        elif kind == "compound":
            for part in node.list:
                self.visit(part)
            for redirect in getattr(node, "redirects", None) or []:
                self._redirect(redirect)
        elif kind == "word":
            # Loop lists and function names: only what runs inside them matters.
            self._expansions(node)
        elif kind in ("operator", "pipe", "reservedword"):
            pass
        elif kind == "redirect":
            self._redirect(node)
        else:
            self.collector.problem(f"unsupported shell syntax ({kind})")

    # -- expansions inside words ---------------------------------------------------------------------------------------

    def _expansions(self, node: Any) -> bool:
        """Visit $(…), `…` and <(…) inside a word; True if the word is only known at run time."""
        dynamic = False
        for part in getattr(node, "parts", None) or []:
            kind = part.kind
            if kind in ("commandsubstitution", "processsubstitution"):
                dynamic = True
                self.collector.depth += 1
                try:
                    self.visit(part.command)
                finally:
                    self.collector.depth -= 1
            elif kind == "parameter":
                dynamic = True
                value = getattr(part, "value", "") or ""
                if "$(" in value or "`" in value or "<(" in value or ">(" in value:
                    # bashlex leaves ${x:-$(cmd)} unparsed: the command inside cannot be seen.
                    self.collector.problem(f"a command hidden inside ${{{value}}}")
            elif kind == "tilde":
                dynamic = True
            else:
                self.visit(part)
        raw = self.text[node.pos[0] : node.pos[1]]
        if ("$'" in raw or '$"' in raw) and _unquoted_dollar_quote(raw):
            # ANSI-C and locale quoting, which bashlex does not decode: the real word is unknown.
            dynamic = True
            self.collector.problem("$'…' quoting, which the parser cannot decode")
        return dynamic

    # -- simple commands -----------------------------------------------------------------------------------------------

    def _literal(self, node: Any) -> str:
        """The word after quote removal, by POSIX rules on its source text: bashlex's own value is wrong for some
        quote mixes (``'a'"'"'b'``), and a wrong word would let a rule match something else than what runs."""
        raw = self.text[node.pos[0] : node.pos[1]]
        if "$" in raw or "`" in raw:
            return str(node.word)  # only known at run time; marked dynamic by _expansions
        if "\\\n" in raw:
            self.collector.problem("a line continuation inside a word")
            return str(node.word)
        word = unquoted_word(raw)
        if word is None:
            self.collector.problem(f"a word the parser cannot read for sure ({raw[:40]})")
            return str(node.word)
        return word

    def _command(self, node: Any) -> None:
        argv: list[str] = []
        assignments: list[str] = []
        dynamic_name = False
        # Positions in argv (assignments are counted in afterwards).
        dynamic_at: set[int] = set()
        globbed_at: set[int] = set()
        for part in node.parts:
            kind = part.kind
            if kind == "assignment":
                dynamic = self._expansions(part)
                if argv:
                    if dynamic:
                        dynamic_at.add(len(argv))
                    argv.append(self._literal(part))  # after the name it is an ordinary argument (`export A=1`)
                else:
                    assignments.append(self._literal(part))
            elif kind == "word":
                dynamic = self._expansions(part)
                word = self._literal(part)
                if not argv and (dynamic or _GLOB_OR_BRACE & set(word)):
                    dynamic_name = True
                elif dynamic and argv and posixpath.basename(argv[0]) in _RUNS_TEXT:
                    self.collector.problem(f"`{argv[0]}` runs text that is only known when it runs")
                if dynamic:
                    dynamic_at.add(len(argv))
                if _unquoted_glob(self.text[part.pos[0] : part.pos[1]]):
                    globbed_at.add(len(argv))
                argv.append(word)
            elif kind == "redirect":
                self._redirect(part)
            else:
                self.visit(part)
        shift = len(assignments)
        command = SimpleCommand(
            tuple(argv),
            tuple(assignments),
            dynamic_name,
            self.via,
            frozenset(i + shift for i in dynamic_at),
            frozenset(i + shift for i in globbed_at),
        )
        self.collector.commands.append(command)
        if argv and not dynamic_name:
            self._unwrap(command)

    def _redirect(self, node: Any) -> None:
        operator = node.type
        heredoc = getattr(node, "heredoc", None)
        if operator in ("<<", "<<-"):
            delimiter = node.output
            raw = self.text[delimiter.pos[0] : delimiter.pos[1]] if hasattr(delimiter, "pos") else ""
            body = getattr(heredoc, "value", "") or ""
            quoted = any(ch in raw for ch in "'\"\\")
            if not quoted and ("$(" in body or "`" in body):
                self.collector.problem("a here-document that runs commands when it expands")
            return
        if operator == "<<<":
            if hasattr(node.output, "kind"):
                self._expansions(node.output)
            return
        target_node = node.output
        if isinstance(target_node, int):
            return  # 2>&1 and friends: duplicating a descriptor names no file
        dynamic = self._expansions(target_node)
        parts = getattr(target_node, "parts", None) or []
        if any(p.kind == "processsubstitution" for p in parts):
            return  # >(cmd): the command was visited; no file is written
        writes = operator in _WRITE_REDIRECTS or operator not in _READ_REDIRECTS
        target = None if dynamic else self._literal(target_node)
        if target is not None and _GLOB_OR_BRACE & set(target):
            target = None
        self.collector.redirects.append(Redirect(operator, target, writes))

    # -- commands that run other commands ------------------------------------------------------------------------------

    def _nested(self, argv: list[str], via: str) -> None:
        if not argv:
            return
        self.collector.depth += 1
        try:
            sub = _Walker(self.collector, self.text, via)
            name = argv[0]
            command = SimpleCommand(
                tuple(argv), (), bool(_GLOB_OR_BRACE & set(name)) or "$" in name or "`" in name, via
            )
            self.collector.commands.append(command)
            if not command.dynamic_name:
                sub._unwrap(command)
        finally:
            self.collector.depth -= 1

    def _nested_text(self, text: str, via: str) -> None:
        self.collector.depth += 1
        try:
            _parse_into(self.collector, text, via=via)
        finally:
            self.collector.depth -= 1

    def _unwrap(self, command: SimpleCommand) -> None:
        argv = list(command.argv)
        name = posixpath.basename(argv[0])
        rest = argv[1:]
        if name in ("cd", "pushd"):
            targets = [a for a in rest if not a.startswith("-") or a == "-"]
            if (
                not targets
                or targets[0] == "-"
                or targets[0].startswith("~")
                or "$" in targets[0]
                or _GLOB_OR_BRACE & set(targets[0])
            ):
                self.collector.problem(f"`{name}` to a folder only known when it runs")
            else:
                self.collector.directories.append(targets[0])
        elif name == "popd":
            self.collector.problem("`popd` to a folder only known when it runs")
        elif name in SHELLS:
            self._shell(name, rest)
        elif name == "eval":
            self._nested_text(" ".join(rest), "eval")
        elif name in ("env",):
            self._env(rest)
        elif name in ("sudo", "doas"):
            self._nested(_skip_options(rest, {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}), name)
        elif name in (
            "nohup",
            "setsid",
            "chronic",
            "builtin",
            "exec",
            "command",
            "nice",
            "ionice",
            "stdbuf",
            "timeout",
        ):
            self._wrapper(name, rest)
        elif name == "xargs":
            inner = _skip_options(
                rest,
                {
                    "-a",
                    "-d",
                    "-E",
                    "-I",
                    "-L",
                    "-n",
                    "-P",
                    "-s",
                    "--arg-file",
                    "--delimiter",
                    "--max-args",
                    "--max-procs",
                    "--max-lines",
                    "--max-chars",
                    "--replace",
                    "--eof",
                },
            )
            self._nested(inner or ["echo"], "xargs")
        elif name == "find":
            self._find(rest)
        elif name == "watch":
            inner = _skip_options(rest, {"-n", "-d", "--interval", "-g"})
            if inner:
                self._nested_text(" ".join(inner), "watch")
        elif name in ("source", "."):
            pass  # the file's contents are not known here; a rule has to allow `source <file>` itself

    def _shell(self, name: str, rest: list[str]) -> None:
        index = 0
        runs_string = False
        while index < len(rest):
            arg = rest[index]
            if arg == "--":
                index += 1
                break
            if arg in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
                index += 2
                continue
            if arg.startswith(("-", "+")) and len(arg) > 1:
                if not arg.startswith("--") and "c" in arg[1:]:
                    runs_string = True
                index += 1
                continue
            break
        if runs_string:
            if index >= len(rest):
                self.collector.problem(f"`{name} -c` without a command")
                return
            self._nested_text(rest[index], f"{name} -c")

    def _env(self, rest: list[str]) -> None:
        index = 0
        assignments: list[str] = []
        while index < len(rest):
            arg = rest[index]
            if arg in ("-u", "--unset"):
                index += 2
                continue
            if arg in ("-C", "--chdir") or arg.startswith(("--chdir=", "-S", "--split-string")):
                self.collector.problem(f"`env {arg}` changes what runs in a way the text does not show")
                return
            if arg.startswith("-") and arg != "-":
                index += 1
                continue
            if "=" in arg and not arg.startswith("="):
                assignments.append(arg)
                index += 1
                continue
            break
        inner = rest[index:]
        if not inner:
            return
        self.collector.depth += 1
        try:
            command = SimpleCommand(
                tuple(inner), tuple(assignments), bool(_GLOB_OR_BRACE & set(inner[0])) or "$" in inner[0], "env"
            )
            self.collector.commands.append(command)
            if not command.dynamic_name:
                _Walker(self.collector, self.text, "env")._unwrap(command)
        finally:
            self.collector.depth -= 1

    def _wrapper(self, name: str, rest: list[str]) -> None:
        if name == "command" and any(a in ("-v", "-V") for a in rest[:1]):
            return  # `command -v x` only looks x up
        if name == "timeout":
            inner = _skip_options(rest, {"-s", "-k", "--signal", "--kill-after"})
            inner = inner[1:]  # the duration
        elif name == "nice":
            inner = _skip_options(rest, {"-n", "--adjustment"})
        elif name == "ionice":
            inner = _skip_options(rest, {"-c", "-n", "-p", "-P", "-u", "--class", "--classdata"})
        elif name == "stdbuf":
            inner = _skip_options(rest, {"-i", "-o", "-e"})
        elif name == "exec":
            inner = _skip_options(rest, {"-a"})
        else:
            inner = _skip_options(rest, set())
        self._nested(inner, name)

    def _find(self, rest: list[str]) -> None:
        index = 0
        while index < len(rest):
            if rest[index] in ("-exec", "-execdir", "-ok", "-okdir"):
                flavour = rest[index]
                end = index + 1
                while end < len(rest) and rest[end] not in (";", "+"):
                    end += 1
                self._nested(rest[index + 1 : end], f"find {flavour}")
                index = end + 1
                continue
            index += 1


def _unquoted_glob(raw: str) -> bool:
    """Whether a word's source text has a glob or brace character outside quotes (so the shell expands it)."""
    quote = ""
    escaped = False
    for ch in raw:
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in _GLOB_OR_BRACE:
            return True
    return False


def _unquoted_dollar_quote(raw: str) -> bool:
    """Whether ``$'`` or ``$"`` starts a quote in the word (not a ``$`` at the end of a quoted 'foo$')."""
    quote = ""
    escaped = False
    for position, ch in enumerate(raw):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch == "$" and raw[position + 1 : position + 2] in ("'", '"'):
            return True
        elif ch in "'\"":
            quote = ch
    return False


def _skip_options(args: list[str], with_value: set[str]) -> list[str]:
    """The arguments after a wrapper's own options: the command it runs."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return args[index + 1 :]
        if not arg.startswith("-") or arg == "-":
            return args[index:]
        if arg in with_value:
            index += 2
            continue
        index += 1
    return []
