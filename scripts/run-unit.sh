#!/bin/sh
# Run every unit-test binary given; print each one's summary and a total
# line "N passed, N failed" that CI reads.  Exit non-zero if any failed.

passed=0
failed=0
status=0

for bin in "$@"; do
    out=$("$bin") || status=1
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s' "$line" | sed -n 's/.* \([0-9][0-9]*\) passed, .*/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
    if [ -z "$p" ] || [ -z "$f" ]; then
        echo "$bin: no summary line (crashed?)"
        status=1
        failed=$((failed + 1))
        continue
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done

echo "unit: $passed passed, $failed failed"
exit $status
