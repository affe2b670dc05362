# rand.sh: a PRNG of the scripts' own (64-bit LCG, high bits), so that a
# seed gives the same operations under every bash ($RANDOM changed its
# generator in bash 5.1). Sourced by gen.sh.

# rseed SEED SALT: starts the sequence.
rseed() {
	local salt=0 i c
	for ((i = 0; i < ${#2}; i++)); do
		printf -v c '%d' "'${2:i:1}"
		salt=$((salt * 31 + c))
	done
	rs=$(($1 * 2654435761 + salt + 88172645463325252))
	rnd 2; rnd 2
}

# rnd N: R is the next number in [0, N).
rnd() {
	rs=$((rs * 6364136223846793005 + 1442695040888963407))
	R=$((((rs >> 33) & 0x7fffffff) % $1))
}

# chance PCT: true PCT times in a hundred.
chance() { rnd 100; [ "$R" -lt "$1" ]; }

# oneof A B...: R is one of the arguments.
oneof() { local -a a=("$@"); rnd ${#a[@]}; R=${a[R]}; }
