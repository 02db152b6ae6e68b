#!/usr/bin/env bash
# Build KenLM's `lmplz` (ARPA estimation) and `build_binary` (ARPA -> binary)
# into <prefix>/bin and print that folder on stdout.
#
# The `kenlm` wheel on PyPI only ships the Python query module; the estimation
# programs are not packaged anywhere on pip or in Debian. The kenlm *sdist* on
# PyPI (kenlm-X.tar.gz) however carries the full C++ tree (lm/builder/ included),
# so this script fetches it with `pip download` (a registry route, no GitHub
# needed), configures it with cmake and builds only the two targets it needs.
#
# Idempotent: when <prefix>/bin/lmplz and <prefix>/bin/build_binary already exist
# and run, it prints the folder and exits without rebuilding (use --force to
# rebuild). All progress goes to stderr; stdout carries only the bin folder, so
#     LMPLZ_DIR="$(scripts/build_kenlm.sh)"
# works.
#
# Requirements (Debian/Ubuntu):
#     apt-get install -y cmake g++ make libboost-program-options-dev \
#         libboost-system-dev libboost-thread-dev libboost-test-dev \
#         zlib1g-dev libbz2-dev liblzma-dev
# (zlib/bz2/lzma are optional: they let lmplz/build_binary read compressed text.)
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/build_kenlm.sh [--prefix DIR] [--version V] [--source PATH] [--jobs N] [--force]

Build KenLM's lmplz and build_binary into DIR/bin and print DIR/bin on stdout.

Options:
  --prefix DIR    install prefix; binaries go to DIR/bin (default: .cache/kenlm,
                  relative to the repository root; env KENLM_PREFIX also works)
  --version V     kenlm sdist version fetched from PyPI with `pip download`
                  (default: 0.3.0; env KENLM_VERSION)
  --source PATH   use a local kenlm source tree or .tar.gz instead of pip download
  --jobs N        parallel compile jobs (default: number of CPUs)
  --force         rebuild even when the binaries already exist
  -h, --help      show this help
EOF
}

log() { echo "[build_kenlm] $*" >&2; }
die() { echo "[build_kenlm] ERROR: $*" >&2; exit 1; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${KENLM_PREFIX:-$REPO_ROOT/.cache/kenlm}"
VERSION="${KENLM_VERSION:-0.3.0}"
SOURCE=""
JOBS="$(nproc 2>/dev/null || echo 2)"
FORCE=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) PREFIX="${2:?--prefix needs a value}"; shift 2 ;;
        --version) VERSION="${2:?--version needs a value}"; shift 2 ;;
        --source) SOURCE="${2:?--source needs a value}"; shift 2 ;;
        --jobs) JOBS="${2:?--jobs needs a value}"; shift 2 ;;
        --force) FORCE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

mkdir -p "$PREFIX"
PREFIX="$(cd "$PREFIX" && pwd)"
BIN_DIR="$PREFIX/bin"

binaries_ok() {
    [[ -x "$BIN_DIR/lmplz" && -x "$BIN_DIR/build_binary" ]] || return 1
    # Capture first: `grep -q` on a pipe would SIGPIPE the program under pipefail.
    # build_binary without arguments exits non-zero after printing its usage.
    local out
    out="$("$BIN_DIR/lmplz" --help 2>&1 || true)"
    [[ "$out" == *"--order"* ]] || return 1
    out="$("$BIN_DIR/build_binary" 2>&1 || true)"
    [[ "$out" == *"Usage"* ]] || return 1
}

if [[ "$FORCE" -eq 0 ]] && binaries_ok; then
    log "lmplz and build_binary already built in $BIN_DIR (use --force to rebuild)"
    echo "$BIN_DIR"
    exit 0
fi

# ---- check the toolchain and libraries, naming everything that is missing ----
missing=()
for tool in cmake make g++; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("program '$tool' (apt-get install $([[ $tool == g++ ]] && echo g++ || echo "$tool"))")
done
if [[ -z "$SOURCE" ]]; then
    python3 -m pip --version >/dev/null 2>&1 || missing+=("'python3 -m pip' (needed to fetch the kenlm sdist; or pass --source)")
fi
# Boost: headers plus the shared libraries cmake's FindBoost looks for.
header_dirs=(/usr/include /usr/local/include)
have_header() {
    for d in "${header_dirs[@]}"; do [[ -f "$d/$1" ]] && return 0; done
    return 1
}
have_lib() {
    # ldconfig cache first, then the usual multiarch folders.
    ldconfig -p 2>/dev/null | grep -q "lib$1\.so " && return 0
    compgen -G "/usr/lib/*/lib$1.so" >/dev/null || compgen -G "/usr/lib/lib$1.so" >/dev/null \
        || compgen -G "/usr/local/lib/lib$1.so" >/dev/null
}
check_boost() {  # $1 = component, $2 = header, $3 = apt package
    if ! have_header "$2" || ! have_lib "boost_$1"; then
        missing+=("Boost.$1 (apt-get install $3)")
    fi
}
check_boost program_options boost/program_options.hpp libboost-program-options-dev
check_boost system boost/system/error_code.hpp libboost-system-dev
check_boost thread boost/thread.hpp libboost-thread-dev
check_boost unit_test_framework boost/test/unit_test.hpp libboost-test-dev
have_header zlib.h || missing+=("zlib headers (apt-get install zlib1g-dev)")

if [[ ${#missing[@]} -gt 0 ]]; then
    echo "[build_kenlm] ERROR: cannot build KenLM, missing:" >&2
    for m in "${missing[@]}"; do echo "  - $m" >&2; done
    echo "[build_kenlm] On Debian/Ubuntu: apt-get update && apt-get install -y cmake make g++ \\" >&2
    echo "    libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev \\" >&2
    echo "    zlib1g-dev libbz2-dev liblzma-dev" >&2
    exit 1
fi
have_header bzlib.h || log "note: bzlib.h not found (libbz2-dev); .bz2 input will not be readable"
have_header lzma.h || log "note: lzma.h not found (liblzma-dev); .xz input will not be readable"

# ---- fetch and unpack the source ----
SRC_ROOT="$PREFIX/src"
mkdir -p "$SRC_ROOT"
if [[ -n "$SOURCE" ]]; then
    if [[ -d "$SOURCE" ]]; then
        SRC_DIR="$(cd "$SOURCE" && pwd)"
    elif [[ -f "$SOURCE" ]]; then
        TARBALL="$SOURCE"
    else
        die "--source $SOURCE: no such file or folder"
    fi
else
    TARBALL="$SRC_ROOT/kenlm-$VERSION.tar.gz"
    if [[ ! -s "$TARBALL" ]]; then
        log "fetching kenlm==$VERSION sdist from PyPI (pip download)"
        # --no-build-isolation: pip only needs the metadata, and must not try to
        # build cmake from source for the isolated build environment.
        python3 -m pip download --quiet --no-deps --no-binary kenlm --no-build-isolation \
            "kenlm==$VERSION" -d "$SRC_ROOT" >&2 \
            || die "pip download kenlm==$VERSION failed (no registry access? pass --source PATH to a kenlm tree or tarball)"
        [[ -s "$TARBALL" ]] || die "pip download did not produce $TARBALL"
    fi
fi
if [[ -z "${SRC_DIR:-}" ]]; then
    # awk reads the whole listing (no SIGPIPE under pipefail).
    top="$(tar tzf "$TARBALL" | awk -F/ 'NR == 1 {print $1}')"
    [[ -n "$top" ]] || die "$TARBALL: not a readable .tar.gz"
    rm -rf "${SRC_ROOT:?}/$top"
    tar xzf "$TARBALL" -C "$SRC_ROOT" || die "$TARBALL: could not unpack"
    SRC_DIR="$SRC_ROOT/$top"
fi
[[ -f "$SRC_DIR/lm/builder/lmplz_main.cc" ]] \
    || die "$SRC_DIR has no lm/builder/lmplz_main.cc: this kenlm source does not contain the lmplz estimation code"

# ---- configure and build only the two programs ----
BUILD_DIR="$PREFIX/build"
rm -rf "$BUILD_DIR"
start=$(date +%s)
log "configuring $SRC_DIR in $BUILD_DIR"
cmake -S "$SRC_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCOMPILE_TESTS=OFF \
    -DENABLE_PYTHON=OFF -DENABLE_INTERPOLATE=OFF >"$PREFIX/cmake-configure.log" 2>&1 \
    || { tail -30 "$PREFIX/cmake-configure.log" >&2; die "cmake configure failed (full log: $PREFIX/cmake-configure.log)"; }
log "building lmplz and build_binary with $JOBS job(s)"
cmake --build "$BUILD_DIR" --target lmplz build_binary -j "$JOBS" >"$PREFIX/cmake-build.log" 2>&1 \
    || { tail -30 "$PREFIX/cmake-build.log" >&2; die "build failed (full log: $PREFIX/cmake-build.log)"; }

mkdir -p "$BIN_DIR"
for prog in lmplz build_binary; do
    built="$(find "$BUILD_DIR" -type f -name "$prog" -perm -u+x | awk 'NR == 1')"
    [[ -n "$built" ]] || die "build finished but $prog was not found under $BUILD_DIR"
    install -m 0755 "$built" "$BIN_DIR/$prog"
done
binaries_ok || die "built binaries in $BIN_DIR do not run"
log "built in $(( $(date +%s) - start )) s: $BIN_DIR/lmplz, $BIN_DIR/build_binary"
echo "$BIN_DIR"
