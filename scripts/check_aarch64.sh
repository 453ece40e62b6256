#!/usr/bin/env bash
# check_aarch64.sh - do the pinned versions install on the Raspberry Pi (aarch64)?
#
# For every pin in requirements/runtime.txt and requirements/pi.txt that applies to
# Linux aarch64 on Python 3.11 (Bookworm) and 3.13 (Trixie), asks PyPI, through pip,
# for a binary wheel of exactly that version whose sha256 is one of the lock's hashes.
# A pin without one is built from source on the Pi (fine for small C code, minutes for
# llama-cpp-python, which is expected). Prints one line per package and Python, and
# exits 1 if an unexpected package has no wheel.
# Usage: scripts/check_aarch64.sh [download-dir]
set -euo pipefail

dest=${1:-$(mktemp -d)}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# built from source on the Pi by design (setup.sh --pi installs the compilers they need);
# srt (used by vosk) is pure Python and only ever published as an sdist
expected_source=" llama-cpp-python lgpio srt "
# Raspberry Pi OS Bookworm has glibc 2.36 (Trixie 2.41): any manylinux tag up to 2_36 installs on both.
platforms=(--platform manylinux2014_aarch64 --platform linux_aarch64)
for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_aarch64"); done

# One pinned requirement per line ("name==version --hash=... ..."), for this Python on aarch64 Linux.
pins_for() {
    python3 - "$1" "$repo/requirements/runtime.txt" "$repo/requirements/pi.txt" <<'PY'
import re, sys
py = sys.argv[1]
env = {"python_version": py, "python_full_version": py + ".0", "platform_machine": "aarch64",
       "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
       "platform_python_implementation": "CPython"}
try:
    from packaging.markers import Marker
except ImportError:
    from pip._vendor.packaging.markers import Marker
seen = {}
for path in sys.argv[2:]:
    for block in re.split(r"\n(?=[A-Za-z0-9])", open(path).read()):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*==[^\s;\\]+)(?:\s*;\s*([^\\\n]+))?", block)
        if not m or (m.group(2) and not Marker(m.group(2)).evaluate(env)):
            continue
        hashes = " ".join(re.findall(r"--hash=sha256:[0-9a-f]+", block))
        seen[m.group(1).split("==")[0].lower()] = f"{m.group(1)} {hashes}"
print("\n".join(seen.values()))
PY
}

missing=0
for py in 3.11 3.13; do
    while read -r pin; do
        pkg=${pin%%==*}
        req=$(mktemp)
        printf '%s\n' "$pin" > "$req"
        if out=$(python3 -m pip download --no-deps --only-binary=:all: --require-hashes "${platforms[@]}" \
                --python-version "$py" -d "$dest/$py" -r "$req" 2>&1); then
            file=$(printf '%s\n' "$out" | sed -n 's/^ *Saved .*\/\([^/]*\)$/\1/p;s/^ *File was already downloaded .*\/\([^/]*\)$/\1/p' | head -n1)
            printf 'py%s  %-32s wheel   %s\n' "$py" "${pin%% *}" "${file:-?}"
        elif [[ $expected_source == *" $pkg "* ]]; then
            printf 'py%s  %-32s source  (built on the Pi, as expected)\n' "$py" "${pin%% *}"
        else
            printf 'py%s  %-32s NONE    %s\n' "$py" "${pin%% *}" "$(printf '%s\n' "$out" | grep -m1 'ERROR' || true)"
            missing=1
        fi
        rm -f "$req"
    done < <(pins_for "$py")
done
exit "$missing"
