// Package crosswin holds the randomized cross-check of the Windows-volume
// readers (NTFS, FAT12/16/32, exFAT) against independent readers. It has
// no code of its own outside the tests: testdata/crosswin/gen.sh makes a
// random volume from a seed, and the tests compare every file that
// ckptfs's guest layer reads with what ntfs-3g, exfat-fuse, mtools and
// sleuthkit read from the same image.
//
//	go test ./internal/crosswin                             the fixed seeds (make test)
//	CKPTFS_CROSSWIN_SEEDS=50 go test ./internal/crosswin    seeds 1..50 of each (make crosscheck-win SEEDS=50)
package crosswin
