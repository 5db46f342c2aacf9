#!/usr/bin/env bash
# Build the minimap2 binary of the SAME version as the installed mappy (minimap2's own Python
# binding), from the mappy sdist, which ships minimap2's full C source with main.c and a Makefile.
# The oracle tests (tests/test_align.py) compare the mappy engine record by record against it;
# Debian's minimap2 is older (2.24) and is not a valid anchor for mappy 2.31.
#
#   usage: tests/tools/build_minimap2.sh [PYTHON]     (default: .venv/bin/python)
#   result: .cache/minimap2-<version>/minimap2        (git-ignored; reused when present)
# Needs a C compiler, make and the zlib headers; prints the binary's path on success.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${1:-.venv/bin/python}
version=$("$python" -c 'import importlib.metadata as m; print(m.version("mappy"))')
dest=".cache/minimap2-$version"
same_version() { case "$("$1" --version 2>/dev/null)" in "$version"|"$version"-*) return 0;; esac; return 1; }
if [ -x "$dest/minimap2" ] && same_version "$dest/minimap2"; then
  echo "$dest/minimap2"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet "mappy==$version" --no-binary :all: --no-deps -d "$work" >&2
tar -xzf "$work"/mappy-"$version".tar.gz -C "$work"
make -s -C "$work/mappy-$version" -j "$(nproc 2>/dev/null || echo 2)" minimap2 >&2
built="$work/mappy-$version/minimap2"
same_version "$built" || { echo "built minimap2 reports the wrong version" >&2; exit 1; }
mkdir -p "$dest"
cp "$built" "$dest/minimap2.tmp$$" && mv "$dest/minimap2.tmp$$" "$dest/minimap2"
echo "$dest/minimap2"
