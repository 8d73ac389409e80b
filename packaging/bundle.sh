#!/usr/bin/env bash
# Builds the Signoff desktop bundle from this checkout: a PyInstaller one-folder app that runs without Python, with
# its icon (SVG + PNG sizes), desktop entry, AppStream metainfo, an install script, and a tarball of it all.
#   bash packaging/bundle.sh            -> dist/signoff/ and dist/signoff-VERSION-linux-ARCH.tar.gz
# SIGNOFF_BUNDLE_PYTHON: a Python that already has `pip install '.[bundle]'` (default: one is set up in build/).
# SIGNOFF_BUNDLE_OUT: where dist/ goes (default: the checkout's dist/).
set -euo pipefail

step() { printf '[bundle.sh] %s\n' "$*" >&2; }
die() { printf '[bundle.sh] error: %s\n' "$*" >&2; exit 1; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
[ -f pyproject.toml ] || die "$repo_root is not a Signoff checkout"

out="${SIGNOFF_BUNDLE_OUT:-$repo_root/dist}"
work="$repo_root/build/bundle"
python="${SIGNOFF_BUNDLE_PYTHON:-}"
if [ -z "$python" ]; then
    venv="$repo_root/build/bundle-venv"
    if [ ! -x "$venv/bin/python" ]; then
        step "creating $venv"
        python3 -m venv "$venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    fi
    step "installing Signoff and PyInstaller into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ".[bundle]" || die "pip install failed"
    python="$venv/bin/python"
fi
"$python" -c 'import PyInstaller, PySide6, textual' 2>/dev/null \
    || die "$python lacks PyInstaller, PySide6 or textual: pip install '.[bundle]' into it"

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' app/__init__.py)"
[ -n "$version" ] || die "no __version__ in app/__init__.py"
arch="$(uname -m)"
step "building Signoff $version for linux-$arch"

rm -rf "$work" "$out/signoff"
mkdir -p "$work" "$out"
QT_QPA_PLATFORM=offscreen "$python" packaging/make_icons.py resources/icons/signoff.svg "$work/icons" \
    || die "rendering the icon failed"
"$python" -m PyInstaller --noconfirm --log-level WARN --workpath "$work/pyinstaller" --distpath "$out" \
    packaging/signoff.spec || die "PyInstaller failed"

bundle="$out/signoff"
share="$bundle/share"
mkdir -p "$share/applications" "$share/metainfo" "$share/icons/hicolor/scalable/apps"
cp -r "$work/icons/." "$share/icons/hicolor/"
cp resources/icons/signoff.svg "$share/icons/hicolor/scalable/apps/signoff.svg"
cp packaging/signoff.desktop "$share/applications/signoff.desktop"
cp packaging/signoff.metainfo.xml "$share/metainfo/app.signoff.Signoff.metainfo.xml"
cp packaging/install-bundle.sh "$bundle/install.sh"
chmod +x "$bundle/install.sh"

if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$share/applications/signoff.desktop" || die "the desktop entry does not validate"
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net "$share/metainfo/app.signoff.Signoff.metainfo.xml" >/dev/null \
        || die "the AppStream metainfo does not validate"
fi

tarball="$out/signoff-$version-linux-$arch.tar.gz"
tar -C "$out" -czf "$tarball" signoff
step "bundle: $bundle ($(du -sh "$bundle" | cut -f1)); tarball: $tarball ($(du -sh "$tarball" | cut -f1))"
step "largest parts:"
du -sh "$bundle/_internal"/* 2>/dev/null | sort -h | tail -n 8 >&2
