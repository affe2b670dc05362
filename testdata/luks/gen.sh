#!/bin/bash
# gen.sh OUT: LUKS volumes encrypted by cryptsetup itself, each around the
# same 24 MiB ext4 filesystem (OUT/plain.img), for package luks and the
# guest layer. cryptsetup encrypts them in place, offline ("reencrypt
# --encrypt", which needs no device-mapper): the data move behind a header
# of 8 MiB, so each decrypted volume starts with plain.img's bytes.
#
#   luks2-xts.img     LUKS2, aes-xts-plain64 (512-bit key), argon2id; a
#                     second key slot (pbkdf2-sha512) opened by "second one"
#   luks2-xts-4k.img  LUKS2, 4096-byte sectors, argon2i
#   luks2-pbkdf2.img  LUKS2, aes-xts-plain64 (256-bit key), pbkdf2-sha256
#   luks1-essiv.img   LUKS1, aes-cbc-essiv:sha256, pbkdf2-sha1
#   luks1-xts.img     LUKS1, aes-xts-plain64, pbkdf2-sha256
#   luks2-cbc.img     LUKS2, aes-cbc-plain64 (128-bit key), pbkdf2-sha256
# The passphrase of slot 0 is "correct horse battery staple" everywhere.
# The key derivations are made cheap (small memory and iteration counts)
# so the tests run fast; real volumes take a second or two per try.
# Content is deterministic; keys and salts are random, as cryptsetup makes
# them. Needs cryptsetup (2.4+), mke2fs; root is not needed.
set -eu
out=$1
mkdir -p "$out"
tmp=$(mktemp -d "$out/.gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The plaintext: an ext4 filesystem of a few files, made by mke2fs -d.
src=$tmp/src
mkdir -p "$src/docs"
printf 'the file inside LUKS\n' >"$src/hello.txt"
for i in $(seq 1 50); do printf 'document %d\n' "$i" >"$src/docs/doc$i.txt"; done
head -c 3000000 /dev/zero | tr '\0' 'L' >"$src/docs/big.bin"
E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -F -t ext4 -b 4096 -L inside \
	-U 7d1c2f3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f -E hash_seed=7d1c2f3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f,root_owner=0:0 \
	-d "$src" "$tmp/plain.img" 24M >/dev/null

pass=$tmp/pass
printf 'correct horse battery staple' >"$pass"
make_luks() { # name cryptsetup-options...
	local name=$1
	shift
	cp "$tmp/plain.img" "$tmp/$name.img"
	truncate -s 40M "$tmp/$name.img"
	cryptsetup reencrypt --encrypt --batch-mode -q --reduce-device-size 16M \
		--key-file "$pass" "$@" "$tmp/$name.img" >/dev/null
}
make_luks luks2-xts --type luks2 --cipher aes-xts-plain64 --key-size 512 \
	--pbkdf argon2id --pbkdf-memory 16384 --pbkdf-force-iterations 4 --pbkdf-parallel 2
printf 'second one' >"$tmp/pass2"
cryptsetup luksAddKey --batch-mode -q --key-file "$pass" --pbkdf pbkdf2 --hash sha512 \
	--pbkdf-force-iterations 1000 "$tmp/luks2-xts.img" "$tmp/pass2"
make_luks luks2-xts-4k --type luks2 --cipher aes-xts-plain64 --key-size 256 --sector-size 4096 \
	--pbkdf argon2i --pbkdf-memory 8192 --pbkdf-force-iterations 4 --pbkdf-parallel 1
make_luks luks2-cbc --type luks2 --cipher aes-cbc-plain64 --key-size 128 \
	--pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000
make_luks luks2-pbkdf2 --type luks2 --cipher aes-xts-plain64 --key-size 256 \
	--pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000
# LUKS1: cryptsetup re-encrypts LUKS1 only through device-mapper, so these
# are made as LUKS2 with a LUKS1-compatible key slot and converted.
make_luks luks1-essiv --type luks2 --cipher aes-cbc-essiv:sha256 --key-size 256 \
	--pbkdf pbkdf2 --hash sha1 --pbkdf-force-iterations 1000
cryptsetup convert --batch-mode -q --type luks1 "$tmp/luks1-essiv.img"
make_luks luks1-xts --type luks2 --cipher aes-xts-plain64 --key-size 512 \
	--pbkdf pbkdf2 --hash sha256 --pbkdf-force-iterations 1000
cryptsetup convert --batch-mode -q --type luks1 "$tmp/luks1-xts.img"

for f in "$tmp"/*.img; do mv "$f" "$out/"; done
