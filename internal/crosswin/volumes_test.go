//go:build linux

package crosswin

import (
	"testing"
	"time"
)

// TestNTFS compares random NTFS volumes (mkntfs, written by ntfs-3g) with
// ntfs-3g's read-only mount and with sleuthkit.
func TestNTFS(t *testing.T) {
	needs(t, true, "mkntfs", "ntfs-3g", "ntfsfix", "fls", "icat")
	eachVolume(t, "ntfs", func(c *checker, img string) {
		ours := readOurs(c, openOurs(c, img))
		compare(c, ours, readHost(c, mountRO(c, img, "ntfs"), true), what{
			oracle: "ntfs-3g", links: true, content: true, mtime: 100 * time.Nanosecond,
			nlink: true, id: true, streams: true, attrs: 0x27, alloc: true,
		})
		compare(c, ours, readTSK(c, img, true), what{
			oracle: "sleuthkit", content: true, mtime: time.Second, streams: true,
		})
	})
}

// TestExFAT compares random exFAT volumes (mkfs.exfat, written by
// exfat-fuse) with exfat-fuse's read-only mount and with sleuthkit.
func TestExFAT(t *testing.T) {
	needs(t, true, "mkfs.exfat", "mount.exfat-fuse", "fsck.exfat", "losetup", "fls", "icat")
	eachVolume(t, "exfat", func(c *checker, img string) {
		ours := readOurs(c, openOurs(c, img))
		compare(c, ours, readHost(c, mountRO(c, img, "exfat"), false), what{
			oracle: "exfat-fuse", content: true, mtime: 10 * time.Millisecond,
		})
		compare(c, ours, readTSK(c, img, false), what{oracle: "sleuthkit", content: true})
	})
}

// TestFAT compares random FAT12/16/32 volumes (mkfs.fat, written by
// mtools) with mtools' copy of the whole tree and with sleuthkit.
func TestFAT(t *testing.T) {
	needs(t, false, "mkfs.fat", "mcopy", "fsck.fat", "fls", "icat")
	eachVolume(t, "fat", func(c *checker, img string) {
		ours := readOurs(c, openOurs(c, img))
		compare(c, ours, readHost(c, copyOutFAT(c, img), false), what{
			oracle: "mtools", content: true, mtime: 2 * time.Second,
		})
		compare(c, ours, readTSK(c, img, false), what{oracle: "sleuthkit", content: true})
	})
}
