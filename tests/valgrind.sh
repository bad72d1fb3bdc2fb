#!/usr/bin/env bash
# valgrind.sh — the unit tests under valgrind's memcheck, one binary at a
# time, in one process each (CK_FORK=no, so that every test runs under the
# tool): any invalid read or write, use of an uninitialised value or
# definite leak fails its binary.  tests/valgrind.supp names what is
# Berkeley DB's and glibc's own.  About 6 minutes on 2 cores.
#
#   tests/valgrind.sh [BINARY...]    (default: every build/tests/test_*)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
command -v valgrind > /dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ $# -gt 0 ] || set -- $(ls "$BUILD"/tests/test_* | grep -v '\.[od]$')
pass=0 fail=0
for bin in "$@"; do
    name=$(basename "$bin")
    CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --suppressions="$TOP/tests/valgrind.supp" \
        "$bin" > "$out/$name.log" 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        pass=$((pass + 1))
        echo "ok - $name clean under valgrind"
    else
        fail=$((fail + 1))
        echo "not ok - $name under valgrind (exit $rc)"
        grep -E '^==[0-9]+== [0-9A-Z]|Failures: [1-9]|:F:|:E:' "$out/$name.log" | head -8 | sed 's/^/# /'
    fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
