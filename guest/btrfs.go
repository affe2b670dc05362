package guest

import (
	"io"
	"io/fs"

	"github.com/ckptfs/ckptfs/btrfs"
)

// fsBtrfs is the FSType of a btrfs volume.
const fsBtrfs = "btrfs"

// topLevelSuffix names the sibling volume that shows a btrfs filesystem's
// top level (subvolume 5) when the default subvolume is another one.
const topLevelSuffix = "-toplevel"

var (
	_ fs.ReadDirFS    = btrfsFS{}
	_ fs.StatFS       = btrfsFS{}
	_ fs.ReadLinkFS   = btrfsFS{}
	_ POSIXLinker     = btrfsFS{}
	_ DirLookuper     = btrfsFS{}
	_ Journaler       = btrfsFS{}
	_ ExtentMapper    = btrfsFile{}
	_ io.ReaderAt     = btrfsFile{}
	_ io.Seeker       = btrfsFile{}
	_ FileIdentity    = (*btrfs.FileInfo)(nil)
	_ LinkCounter     = (*btrfs.FileInfo)(nil)
	_ POSIXAttributer = (*btrfs.FileInfo)(nil)
	_ AccessTimer     = (*btrfs.FileInfo)(nil)
	_ ChangeTimer     = (*btrfs.FileInfo)(nil)
	_ CreationTimer   = (*btrfs.FileInfo)(nil)
	_ Xattrer         = (*btrfs.FileInfo)(nil)
	_ DeviceNumberer  = (*btrfs.FileInfo)(nil)
)

func init() {
	registerLayer(Layer{Name: "btrfs-toplevel", Siblings: btrfsTopLevel})
}

// isBtrfs checks the superblock magic at 64 KiB + 0x40, past the probe.
func isBtrfs(r io.ReaderAt, size int64) bool {
	if size < btrfs.MagicOffset+8 {
		return false
	}
	var m [8]byte
	n, _ := r.ReadAt(m[:], btrfs.MagicOffset)
	return n == 8 && string(m[:]) == btrfs.Magic
}

// topLevelReader marks the reader of a "-toplevel" sibling, so that
// opening its filesystem shows subvolume 5 instead of the default, of the
// volume vol already opened (over all its devices when joined).
type topLevelReader struct {
	io.ReaderAt
	vol *btrfs.Volume
}

// openBtrfs opens the default subvolume, the tree the guest mounts at its
// root when fstab names no subvolume (subvolume 5 for a -toplevel
// sibling).
func openBtrfs(r io.ReaderAt, size int64, noRecovery bool) (fs.FS, string, error) {
	var v *btrfs.Volume
	tl, top := r.(topLevelReader)
	if top && tl.vol != nil {
		v = tl.vol
	} else {
		var err error
		if v, err = btrfs.NewVolumeOptions(r, size, btrfs.Options{NoRecovery: noRecovery}); err != nil {
			return nil, "", err
		}
	}
	id := v.DefaultSubvolume()
	if top {
		id = 5
	}
	sv, err := v.Subvolume(id)
	if err != nil {
		return nil, "", err
	}
	return btrfsFS{sv}, v.Label(), nil
}

// btrfsTopLevel gives a btrfs volume whose default subvolume is not the
// top level (openSUSE's @/.snapshots/1/snapshot) the sibling
// "<name>-toplevel": subvolume 5, where every subvolume and snapshot
// appears where it was created, as `mount -o subvolid=5` shows it. When
// the default is the top level (Fedora) the volume shows it all already.
func btrfsTopLevel(v *Volume, _ *Options) ([]*Volume, error) {
	b, ok := v.FS.(btrfsFS)
	if !ok || b.Volume().DefaultSubvolume() == 5 {
		return nil, nil
	}
	return []*Volume{{Name: v.Name + topLevelSuffix, Reader: topLevelReader{v.Reader, b.Volume()}, Size: v.Size}}, nil
}

// btrfsFS hands out files whose Extents speak the contract's type.
type btrfsFS struct{ *btrfs.FS }

func (b btrfsFS) Open(name string) (fs.File, error) {
	f, err := b.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if bf, ok := f.(*btrfs.File); ok {
		return btrfsFile{bf}, nil
	}
	return f, nil
}

// JournalState reports a log tree left by a crash or a crash-consistent
// checkpoint (what was fsync'd after the last commit, up to 30 s of it):
// replayed in memory as the kernel replays it at mount, or why not.
func (b btrfsFS) JournalState() string {
	if l := b.Volume().Log(); l.Present {
		return l.String()
	}
	return ""
}

type btrfsFile struct{ *btrfs.File }

// Extents converts btrfs.File.Extents; exact only for files without
// checksums or compression, so that checked data is read through the
// reader and a bad sector is EIO rather than the disk's bytes.
func (f btrfsFile) Extents() ([]Extent, bool, error) {
	exts, exact, err := f.File.Extents()
	return mapExtents(exts, exact, err, func(e btrfs.Extent) Extent {
		return readerExtent(e.FileOff, e.VolOff, e.Len, e.Sparse, e.Prealloc)
	})
}
