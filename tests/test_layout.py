"""The package's shape, checked with ast: a small top level, no module over 400 lines, no import cycles,
imports that only point down, one owner per public name (and tests/test_journal_names.py: shared tables are
named only by the store)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "companion"
# DESIGN.md's picture exactly: 13 packages (the 11 areas, understand, and config, a package here) plus the
# wiring modules app, clock, errors, language, panel and watchdog. The offline switches live in
# companion/__init__.py, her files' modes in store/private.py. (The issue asks ~15; its own list is 18.)
MAX_TOP_LEVEL = 19

# Lower numbers are lower layers: a module may import its own layer's package or anything below.
LAYERS = {
    "companion": 0,  # the package root: only the first-thing offline switches (companion/__init__.py)
    "errors": 0, "clock": 0, "language": 0,
    "config": 1,
    "audio": 2, "store": 2,
    "ears": 3, "voice": 3, "understand": 3,
    "loop": 4,
    "memory": 5, "routines": 5, "emotion": 5, "safety": 5, "caregiver": 5,
    "panel": 6, "watchdog": 6,
    "app": 7,
    "cli": 8,
    "__main__": 9,
}


def modules() -> dict[str, Path]:
    """Dotted name → file, for every module of the package."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that `name` imports (lazy imports too; TYPE_CHECKING-only ones not)."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports(name, path, known) for name, path in mods.items()}


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_top_level_is_packages_and_wiring_modules():
    entries = [p for p in PACKAGE.iterdir() if p.name not in ("__init__.py", "__main__.py", "py.typed", "__pycache__")
               and not p.name.startswith(".")]
    assert len(entries) <= MAX_TOP_LEVEL, sorted(p.name for p in entries)
    unknown = [p.name for p in entries if p.stem not in LAYERS and p.name != "data"]
    assert not unknown, f"give these a layer in tests/test_layout.py (or move them into an area): {unknown}"


def test_no_import_cycles_between_modules():
    assert cycles(graph()) == []


def test_no_import_cycles_between_packages():
    edges: dict[str, set[str]] = {}
    for src, targets in graph().items():
        edges.setdefault(area(src), set()).update(area(t) for t in targets if area(t) != area(src))
    assert cycles(edges) == []


def test_every_import_points_down():
    upward = []
    for src, targets in graph().items():
        for t in targets:
            if area(t) != area(src) and LAYERS[area(t)] > LAYERS[area(src)]:
                upward.append(f"{src} → {t}")
    assert not upward, "imports that point up a layer: " + ", ".join(sorted(upward))


def test_the_checker_sees_cycles_and_upward_arrows():
    """The checks above can fail: a made-up graph with a cycle is caught."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "companion.loop.engine" in graph()["companion.app"]


# ---------------------------------------------------------------- size and one owner per concept

MAX_MODULE_LINES = 400  # STYLE.md: split by responsibility past this
# Names every module may define for itself because they are conventions, not concepts:
# the module logger, the CLI command-module hook (cli/main.py calls add_commands on each) and a `python -m` entry point.
PROTOCOL_NAMES = {"log", "add_commands", "main"}


def test_no_module_is_over_400_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these by responsibility (STYLE.md): {long}"


def public_definitions(tree: ast.Module) -> set[str]:
    """Public names a module defines at its top level (also under a top-level if/try/with), not the ones it imports."""
    out: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            out.update(n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            pending.extend(node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", []))
            pending.extend(s for h in getattr(node, "handlers", []) for s in h.body)
    return {n for n in out if not n.startswith("_")}


def owners(sources: dict[str, str]) -> dict[str, list[str]]:
    """Public name → the modules that define it, for names defined in more than one (protocol names aside)."""
    where: dict[str, list[str]] = {}
    for name, text in sorted(sources.items()):
        for defined in public_definitions(ast.parse(text)):
            where.setdefault(defined, []).append(name)
    return {n: ms for n, ms in where.items() if len(ms) > 1 and n not in PROTOCOL_NAMES}


def test_one_owner_per_concept():
    """A public name is defined in one module; the others import it (or it gets a name of its own)."""
    twice = owners({name: path.read_text() for name, path in modules().items()})
    assert not twice, "defined in more than one module (import it from one owner, or rename): " + "; ".join(
        f"{n}: {', '.join(ms)}" for n, ms in sorted(twice.items()))


def test_the_owner_check_can_fail():
    """Made-up modules: a public name defined twice is caught; imports, privates and protocol names are not."""
    assert owners({"a": "X = 1\ndef f(): pass\nlog = 1", "b": "from a import X\nif True:\n    X = 2\nlog = 2",
                   "c": "_X = 1\nclass f: pass"}) == {"X": ["a", "b"], "f": ["a", "c"]}
