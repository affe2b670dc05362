#!/bin/bash
# populate-bench.sh DIR: 50,000 files of 1 to 4 KiB in 250 directories of
# 200, the tree the find-and-hash benchmarks walk. Builtins only, so that
# it takes seconds, not a fork per file.
set -eu
cd "$1"
big=$(printf '%0512d' 0; for i in $(seq 1 600); do printf '%07d\n' "$i"; done)
for d in $(seq 0 249); do
	mkdir "d$d"
	for f in $(seq 0 199); do
		n=$(( 1024 + (d * 200 + f) * 37 % 3072 ))
		printf '%s %s\n%.*s' "$d" "$f" "$n" "$big" >"d$d/file-$f.txt"
	done
done
