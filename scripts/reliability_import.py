"""Malformed memory imports: never a traceback, never half an import, always the line; and imports stay linear.

    .venv/bin/python scripts/reliability_import.py [--mutations 300]

The hand-written bad files of tests/test_memory_import.py, then random damage to
examples/memories.json (cut at a random byte, a value replaced by null, a number,
a list or a word, a key misspelt). Each import runs through `companion memories
import` in-process; a store that already holds the example must be unchanged by
every refused file. Then the time to import 1,000, 2,000 and 5,000 people.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
EXAMPLE = ROOT / "examples" / "memories.json"


def mutate(data: dict, rng: random.Random) -> str:
    """One random damage to the example file."""
    text = json.dumps(data, indent=2)
    kind = rng.choice(["cut", "null", "number", "list", "word", "key"])
    if kind == "cut":
        return text[: rng.randrange(1, len(text) - 1)]
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append(path + [k])
                walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append(path + [i])
                walk(v, path + [i])

    walk(data, [])
    target = rng.choice(paths)
    copy = json.loads(text)
    parent = copy
    for step in target[:-1]:
        parent = parent[step]
    last = target[-1]
    if kind == "key" and isinstance(last, str):
        parent[last[:-1] + "x"] = parent.pop(last)
    else:
        parent[last] = {"null": None, "number": 7, "list": [1, None], "word": "happy", "key": None}[kind]
    return json.dumps(copy, indent=2)


def main() -> int:
    """Run the files, print the figures."""
    import logging

    from companion.cli.memory import add_commands
    from companion.config import Settings
    from test_memory_import import BAD

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mutations", type=int, default=300)
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    rng = random.Random(11)
    counts = {"files": 0, "refused": 0, "accepted": 0, "tracebacks": 0, "changed_store": 0, "no_line": 0}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings().replace(memory={"data_dir": str(Path(tmp) / "data")})

        def cli(*argv: str) -> tuple[int | None, str, str]:
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    a = parser.parse_args(["memories", *argv])
                    code = a.func(a, settings)
                except Exception as exc:  # noqa: BLE001 - what we count
                    return None, out.getvalue(), f"{type(exc).__name__}: {exc}"
            return code, out.getvalue(), err.getvalue()

        cli("import", str(EXAMPLE))
        before = cli("list", "--json")[1]
        files = [text for text, _, _ in BAD.values()]
        data = json.loads(EXAMPLE.read_text())
        files += [mutate(data, rng) for _ in range(args.mutations)]
        for text in files:
            path = Path(tmp) / "bad.json"
            path.write_text(text)
            code, _, err = cli("import", str(path))
            counts["files"] += 1
            if code is None:
                counts["tracebacks"] += 1
                print(f"  TRACEBACK {err}")
                continue
            if code == 0:
                counts["accepted"] += 1  # a mutation that is still a valid file (e.g. a like "happy")
                before = cli("list", "--json")[1]
                continue
            counts["refused"] += 1
            counts["no_line"] += f"{path}:" not in err
            if cli("list", "--json")[1] != before:
                counts["changed_store"] += 1
                before = cli("list", "--json")[1]
        print(f"{counts['files']} files: {counts['refused']} refused, {counts['accepted']} still valid and imported; "
              f"tracebacks {counts['tracebacks']}; refused files that changed the store {counts['changed_store']}; "
              f"reports without a line number {counts['no_line']}")
        for n in (1000, 2000, 5000):
            path = Path(tmp) / f"people-{n}.json"
            path.write_text(json.dumps({"people": [{"name": f"Person{i}", "relation": "friend"} for i in range(n)]}))
            s = Settings().replace(memory={"data_dir": str(Path(tmp) / f"people-{n}")})
            a = parser.parse_args(["memories", "import", str(path)])
            t0 = time.perf_counter()
            with redirect_stdout(io.StringIO()):
                a.func(a, s)
            print(f"  import of {n} people: {time.perf_counter() - t0:.2f} s")
    ok = counts["tracebacks"] == 0 and counts["changed_store"] == 0 and counts["no_line"] == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
