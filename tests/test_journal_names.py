"""Shared tables are named only inside companion/store: everyone else reads and writes typed rows (checked with ast)."""

from __future__ import annotations

import ast
from pathlib import Path

from companion.store.journal import EPISODES, FACTS, HELP, MOOD, ROUTINE_LOG, TURNS

PACKAGE = Path(__file__).resolve().parents[1] / "companion"
SHARED = {TURNS, MOOD, HELP, ROUTINE_LOG, FACTS, EPISODES}
STORE_CALLS = {"insert", "insert_many", "all", "update", "remove", "search", "table", "cached", "revision", "restore",
               "rows", "newest", "staged_rows", "stage_change"}


def offenders(package: Path = PACKAGE) -> list[str]:
    """`store.<call>("turns", ...)`-style uses of a shared table's name outside companion/store."""
    out = []
    for path in package.rglob("*.py"):
        if path.parent.name == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STORE_CALLS
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in SHARED):
                out.append(f"{path.relative_to(package.parent)}:{node.lineno}: {ast.unparse(node)[:80]}")
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in SHARED \
                    and any(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
                out.append(f"{path.relative_to(package.parent)}:{node.lineno}: a second name for a shared table")
            if isinstance(node, ast.Compare) and any(isinstance(s, ast.Attribute) and s.attr in ("table", "TABLE")
                                                     for s in (node.left, *node.comparators)) \
                    and any(isinstance(c, ast.Constant) and c.value in SHARED for c in ast.walk(node)):
                out.append(f"{path.relative_to(package.parent)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return out


def test_no_module_outside_the_store_names_a_shared_table() -> None:
    assert offenders() == []


def test_the_check_sees_a_table_named_by_hand(tmp_path: Path) -> None:
    pkg = tmp_path / "companion"
    (pkg / "store").mkdir(parents=True)
    (pkg / "store" / "journal.py").write_text('TURNS = "turns"\n')  # the one place allowed
    (pkg / "caregiver").mkdir()
    (pkg / "caregiver" / "x.py").write_text('TABLE = "routine_log"\nrows = store.all("turns")\nhelp = "help"\n'
                                            'mine = [m for m in ms if m.table == "facts"]\n')
    found = offenders(pkg)
    assert len(found) == 3 and all(f.startswith("companion/caregiver/x.py") for f in found)
