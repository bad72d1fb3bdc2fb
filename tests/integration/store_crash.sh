#!/usr/bin/env bash
# The store shared by several processes: two writers at once lose nothing, and
# a writer killed with SIGKILL mid-stream leaves a store that opens and holds
# every record whose commit it had reported.
set -u
W=$TOP/$BUILD/tools/store_writer
[ "${BUILD#/}" != "$BUILD" ] && W=$BUILD/tools/store_writer
T=$(mktemp -d /tmp/bg-store-crash.XXXXXX)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT

# Two processes writing at once.
"$W" write "$T/db" a 1500 > "$T/a.out" 2> "$T/a.err" &
pa=$!
"$W" write "$T/db" b 1500 > "$T/b.out" 2> "$T/b.err" &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
if [ $ra -eq 0 ] && [ $rb -eq 0 ] && [ "$(cat "$T/a.out" "$T/b.out" | wc -l)" -eq 3000 ]; then
    echo "ok - two concurrent writers both finished (3000 commits)"
else
    echo "not ok - concurrent writers failed: $(cat "$T/a.err" "$T/b.err" | head -3)"
fi
if cat "$T/a.out" "$T/b.out" | "$W" verify "$T/db" > "$T/v.out" 2>&1; then
    echo "ok - concurrent writers lost nothing ($(cat "$T/v.out"))"
else
    echo "not ok - concurrent writers lost records: $(cat "$T/v.out")"
fi

# SIGKILL in the middle of writes, five times, each time with a reader running.
lost=0 rounds=0 committed=0
for round in 1 2 3 4 5; do
    "$W" write "$T/db" "k$round" 100000 > "$T/k$round.out" 2>/dev/null &
    pk=$!
    # let it commit some (a loaded machine may take a while to start it),
    # then kill it at a random point
    for _ in $(seq 100); do [ "$(wc -l < "$T/k$round.out")" -ge 5 ] && break; sleep 0.1; done
    sleep "0.$((RANDOM % 5 + 1))"
    kill -9 $pk
    wait $pk 2>/dev/null
    rounds=$((rounds + 1))
    committed=$((committed + $(wc -l < "$T/k$round.out")))
    # The last line may be cut by the kill: verify only complete lines.
    if ! grep '@example.com$' "$T/k$round.out" | "$W" verify "$T/db" > "$T/kv.out" 2>&1; then
        lost=$((lost + 1))
        echo "# round $round: $(cat "$T/kv.out")"
    fi
done
if [ $lost -eq 0 ] && [ $committed -gt 0 ]; then
    echo "ok - $rounds SIGKILLs mid-write: store reopens and holds all $committed committed records"
else
    echo "not ok - after SIGKILL, $lost of $rounds rounds lost committed records"
fi
