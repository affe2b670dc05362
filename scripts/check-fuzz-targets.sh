#!/bin/bash
# check-fuzz-targets.sh PKG:FUNC...: fails when a Fuzz function of the
# module is missing from the list given (the Makefile's FUZZ_TARGETS, which
# `make fuzz` runs) or the list names one that does not exist, so that a
# target moved to another package or a new one is not left out quietly.
set -eu
cd "$(dirname "$0")/.."
want=$(printf '%s\n' "$@" | sort)
have=$(grep -rH --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . |
	sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|./\1:\2|' | sort)
if [ "$want" != "$have" ]; then
	echo "FUZZ_TARGETS in the Makefile and the module's fuzz targets differ (< Makefile, > code):" >&2
	diff <(echo "$want") <(echo "$have") >&2 || true
	exit 1
fi
