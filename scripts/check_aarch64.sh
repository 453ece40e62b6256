#!/usr/bin/env bash
# check_aarch64.sh - which of our Python dependencies ship aarch64 (Raspberry Pi) wheels?
#
# Asks PyPI, through pip, for a Linux aarch64 binary wheel of every dependency in
# pyproject.toml (and the main indirect ones), for Python 3.11 (Bookworm) and 3.13
# (Trixie). A package without one is built from source on the Pi (fine for small
# C code, minutes for llama-cpp-python). Prints one line per package and Python.
# Usage: scripts/check_aarch64.sh [download-dir]
set -euo pipefail

dest=${1:-$(mktemp -d)}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pip=(python3 -m pip)
# direct dependencies with their version ranges (dependencies + the dev and pi extras) ...
mapfile -t packages < <(python3 - "$repo/pyproject.toml" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extras = project.get("optional-dependencies", {})
for spec in project["dependencies"] + extras.get("dev", []) + extras.get("pi", []):
    print(spec.replace(" ", ""))
PY
)
# ... and the indirect ones with compiled code
packages+=(onnxruntime pymicro-features soundfile cffi)
# Raspberry Pi OS Bookworm has glibc 2.36 (Trixie 2.41): any manylinux tag up to 2_36 installs on both.
platforms=(--platform manylinux2014_aarch64 --platform linux_aarch64)
for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done
for py in 3.11 3.13; do
    for pkg in "${packages[@]}"; do
        if out=$("${pip[@]}" download --no-deps --only-binary=:all: "${platforms[@]}" \
                --python-version "$py" -d "$dest/$py" "$pkg" 2>&1); then
            file=$(printf '%s\n' "$out" | sed -n 's/^ *Saved .*\/\([^/]*\)$/\1/p;s/^ *File was already downloaded .*\/\([^/]*\)$/\1/p' | head -n1)
            printf 'py%s  %-30s wheel  %s\n' "$py" "$pkg" "${file:-?}"
        else
            printf 'py%s  %-30s NONE   %s\n' "$py" "$pkg" "$(printf '%s\n' "$out" | grep -m1 'ERROR' || true)"
        fi
    done
done
