#!/usr/bin/env bash
# Builds the canopsis-upgrade RPM (and its source RPM) with rpmbuild, here on Debian 12 or on
# any machine with rpmbuild, cargo and, by default, cargo-zigbuild and zig:
#
#   packaging/build-rpm.sh [--worktree] [--topdir DIR] [--cache DIR] [--native]
#
# 1. the source tarball: `git archive` of HEAD, or with --worktree the working tree as it is
#    (tracked and untracked files, less what .gitignore ignores): what the tests build;
# 2. the vendored crates of Cargo.lock (`cargo vendor`), for the spec's offline build;
# 3. `rpmbuild -ba` in a private _topdir (a new temporary one unless --topdir), with
#    `--with zigbuild` (a binary for a glibc 2.28 baseline: EL8 and EL9) unless --native (on an
#    EL8 builder, whose own glibc is the baseline) and `--without check` (the test suite runs
#    the unit tests itself).
#
# --cache DIR keeps cargo's build directory (DIR/cargo) and rpmbuild's (DIR/BUILD) between
# builds: the vendored crates then sit at the same path each time, which cargo's fingerprints
# include, so they are not compiled again. zig: $ZIG, else `zig` on PATH, else the ziglang package of the Python venv
# /opt/canopsis-upgrade-zig (tests/run.sh provisions it).
#
# Prints the binary RPM's path on stdout, last; everything else goes to stderr.
set -euo pipefail

say() { printf '[build-rpm] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
worktree=false topdir="" cache="" native=false
while [ $# -gt 0 ]; do
    case "$1" in
        --worktree) worktree=true ;;
        --topdir) topdir=$2; shift ;;
        --cache) cache=$2; shift ;;
        --native) native=true ;;
        -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

for tool in rpmbuild cargo git tar gzip; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install rpm cargo git)"
done

name=canopsis-upgrade
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n1)
spec_version=$(sed -n 's/^Version: *//p' "$repo/packaging/$name.spec")
[ "$version" = "$spec_version" ] ||
    die "Cargo.toml says version $version, the spec $spec_version: make them agree"
stem=$name-$version

if [ -z "$topdir" ]; then
    topdir=$(mktemp -d "${TMPDIR:-/tmp}/$name-rpmbuild.XXXXXX")
fi
mkdir -p "$topdir"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}
topdir=$(cd "$topdir" && pwd)

say "source tarball ($([ "$worktree" = true ] && echo 'working tree' || echo HEAD))"
if [ "$worktree" = true ]; then
    # Files that exist (a deleted tracked file is still listed by ls-files until committed).
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - --transform "s,^,$stem/," -czf "$topdir/SOURCES/$stem.tar.gz")
else
    git -C "$repo" archive --format=tar.gz --prefix="$stem/" -o "$topdir/SOURCES/$stem.tar.gz" HEAD
fi

say "vendored crates"
stage=$(mktemp -d "$topdir/vendor-stage.XXXXXX")
# Offline first (the crates are usually in cargo's cache already), else from the registry.
vendor() { cargo vendor --quiet --locked "$@" --manifest-path "$repo/Cargo.toml" "$stage/vendor" >/dev/null; }
vendor --offline 2>/dev/null || vendor
tar -C "$stage" -cf - vendor | gzip -1 >"$topdir/SOURCES/$stem-vendor.tar.gz"
rm -rf "$stage"

cp "$repo/packaging/$name.spec" "$topdir/SPECS/"

args=(-ba --define "_topdir $topdir" --without check)
if [ "$native" = false ]; then
    command -v cargo-zigbuild >/dev/null ||
        die "cargo-zigbuild is missing (cargo install --locked cargo-zigbuild), or build --native on EL8"
    zig=${ZIG:-$(command -v zig || true)}
    if [ -z "$zig" ] && [ -x /opt/canopsis-upgrade-zig/bin/python3 ]; then
        zig=$(/opt/canopsis-upgrade-zig/bin/python3 -c \
            'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
    fi
    [ -n "$zig" ] && [ -x "$zig" ] ||
        die "zig is missing: set ZIG, or python3 -m venv /opt/canopsis-upgrade-zig && /opt/canopsis-upgrade-zig/bin/pip install ziglang"
    export CARGO_ZIGBUILD_ZIG_PATH=$zig
    args+=(--with zigbuild)
fi
if [ -n "$cache" ]; then
    mkdir -p "$cache/cargo" "$cache/BUILD"
    cache=$(cd "$cache" && pwd)
    args+=(--define "cargo_target_dir $cache/cargo" --define "_builddir $cache/BUILD")
fi
# The build dependencies come from Debian's packages (or rustup), which rpm's own (empty)
# database does not know: only an rpm-based builder checks BuildRequires.
rpm -q rpm >/dev/null 2>&1 || args+=(--nodeps)

say "rpmbuild ${args[*]}"
rpmbuild "${args[@]}" "$topdir/SPECS/$name.spec" >&2

rpms=("$topdir"/RPMS/*/"$stem"-*.rpm)
[ -f "${rpms[0]}" ] || die "rpmbuild made no binary RPM in $topdir/RPMS"
printf '%s\n' "${rpms[0]}"
