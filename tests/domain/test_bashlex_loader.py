"""The stored bashlex tables: equal to what the installed bashlex builds, and used instead of rebuilding them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.domain import bashlex_loader, bashlex_tables

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_stored_tables_are_the_ones_the_installed_bashlex_builds() -> None:
    # A bashlex upgrade fails here: `python -m app.domain.bashlex_loader` writes the module again.
    assert bashlex_tables.DIGEST == bashlex_loader.installed_digest()
    productions, action, goto = bashlex_loader.built_tables()
    assert bashlex_tables.PRODUCTIONS == productions
    assert bashlex_tables.ACTION == action
    assert bashlex_tables.GOTO == goto


def test_the_generated_module_is_what_render_tables_writes() -> None:
    written = (REPO_ROOT / "app" / "domain" / "bashlex_tables.py").read_text(encoding="utf-8")
    assert written == bashlex_loader.render_tables()


_FRESH_PROCESS = """
from app.domain.bashlex_loader import load_bashlex
bashlex = load_bashlex()
import bashlex.parser, bashlex.yacc
# Productions built by PLY's table generator carry their LR items; the stored ones never had any.
assert all(not production.lr_items for production in bashlex.parser.yaccparser.productions)
assert bashlex.yacc.yacc.__module__ == "bashlex.yacc", "the real yacc() is back in place"
trees = bashlex.parse("cd src && make | tee log > out; echo $(date)")
print(len(trees), trees[0].kind, [part.kind for part in trees[0].parts])
"""


def test_a_fresh_process_parses_with_the_stored_tables_and_leaves_bashlex_as_it_was() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 list ['command', 'operator', 'pipeline', 'operator', 'command']"
