#!/bin/sh
# Build the libFuzzer harnesses: tests/fuzz/fuzz_NAME.c -> $OUT/fuzz_NAME,
# each with the library sources it needs, under ASan and UBSan.
#   tests/fuzz/build.sh [OUTDIR]        (default /tmp/bg-fuzz)
#   /tmp/bg-fuzz/fuzz_addr -max_total_time=60 CORPUS_DIR
# One line per harness: add yours by appending a line.
set -eu
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/bg-fuzz}
mkdir -p "$OUT"
CC=${CC_FUZZ:-clang}
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -D_GNU_SOURCE"
PKGS="$(pkg-config --cflags --libs libpsl libidn2)"
fuzz() { name=$1; shift; $CC $FLAGS -o "$OUT/$name" "tests/fuzz/$name.c" "$@" $PKGS -lpthread; echo "built $OUT/$name"; }

fuzz fuzz_addr lib/addr.c lib/util.c lib/log.c
fuzz fuzz_mtalog lib/mtalog.c
