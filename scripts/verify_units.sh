#!/usr/bin/env bash
# verify_units.sh - `systemd-analyze verify` the units in systemd/, on any machine.
#
# The units run /opt/companion/bin/companion, which only exists after
# `setup.sh --system`; so verification happens in a scratch root that holds
# the host's systemd units, our units and a stand-in for that executable.
# Any message from systemd-analyze (unknown key, bad value...) is a failure.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v systemd-analyze >/dev/null 2>&1 \
    || { echo "systemd-analyze not found: apt-get install systemd (./setup.sh --dev does it as root)" >&2; exit 2; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd"
for dir in /usr/lib/systemd/system /lib/systemd/system; do
    if [ -d "$dir" ]; then cp -r "$dir" "$root/usr/lib/systemd/"; break; fi
done
units=()
for unit in "$REPO_DIR"/systemd/*.service "$REPO_DIR"/systemd/*.timer; do
    cp "$unit" "$root/etc/systemd/system/"
    units+=("/etc/systemd/system/$(basename "$unit")")
    # a stand-in for each ExecStart program, so only the unit itself is judged
    while read -r exe; do
        mkdir -p "$root$(dirname "$exe")"
        printf '#!/bin/sh\n' > "$root$exe"
        chmod +x "$root$exe"
    done < <(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$unit")
done

# The egress drop-ins `companion egress --apply` writes: generated from a config with one webhook
# and one mail server (IP literals, so no DNS is needed here) and verified together with the units.
COMPANION=${COMPANION:-$REPO_DIR/.venv/bin/companion}
dropins=0
if [ -x "$COMPANION" ]; then
    cat > "$root/egress-config.toml" <<'TOML'
[caregiver]
webhook_url = "https://192.0.2.10/mums-companion"
smtp_host = "198.51.100.25"
smtp_to = ["susan@example.org"]
smtp_from = "mum.companion@example.org"
TOML
    "$COMPANION" --config "$root/egress-config.toml" egress --write "$root/etc/systemd/system" >/dev/null
    dropins=$(find "$root/etc/systemd/system" -name egress.conf | wc -l)
    grep -q '^IPAddressAllow=192.0.2.10$' "$root/etc/systemd/system/companion.service.d/egress.conf" \
        || { echo "the generated egress drop-in does not allow the configured webhook" >&2; exit 1; }
else
    echo "note: $COMPANION not found (run ./setup.sh): the egress drop-ins are not verified" >&2
fi

out=$(systemd-analyze verify --root="$root" "${units[@]}" 2>&1) && rc=0 || rc=$?
if [ "$rc" != 0 ] || [ -n "$out" ]; then
    printf '%s\n' "$out" | sed "s|$root||g" >&2
    echo "systemd-analyze verify failed (exit $rc)" >&2
    exit 1
fi
echo "systemd-analyze verify: ${#units[@]} units OK, with $dropins egress drop-in(s)"
