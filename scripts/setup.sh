#!/usr/bin/env bash
# Set up everything `make demo` and `make test` need, idempotently:
#   1. Debian packages from scripts/system-packages.txt that are missing (apt-get update first, only if needed);
#   2. a virtualenv in .venv with a Python >= 3.11;
#   3. the project installed editable with its dev extras (this compiles the Cython core in native/).
# A second run finds everything in place and only re-installs when pyproject.toml, setup.py or a .pyx changed.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }

# pip with retries: a registry hiccup on a fresh machine should cost a retry, not the whole CI run.
pip_install() {
    local attempt
    for attempt in 1 2 3; do
        if .venv/bin/python -m pip install --progress-bar off -q "$@"; then return 0; fi
        log "pip install failed (attempt $attempt of 3); retrying"
        sleep $((attempt * 5))
    done
    log "pip install $* failed three times"
    return 1
}

install_system_packages() {
    if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
        log "not a Debian system: skipping system packages (install the ones in scripts/system-packages.txt yourself)"
        return
    fi
    local wanted missing=()
    wanted=$(grep -v '^\s*#' scripts/system-packages.txt | grep -v '^\s*$')
    for pkg in $wanted; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "system packages: all present"
        return
    fi
    if [ "$(id -u)" -ne 0 ]; then
        log "missing system packages: ${missing[*]} (run as root, or install them with sudo apt-get install)"
        exit 1
    fi
    log "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Wait for another apt/dpkg run (unattended upgrades, a parallel build) instead of failing on its lock.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
    # Debian starts daemons on install; the project starts its own pcscd in tests and demos.
    if command -v systemctl >/dev/null 2>&1; then systemctl stop pcscd.socket pcscd 2>/dev/null || true; fi
}

pick_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    log "no Python 3.11 or newer found" >&2
    exit 1
}

install_python_env() {
    local py stamp=.venv/.shailoo-installed
    if [ ! -x .venv/bin/python ]; then
        py=$(pick_python)
        log "creating .venv with $($py --version)"
        "$py" -m venv .venv
        pip_install --upgrade pip setuptools wheel
    fi
    local newest
    newest=$(ls -t pyproject.toml setup.py native/*.pyx native/*.pxd 2>/dev/null | head -n 1 || true)
    if [ -f "$stamp" ] && [ "$stamp" -nt "$newest" ] && .venv/bin/python -c 'import native' 2>/dev/null; then
        log "python environment: up to date"
        return
    fi
    log "installing the project and its dependencies into .venv (compiles native/)"
    pip_install -e '.[dev]'
    touch "$stamp"
}

install_system_packages
install_python_env
log "ready"
