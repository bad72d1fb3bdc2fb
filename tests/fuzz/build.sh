#!/bin/sh
# Build the libFuzzer harnesses under tests/fuzz and run each for a bounded
# time.  usage: tests/fuzz/build.sh [SECONDS [HARNESS]]  (default 60 s each;
# HARNESS, e.g. fuzz_dsn, runs only that one)
# Needs clang and libclang-rt-14-dev.  Work goes under $BUILD/fuzz (default
# /tmp/bounceguard-fuzz); the seed corpus is tests/data/dsn plus the bounce
# corpus (tests/data/bounces).  Exit status non-zero when a harness found a crash
# (the reproducer is left in $BUILD/fuzz).
set -eu
SECONDS_PER=${1:-60}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${BUILD:-/tmp/bounceguard-fuzz}/fuzz
case $OUT in /*) ;; *) OUT=$TOP/$OUT ;; esac
mkdir -p "$OUT"
CC=${FUZZ_CC:-clang}
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -std=c11 -I$TOP/include"
LIBSRC=$(ls "$TOP"/lib/*.c)
LIBS="$(pkg-config --libs libpsl libidn2 jansson libcares hiredis) -ldb -lspf2 -lresolv -lnettle -lpthread"
ONLY=${2:-}

status=0
for harness in "$TOP"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$harness" .c)
    [ -z "$ONLY" ] || [ "$ONLY" = "$name" ] || continue
    echo "== building $name"
    # shellcheck disable=SC2086
    if ! $CC $FLAGS -o "$OUT/$name" "$harness" $LIBSRC $LIBS; then
        echo "== $name does not build"
        status=1
        continue
    fi
    seeds="$OUT/$name.corpus"
    mkdir -p "$seeds"
    cp "$TOP"/tests/data/dsn/*.eml "$seeds"/ 2>/dev/null || true
    cp "$TOP"/tests/data/bounces/*.eml "$seeds"/ 2>/dev/null || true
    echo "== running $name for ${SECONDS_PER}s"
    if ! (cd "$OUT" && "./$name" -max_total_time="$SECONDS_PER" -max_len=262144 \
            -rss_limit_mb=2048 -timeout=10 "$seeds"); then
        echo "== $name found a problem; reproducer in $OUT"
        status=1
    fi
done
exit $status
