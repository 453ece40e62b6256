#!/usr/bin/env python3
"""Build a source-only package's wheel once per set of build flags, and never reuse one built with others.

pip caches a wheel it built by package name and version only, so a wheel
compiled with other CMAKE_ARGS (for example llama.cpp's AMX kernels, which
crash on some CPUs) would be installed again after the flags changed. This
script keeps its own cache, keyed by everything that decides the binary: the
pinned requirement with its hashes, the build flags, the Python tag, the
machine and the compiler. It builds with pip's cache switched off, so a stale
wheel can neither be picked up nor left behind for someone else.

Usage (setup.sh calls it with the venv's python):
  build_wheel.py --requirement "NAME==VER --hash=sha256:..." --flags "$CMAKE_ARGS" --cache DIR [--rebuild]
Prints the path of the wheel to install on the last line of stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

INFO = "BUILD-INFO.json"


def compiler_version() -> str:
    """The C compiler's version line: a new compiler makes a new binary."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or ""
    if not cc:
        return "none"
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.splitlines()[0].strip() if out else "unknown"


def build_key(requirement: str, flags: str) -> dict[str, str]:
    """Everything that decides what the built wheel contains."""
    return {
        "requirement": " ".join(requirement.split()),
        "flags": " ".join(flags.split()),
        "python": f"cp{sys.version_info.major}{sys.version_info.minor}",
        "platform": sysconfig.get_platform(),
        "machine": platform.machine(),
        "compiler": compiler_version(),
    }


def key_digest(key: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def project_name(requirement: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not m:
        raise SystemExit(f"build_wheel.py: cannot read a package name from {requirement!r}")
    return re.sub(r"[-_.]+", "-", m.group(1)).lower()


def cached_wheel(slot: Path) -> Path | None:
    wheels = sorted(slot.glob("*.whl")) if slot.is_dir() else []
    return wheels[0] if wheels and (slot / INFO).is_file() else None


def build(requirement: str, flags: str, slot: Path, pip_args: list[str]) -> Path:
    """pip wheel, with pip's own cache off and the flags in CMAKE_ARGS; the result moved into `slot`."""
    name = project_name(requirement)
    slot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=slot.parent) as tmp:
        req = Path(tmp) / "requirement.txt"
        req.write_text(requirement + "\n")
        out = Path(tmp) / "wheel"
        env = {**os.environ, "CMAKE_ARGS": flags}
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", name,
               "-w", str(out), "-r", str(req), *pip_args]
        if "--hash=" in requirement:
            cmd.append("--require-hashes")
        print(f"building {requirement.split()[0]} with CMAKE_ARGS={flags!r} (pip cache off)", file=sys.stderr,
              flush=True)
        subprocess.run(cmd, check=True, env=env, stdout=sys.stderr)
        wheels = sorted(out.glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"build_wheel.py: expected one wheel from pip, found {[w.name for w in wheels]}")
        staged = Path(tmp) / "slot"
        staged.mkdir()
        shutil.move(str(wheels[0]), staged / wheels[0].name)
        (staged / INFO).write_text(json.dumps(build_key(requirement, flags), indent=2, sort_keys=True) + "\n")
        if slot.exists():
            shutil.rmtree(slot)
        os.replace(staged, slot)  # a half-built slot is never visible
    wheel = cached_wheel(slot)
    assert wheel is not None
    return wheel


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requirement", required=True, help="one pinned requirement line, hashes included")
    p.add_argument("--flags", default="", help="build flags (passed to the build as CMAKE_ARGS)")
    p.add_argument("--cache", required=True, type=Path, help="folder holding one sub-folder per build key")
    p.add_argument("--rebuild", action="store_true", help="build again even if this key is cached")
    p.add_argument("pip_args", nargs="*", help="extra arguments for pip wheel (after --)")
    args = p.parse_args(argv)

    key = build_key(args.requirement, args.flags)
    slot = args.cache / f"{project_name(args.requirement)}-{key_digest(key)}"
    wheel = None if args.rebuild else cached_wheel(slot)
    if wheel is not None:
        print(f"reusing {wheel.name} built with CMAKE_ARGS={args.flags!r} ({slot.name})", file=sys.stderr)
    else:
        wheel = build(args.requirement, args.flags, slot, args.pip_args)
    print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
