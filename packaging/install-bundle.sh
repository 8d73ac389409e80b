#!/usr/bin/env bash
# Installs this Signoff bundle for the current user: the folder under ~/.local/opt/signoff, `signoff` on the PATH
# (~/.local/bin), and the desktop entry, icons and AppStream metainfo where the application menu finds them.
# PREFIX=/usr/local (as root) installs it for everyone. Run it from the unpacked bundle: ./install.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="${PREFIX:-$HOME/.local}"
target="$prefix/opt/signoff"

mkdir -p "$prefix/opt" "$prefix/bin" "$prefix/share/applications" "$prefix/share/metainfo"
if [ "$here" != "$target" ]; then
    rm -rf "$target"
    cp -r "$here" "$target"
fi
ln -sf "$target/signoff" "$prefix/bin/signoff"
cp -r "$target/share/icons" "$prefix/share/"
cp "$target/share/metainfo/"*.xml "$prefix/share/metainfo/"
# The menu starts the installed binary by its full path: ~/.local/bin is not on every desktop session's PATH.
sed "s|^Exec=signoff|Exec=$target/signoff|" "$target/share/applications/signoff.desktop" \
    >"$prefix/share/applications/signoff.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/share/icons/hicolor" || true
echo "Signoff is installed in $target; find it in the application menu, or run: $prefix/bin/signoff"
