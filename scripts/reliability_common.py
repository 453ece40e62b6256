"""Shared by the reliability scripts: which code they test, and how to run its command line.

By default the scripts test this checkout. `COMPANION_CODE=/tmp/old` points them at another copy of
the `companion` package (e.g. `git archive <commit> companion | tar -x -C /tmp/old`), so the same
script shows the failures of older code: the editable install's import hook is taken out of the way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = os.environ.get("COMPANION_CODE", "")

_PRELUDE = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in "
            "(getattr(f, '__module__', '') or getattr(f, '__name__', '') or '').lower()]; sys.path.insert(0, {code!r})")


def use_code() -> str:
    """Import `companion` from $COMPANION_CODE (if set) instead of this checkout; returns where from."""
    sys.path.insert(0, str(ROOT / "tests"))
    if CODE:
        exec(_PRELUDE.format(code=CODE))  # noqa: S102 - the same two statements the CLI runs below
        return CODE
    sys.path.insert(0, str(ROOT))
    return str(ROOT)


def companion_cli() -> list[str]:
    """argv prefix that runs `companion` from the same code as this script."""
    if CODE:
        return [sys.executable, "-c", _PRELUDE.format(code=CODE)
                + "; from companion.cli.main import main; sys.exit(main())"]
    return [sys.executable, "-m", "companion"]
