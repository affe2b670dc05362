// Command mkbitlocker wraps a raw volume image (a filesystem made by
// mkfs.*) in BitLocker, as Windows lays a volume out, for benchmarks and
// demos: bitlocker.BuildTestVolume with keys derived from a seed. The
// three metadata copies go into the last megabytes of the volume, which
// the filesystem must leave unused (they read as zeros once decrypted).
// It is no way to protect data.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ckptfs/ckptfs/bitlocker"
)

func main() {
	out := flag.String("o", "", "output image (required)")
	password := flag.String("password", "", "add a password protector with this password")
	method := flag.String("method", "xts-128", "cipher: xts-128, xts-256, cbc-128, cbc-256, elephant-128, elephant-256")
	sector := flag.Int("sector-size", 512, "sector size: 512 or 4096")
	seed := flag.Uint64("seed", 1, "seed for the keys")
	flag.Parse()
	methods := map[string]bitlocker.Method{"xts-128": bitlocker.AESXTS128, "xts-256": bitlocker.AESXTS256,
		"cbc-128": bitlocker.AESCBC128, "cbc-256": bitlocker.AESCBC256,
		"elephant-128": bitlocker.AESCBC128Elephant, "elephant-256": bitlocker.AESCBC256Elephant}
	m, ok := methods[*method]
	if flag.NArg() != 1 || *out == "" || !ok {
		fmt.Fprintln(os.Stderr, "usage: mkbitlocker -o OUT [-password TEXT] [-method xts-128] PLAIN.img")
		os.Exit(2)
	}
	plain, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	size := int64(len(plain))
	bv, err := bitlocker.BuildTestVolume(plain, bitlocker.BuildOptions{Kind: bitlocker.KindWindows7, Method: m,
		SectorSize: *sector, Password: *password, ClearKey: *password == "", Seed: *seed,
		MetadataOffsets: [3]int64{size - 4<<20, size - 3<<20, size - 2<<20}})
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, bv.Image, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mkbitlocker:", err)
	os.Exit(1)
}
