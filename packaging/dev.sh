#!/usr/bin/env bash
# Sets up a Debian 12 machine for Signoff and runs the app or its tests: `bash packaging/dev.sh run|test [args...]`.
# Installs only missing system packages and reinstalls the .venv only when pyproject.toml changes, so reruns are fast.
set -euo pipefail

usage() {
    cat >&2 <<'EOF'
usage: bash packaging/dev.sh run  [signoff arguments...]   start Signoff from this checkout
       bash packaging/dev.sh test [pytest arguments...]    run the test suite (offscreen Qt)
EOF
}

mode="${1:-}"
case "$mode" in
    run | test) shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage; exit 2 ;;
esac

# Step lines go to stderr so `dev.sh run --some-export > file` keeps signoff's stdout clean.
step() { printf '[dev.sh] %s\n' "$*" >&2; }
die() { printf '[dev.sh] error: %s\n' "$*" >&2; exit 1; }

# Tool output is kept out of the way and shown only when the step fails, so the log stays one line per step.
quietly() {
    local log
    log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        rm -f "$log"
        die "failed: $*"
    fi
    rm -f "$log"
}

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
[ -f pyproject.toml ] || die "$repo_root has no pyproject.toml; run this script from a Signoff checkout"

# What PySide6's offscreen and xcb platform plugins link against (ldd of libqxcb.so / libQt6XcbQpa.so), plus a font.
system_packages=(
    libegl1 libgl1 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 fonts-dejavu-core
    libxkbcommon0 libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
    libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1
    libxcb-util1 libxcb-xfixes0 libxcb-xkb1
    # Every command Signoff runs is sandboxed with bubblewrap (app/services/sandbox.py); without it allow rules ask.
    bubblewrap
)
if [ "$mode" = test ]; then
    # The tests start their own PostgreSQL from these binaries; the system service is never started by us.
    system_packages+=(postgresql git)
    # The bundle test validates the desktop entry and the AppStream metainfo with the distribution's own tools.
    system_packages+=(desktop-file-utils appstream)
    # Desktop notifications are tested against a real session bus (dbus-daemon) and notification service.
    system_packages+=(dbus-daemon)
fi

find_python() {
    local candidate
    if candidate="$(command -v python3.11)"; then
        printf '%s\n' "$candidate"
        return 0
    fi
    if candidate="$(command -v python3)" && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        printf '%s\n' "$candidate"
        return 0
    fi
    return 1
}

python_bin="$(find_python || true)"
if [ -z "$python_bin" ]; then
    system_packages+=(python3 python3-venv)
elif ! "$python_bin" -c 'import ensurepip, venv; ensurepip.version()' >/dev/null 2>&1; then
    # Debian splits ensurepip (needed by `python3 -m venv`) into python3-venv.
    system_packages+=(python3-venv)
fi

missing=()
for package in "${system_packages[@]}"; do
    # Captured rather than piped: with pipefail, grep -q closing the pipe early could make dpkg "fail".
    package_status="$(dpkg -s "$package" 2>/dev/null || true)"
    if ! grep -q '^Status: install ok installed$' <<<"$package_status"; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    step "system packages: all ${#system_packages[@]} present, skipping apt"
elif ! command -v apt-get >/dev/null 2>&1; then
    step "warning: no apt-get here; install the equivalents of these yourself: ${missing[*]}"
else
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        die "installing ${missing[*]} needs root; rerun as root or install sudo"
    fi
    step "apt-get update"
    quietly "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
    step "apt-get install ${missing[*]}"
    quietly "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
fi

[ -n "$python_bin" ] || python_bin="$(find_python || true)"
[ -n "$python_bin" ] || die "Signoff needs Python 3.11 or newer (python3.11 or python3 on PATH)"

venv="$repo_root/.venv"
venv_python="$venv/bin/python"
# A venv from an interrupted first run, or from a Python that has since been removed, is rebuilt rather than trusted.
if [ -d "$venv" ] && ! "$venv_python" -c 'import sys, pip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    step "removing broken virtualenv $venv"
    rm -rf "$venv"
fi
fresh_venv=no
if [ ! -d "$venv" ]; then
    fresh_venv=yes
    python_version="$("$python_bin" -c 'import platform; print(platform.python_version())')"
    step "creating virtualenv .venv with $python_bin ($python_version)"
    quietly "$python_bin" -m venv "$venv"
fi

# Editable for both modes: this script runs from a checkout, so code edits apply without reinstalling, the stamp
# below only has to track pyproject.toml, and `run` and `test` share one venv ([test] is a superset).
if [ "$mode" = test ]; then
    # [bundle] brings PyInstaller: the test suite builds the desktop bundle and runs it.
    install_target=".[test,bundle]"
else
    install_target="."
fi
wanted_stamp="$(sha256sum pyproject.toml | cut -d' ' -f1)"
read_stamp() { cat "$venv/.signoff-installed-$1" 2>/dev/null || true; }
installed=no
if [ "$(read_stamp "$mode")" = "$wanted_stamp" ] \
    || { [ "$mode" = run ] && [ "$(read_stamp test)" = "$wanted_stamp" ]; }; then
    # The stamp says so, but a half-deleted site-packages would still break; importing is the cheap proof.
    if [ -x "$venv/bin/signoff" ] && "$venv_python" -c 'import app.paths' >/dev/null 2>&1; then
        installed=yes
    fi
fi
if [ "$installed" = yes ]; then
    step "python packages: up to date with pyproject.toml, skipping pip"
else
    if [ "$fresh_venv" = yes ]; then
        step "pip install -e '$install_target' into the new .venv (downloads Qt, about 400 MB: a few minutes)"
    else
        step "pip install -e '$install_target' (pyproject.toml changed, or the last install is incomplete)"
    fi
    quietly "$venv_python" -m pip install --disable-pip-version-check -e "$install_target"
    printf '%s\n' "$wanted_stamp" >"$venv/.signoff-installed-$mode"
fi

if [ "$mode" = run ]; then
    step "starting signoff${*:+ $*}"
    exec "$venv/bin/signoff" "$@"
fi

export QT_QPA_PLATFORM=offscreen
# Tests that start `signoff` or `lint-imports` as a subprocess find this venv's copies first.
export PATH="$venv/bin:$PATH"
step "running pytest${*:+ $*}"
exec "$venv_python" -m pytest "$@"
