# ckptfs — build, test data, tests, fuzzing, benchmarks and the demo.
# `make demo` and `make test` are the two commands the README promises.

export PATH := $(PATH):/usr/local/go/bin
GO      ?= go
OUT     := testdata/out
FUZZTIME ?= 30s
# Race detector and a timeout on every test run, so a FUSE hang gives a backtrace.
TESTFLAGS ?= -race -timeout 20m

.PHONY: all build install deps testdata test vet fuzz mutate crosscheck crosscheck-win bench demo clean

all: build

build:
	$(GO) build -o bin/ckptfs ./cmd/ckptfs
	$(GO) build -o bin/mkchain ./tools/mkchain
	$(GO) build -o bin/mkbitlocker ./tools/mkbitlocker

install: build
	install -m 0755 bin/ckptfs /usr/local/bin/ckptfs

deps:
	scripts/install-deps.sh

# Test images are made by scripts, never committed. Each test also builds
# what it needs when it is missing; this target builds everything at once.
testdata: build
	bash testdata/demo/gen.sh $(OUT)/demo >/dev/null
	bash testdata/ntfs/gen.sh $(OUT)/ntfs small
	bash testdata/ntfs/gen.sh $(OUT)/ntfs tiny
	sh testdata/guest/gen.sh
	bash testdata/diff/gen.sh $(OUT)/diff
	@# XFS images are written through a loop mount: root only (the tests skip otherwise).
	@if [ "$$(id -u)" = 0 ]; then for v in v5 v5-1k v5-64k v4 tiny dirty wrapped; do \
		[ -f $(OUT)/xfs/$$v.img ] || bash testdata/xfs/gen.sh $(OUT)/xfs $$v || exit 1; done; fi
	@# exFAT images are written through mount.exfat-fuse on a loop device: root only.
	@if [ "$$(id -u)" = 0 ]; then for v in c512 c4k c128k tz tiny; do \
		[ -f $(OUT)/exfat/$$v.img ] || bash testdata/exfat/gen.sh $(OUT)/exfat $$v || exit 1; done; fi

vet:
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above" && false)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.6.1 ./...
	# The library packages build and vet on other systems too (go-fuse,
	# under fs, mount and the CLI, builds on Linux and macOS only).
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet $$($(GO) list ./... | grep -v -e '/fs$$' -e '/mount$$' -e '/cmd/ckptfs$$' -e '/tools/memfuse$$')
	# Every fuzz target is in FUZZ_TARGETS, and every entry there exists.
	bash scripts/check-fuzz-targets.sh $(FUZZ_TARGETS)

test: build testdata vet
	$(GO) test $(TESTFLAGS) ./...

# Every parser's fuzz target for FUZZTIME each. Shrinking new inputs is
# capped: with the default (60 s each) large disk inputs make the fuzzer
# look stalled (golang/go#48820).
# One target per line, so that new ones do not collide.
FUZZ_TARGETS := \
	./remote:FuzzNames \
	./remote:FuzzContentRange \
	./vhdx:FuzzVHDXOpen \
	./vhdx:FuzzLogReplay \
	./vhdx:FuzzVHDOpen \
	./ntfs:FuzzVolume \
	./ntfs:FuzzRecord \
	./ntfs:FuzzLZNT1 \
	./ntfs:FuzzRunlist \
	./ntfs:FuzzEAs \
	./catalog:FuzzVMCX \
	./catalog:FuzzVMXML \
	./guest:FuzzVolumes \
	./guest:FuzzLVMJoin \
	./ext:FuzzVolume \
	./ext:FuzzInodes \
	./ext:FuzzExtXattrs \
	./guest:FuzzRewriteLink \
	./guest:FuzzLVMConfig \
	./guest:FuzzFstab \
	./merge:FuzzJournal \
	./vhdx:FuzzOpenUpdate \
	./internal/xpress:FuzzXpress \
	./internal/lzx:FuzzLZX \
	./nbd:FuzzSession \
	./btrfs:FuzzVolume \
	./btrfs:FuzzDecompress \
	./btrfs:FuzzLogReplay \
	./btrfs:FuzzDevices \
	./xfs:FuzzVolume \
	./xfs:FuzzInodes \
	./xfs:FuzzLogRecord \
	./vss:FuzzCatalog \
	./vss:FuzzStore \
	./bitlocker:FuzzMetadata \
	./bitlocker:FuzzStartupKey \
	./luks:FuzzVolume \
	./regf:FuzzHive \
	./luks:FuzzJSON \
	./internal/jbd2:FuzzReplay \
	./exfat:FuzzExFAT \
	./ldm:FuzzDatabase \
	# end

fuzz:
	GO=$(GO) bash scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

# The CLI mutation run: MUTANTS mutated images through check, a FUSE mount
# and a full read (root, for FUSE); figures in testdata/out/mutate.
# MUTATE_BASES=ldm,lvmspan mutates those bases only.
MUTANTS ?= 300
mutate:
	bash scripts/mutate.sh -n $(MUTANTS) $(if $(MUTATE_BASES),-bases $(MUTATE_BASES))

# The randomized cross-check of the Linux readers against the kernel (root):
# SEEDS filesystems each of XFS, ext2/3/4 and btrfs made by
# testdata/cross/gen.sh (every third left dirty), every path compared with
# the kernel's mount, then one summary line per filesystem. SEEDS=A-B runs
# those seeds; CKPTFS_CROSS_KEEP=DIR keeps the images that disagree.
SEEDS ?= 30
crosscheck:
	CKPTFS_CROSS_SEEDS=$(SEEDS) nice $(GO) test -count=1 -timeout 0 -v -run '^TestCross$$' ./xfs ./ext ./btrfs \
		2>&1 | tee $(OUT)/crosscheck.log | grep -E '^\s+(cross_linux.go:[0-9]+: crosscheck |--- FAIL)|^(ok|FAIL|---)'

# The randomized cross-check of the Windows-volume readers (root): SEEDS
# volumes each of NTFS, exFAT and FAT12/16/32 made by
# testdata/crosswin/gen.sh, every file compared with ntfs-3g, exfat-fuse,
# mtools and sleuthkit, then one summary line per filesystem. SEEDS=A-B
# runs those seeds; a volume that disagrees is kept in testdata/out/crosswin.
crosscheck-win:
	CKPTFS_CROSSWIN_SEEDS=$(SEEDS) nice $(GO) test -count=1 -timeout 0 -v ./internal/crosswin \
		2>&1 | tee $(OUT)/crosscheck-win.log | grep -E '^(crosswin: |ok|FAIL)|^\s*--- FAIL'

# BENCH_SECTIONS=11 make bench runs section 11 of scripts/bench.sh alone;
# the Go benchmarks are section 0 (see the script's header).
bench: build
	$(GO) build -o bin/benchchain ./tools/benchchain
	$(GO) build -o bin/memfuse ./tools/memfuse
	$(GO) build -o bin/randread ./tools/randread
	if [ -z "$$BENCH_SECTIONS" ] || echo " $$BENCH_SECTIONS " | tr , ' ' | grep -q ' 0 '; then \
		$(GO) test -run '^$$' -bench . -benchmem ./vhdx ./ntfs ./fs ./export ./diff ./guest ./ext ./xfs ./bitlocker ./luks ./remote ./vss; fi
	bash scripts/bench.sh

demo: deps build
	bash testdata/demo/demo.sh

clean:
	rm -rf bin $(OUT)
