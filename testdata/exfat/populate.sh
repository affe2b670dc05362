#!/bin/bash
# populate.sh DIR full|tiny: writes the exFAT test tree into DIR (a
# mount.exfat-fuse mount). Content is made by seq, so every file is
# deterministic and distinct; times are set last, deepest first, so that
# writing a child does not move its directory's times afterwards.
set -eu
cd "$1"
kind=$2
# fill NAME SIZE: SIZE bytes of numbered lines naming the file.
fill() { seq -f "%09g $1" 1 $(($2 / 10 + 1)) | head -c "$2" >"$1"; }

mkdir -p a/b/c/d empty-dir
echo deep >a/b/c/d/deep.txt
: >empty
fill hello.txt 13
if [ "$kind" = tiny ]; then
	fill two-clusters 1000
	printf 'x%.0s' $(seq 1 200) >"$(printf 'L%.0s' $(seq 1 100))"
	echo accent >café.txt
	fill gone 700
	rm gone
	touch -d '2020-02-29 12:34:56.78' hello.txt
	exit 0
fi

mkdir sizes
for n in 1 511 512 513 4095 4096 4097 65535 65536 65537 131071 131072 131073 1000000 3000001; do
	fill "sizes/s$n" "$n"
done

# Fragmented chains: appends to two files in turn, one cluster at a time.
mkdir frag
cs=$(stat -f -c %S .)
# chunk NAME I: one cluster of lines naming the file and the round.
chunk() { seq -f "%09g $1-$2" 1 $((cs / 10 + 1)) | head -c "$cs"; }
for i in $(seq 1 24); do
	chunk left "$i" >>frag/left
	chunk right "$i" >>frag/right
done
# Holes left by deleted files, then one file large enough to fill them.
for i in $(seq 1 12); do fill "frag/tmp$i" $((cs * 2)); done
for i in $(seq 1 2 12); do rm "frag/tmp$i"; done
fill frag/filler $((cs * 15 + 77))

# A folder of 1200 entries (most empty: they need no cluster).
mkdir many
for i in $(seq -w 1 1200); do
	if [ $((10#$i % 100)) = 0 ]; then fill "many/entry-$i.txt" 100; else : >"many/entry-$i.txt"; fi
done

mkdir names
long=$(printf 'n%.0s' $(seq 1 250))
echo long >"names/$long.txt" # 254 characters
echo 255 >"names/$(printf 'x%.0s' $(seq 1 255))"
echo accents >"names/café déjà vu – Ærø.txt"
echo cjk >"names/日本語のファイル名.txt"
echo emoji >"names/😀 smile 🎉.txt"
echo ok >"names/semi;colon,comma+plus=eq[brackets]{braces}'quote'#hash%pct&amp@at!bang~tilde\`tick^caret"
echo mixed >names/MixedCase.TXT
mkdir names/Ünïcödé-dir
echo in >names/Ünïcödé-dir/inside

mkdir times
times=('1980-01-01 00:00:00' '1999-12-31 23:59:59.99' '2020-02-29 12:34:56.78' '2038-01-19 03:14:08.5' '2107-12-31 23:59:58')
for t in "${times[@]}"; do echo "$t" >"times/t-${t%% *}"; done

# A deleted file: its entries stay in the folder with InUse clear.
fill deleted.txt 5000
rm deleted.txt

# Times: everything, deepest first; then the files whose times differ
# (setting a file's times leaves its folder's alone).
find . -depth -mindepth 1 -print0 | xargs -0 touch -d '2023-01-02 03:04:05.06'
touch -d '2022-05-06 07:08:09.10' hello.txt empty
# exfat-fuse ignores a utimensat that leaves one time as it is
# (UTIME_OMIT, touch -m or -a): set both at once, with perl.
atime=$(date -d '2024-06-01 10:00:00' +%s)
for t in "${times[@]}"; do
	perl -MTime::HiRes=utime -e 'utime($ARGV[0], $ARGV[1], $ARGV[2]) or die "$ARGV[2]: $!"' \
		"$atime" "$(date -d "$t" +%s.%N)" "times/t-${t%% *}"
done
