"""bashlex imported with its LALR tables read from ``bashlex_tables.py`` instead of rebuilt (bashlex's bundled PLY
rebuilds them on every import: ~80 ms on each policy check of a command in a fresh hook process).

The stored tables are used only when the installed bashlex is byte for byte the one they were built from (a digest of
its grammar and its PLY); otherwise bashlex builds its own as usual. ``render_tables()`` writes the module again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec

_SOURCES = ("parser.py", "yacc.py")


def installed_digest() -> str | None:
    """sha256 over the installed bashlex's parser.py and yacc.py; None when bashlex is not installed."""
    spec = importlib.util.find_spec("bashlex")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256()
    for name in _SOURCES:
        try:
            digest.update((folder / name).read_bytes())
        except OSError:
            return None
    return digest.hexdigest()


def load_bashlex() -> ModuleType:
    """``bashlex``, with its parser built from the stored tables when they fit the installed version."""
    if "bashlex.parser" in sys.modules:
        return sys.modules["bashlex"]
    from app.domain import bashlex_tables

    if bashlex_tables.DIGEST != installed_digest():
        return importlib.import_module("bashlex")

    def from_tables(*_args: Any, **_kwargs: Any) -> Any:
        from bashlex import yacc

        # Called from bashlex.parser's module body: its globals hold the grammar's functions and p_error.
        grammar = sys._getframe(1).f_globals
        productions = []
        for number, (name, symbols, function) in enumerate(bashlex_tables.PRODUCTIONS):
            production = yacc.Production(number, name, symbols, func=function)
            production.bind(grammar)
            productions.append(production)
        # Fresh inner dicts: bashlex.parser patches a few actions after building (its command substitution fix).
        tables = SimpleNamespace(
            lr_productions=productions,
            lr_action={state: dict(row) for state, row in bashlex_tables.ACTION.items()},
            lr_goto={state: dict(row) for state, row in bashlex_tables.GOTO.items()},
        )
        parser = yacc.LRParser(tables, grammar.get("p_error"))
        yacc.parse = parser.parse
        return parser

    # bashlex/__init__ imports its parser, which builds the tables as soon as it has imported yacc: the only moment
    # to swap yacc.yacc is right after yacc.py runs, so a finder wraps that one module's loading.
    finder = _YaccSwap(from_tables)
    sys.meta_path.insert(0, finder)
    try:
        return importlib.import_module("bashlex")
    finally:
        sys.meta_path.remove(finder)
        if finder.real is not None:
            setattr(sys.modules["bashlex.yacc"], "yacc", finder.real)  # noqa: B010 - bashlex ships no types


class _YaccSwap:
    """A meta path finder and loader (by protocol, without importlib.abc's import): loads ``bashlex.yacc`` as usual,
    then puts ``replacement`` in place of its ``yacc`` function."""

    def __init__(self, replacement: Any) -> None:
        self.replacement = replacement
        self.real: Any = None
        self._spec: ModuleSpec | None = None

    def find_spec(self, name: str, path: Any, target: Any = None) -> ModuleSpec | None:
        if name != "bashlex.yacc" or self._spec is not None:
            return None
        from importlib.machinery import ModuleSpec, PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        self._spec = spec
        return ModuleSpec(name, self, origin=spec.origin)  # type: ignore[arg-type]

    def create_module(self, spec: ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        assert self._spec is not None and self._spec.loader is not None
        module.__file__ = self._spec.origin
        self._spec.loader.exec_module(module)
        self.real = getattr(module, "yacc")  # noqa: B009 - bashlex ships no types
        setattr(module, "yacc", self.replacement)  # noqa: B010


def built_tables() -> tuple[list[tuple[str, tuple[str, ...], str | None]], dict[int, Any], dict[int, Any]]:
    """(productions, action, goto) as the installed bashlex builds them from its grammar, before its own patches."""
    import bashlex.parser
    from bashlex import yacc

    built = yacc.yacc(module=bashlex.parser, debug=False, write_tables=False, errorlog=yacc.NullLogger())
    productions = [(p.name, tuple(p.prod), p.func) for p in built.productions]
    return productions, {s: dict(r) for s, r in built.action.items()}, {s: dict(r) for s, r in built.goto.items()}


def render_tables() -> str:
    """The text of ``bashlex_tables.py`` for the installed bashlex."""
    productions, action, goto = built_tables()
    lines = [
        '"""bashlex\'s LALR tables, generated by ``python -m app.domain.bashlex_loader`` (do not edit)."""',
        "",
        "# ruff: noqa: E501",
        f"DIGEST = {installed_digest()!r}",
        f"PRODUCTIONS = {productions!r}",
        f"ACTION = {action!r}",
        f"GOTO = {goto!r}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(__file__).with_name("bashlex_tables.py")
    target.write_text(render_tables(), encoding="utf-8")
    print(f"wrote {target}")
