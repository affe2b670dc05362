#!/usr/bin/env bash
# fuzz.sh FUZZTIME PKG:TARGET...: runs each fuzz target for FUZZTIME, and
# stops at the first real finding (make fuzz).
#
# Go 1.26's fuzz coordinator can end a time-bounded run with a bare
# "context deadline exceeded" when a worker is still busy at the deadline
# (golang/go#75804, fixed in Go 1.27): no input is written, nothing is
# found. Such a run is reported and the campaign goes on; a failure that
# writes an input to testdata/fuzz/TARGET, or any other failure, stops it.
set -uo pipefail
fuzztime=$1
shift
go=${GO:-go}
for t in "$@"; do
	pkg=${t%%:*} fn=${t##*:}
	corpus="$pkg/testdata/fuzz/$fn"
	before=$(ls "$corpus" 2>/dev/null | sort)
	echo "== $pkg $fn"
	out=$(mktemp)
	if $go test "$pkg" -run '^$' -fuzz "^$fn\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x 2>&1 | tee "$out"; then
		rm -f "$out"
		continue
	fi
	after=$(ls "$corpus" 2>/dev/null | sort)
	if [ "$before" = "$after" ] && grep -q '^    context deadline exceeded$' "$out" && ! grep -q -e 'panic:' -e 'Failing input written' "$out"; then
		echo "== $pkg $fn: the run ended with Go's deadline race (golang/go#75804), no input written; going on"
		rm -f "$out"
		continue
	fi
	rm -f "$out"
	exit 1
done
