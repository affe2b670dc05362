//go:build linux

package mount

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	ckfs "github.com/ckptfs/ckptfs/fs"
	"github.com/ckptfs/ckptfs/internal/membudget"
	"github.com/ckptfs/ckptfs/remote"
	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// unmountTries bounds how long Run insists on unmounting a busy mount
// after cancellation (about one try a second) before it gives up and says
// what to do.
const unmountTries = 10

// Run mounts cat read-only at mountpoint and serves it in the foreground
// until the mount is removed (fusermount3 -u) or ctx is cancelled, then
// unmounts and returns nil. opt.Ready is called once the tree answers.
func Run(ctx context.Context, cat *catalog.Catalog, mountpoint string, opt Options) error {
	if err := checkMountpoint(cat.Source, mountpoint, opt.Nonempty); err != nil {
		return err
	}
	release, err := LockCatalog(cat)
	if err != nil {
		return err
	}
	defer release()
	if opt.CacheMemSet {
		membudget.Default.SetLimit(opt.CacheMem)
	}
	root := ckfs.NewWithOptions(cat, opt.Guest)
	root.SetOptions(ckfs.Options{IgnoreCase: opt.IgnoreCase, ShowMetafiles: opt.ShowMetafiles})
	server, raw, err := ckfs.Mount(mountpoint, root, nodeOptions(cat, opt))
	if err != nil {
		return fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	spareProcs()
	// gofs.Mount returns after WaitMount: the kernel has sent INIT and the
	// tree answers.
	if ks := server.KernelSettings(); ks != nil && ks.Flags&fuse.CAP_NO_OPEN_SUPPORT != 0 {
		root.SetNoOpen(true) // guest files open without requests (fs/guestfile.go)
	}
	if ks := server.KernelSettings(); ks != nil && opt.kernelACLs() && ks.Flags64()&fuse.CAP_POSIX_ACL != 0 {
		root.SetKernelACLs(true)
	}
	if !remote.IsRemote(cat.Source) {
		// A local source: its newest checkpoint's volumes are opened
		// in the background (a remote one's would cost requests
		// nobody may want).
		root.OpenLatest()
	}
	if kb := opt.readAheadKB(); kb > 0 {
		if err := SetReadAhead(mountpoint, kb); err != nil && opt.Debug {
			log.Printf("ckptfs: read-ahead stays at the kernel's default: %v", err)
		}
	}
	if opt.Requests != nil {
		opt.Requests(raw.Requests)
	}
	if opt.Ready != nil {
		opt.Ready()
	}
	err = serve(ctx, server, mountpoint)
	root.WaitOpened()
	return err
}

// nodeOptions are the tree's own options plus the mount's.
func nodeOptions(cat *catalog.Catalog, opt Options) *gofs.Options {
	o := ckfs.NodeOptions()
	o.MountOptions = fuse.MountOptions{
		AllowOther:           opt.AllowOther,
		Debug:                opt.Debug,
		FsName:               cat.Source,
		Name:                 "ckptfs",
		Options:              append([]string{"ro"}, opt.Extra...),
		MaxWrite:             maxIO, // go-fuse sets max_read from it
		MaxReadAhead:         maxIO,
		EnableSymlinkCaching: true,
		// The kernel checks guest owners and modes only with
		// default_permissions; it then needs the ACLs too, or a file an
		// ACL denies to a user (or grants a named user) is judged by its
		// mode bits alone. An ACL it has read it keeps for the inode's
		// life, so `ls -l` asks for it once (see opt.kernelACLs).
		EnableAcl: opt.kernelACLs(),
		// READDIRPLUS answers a listing with each entry's attributes,
		// which on NTFS means reading one MFT record per name: for a plain
		// `ls` of 100,000 entries that is seconds of work nobody asked
		// for. In its adaptive form the kernel asks for them only for the
		// first batch and once the listing program stats an entry (ls -l),
		// so `ls -l` costs one request per batch instead of a LOOKUP per
		// name, and `ls` stays a read of the directory index.
		ExtraCapabilities: fuse.CAP_READDIRPLUS_AUTO,
		// Reads are served from memory buffers, never from a file
		// descriptor; go-fuse's splice attempt on 1 MiB replies only fails
		// (a pipe holds 1 MiB, the reply has a header too) and logs a line
		// per read.
		DisableSplice: true,
	}
	return o
}

// serve waits for the end of the mount, unmounting on cancellation.
func serve(ctx context.Context, server *fuse.Server, mountpoint string) error {
	done := make(chan struct{})
	go func() {
		server.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	var err error
	for try := 0; try < unmountTries; try++ {
		if err = server.Unmount(); err == nil {
			<-done
			return nil
		}
		if try == 0 {
			log.Printf("ckptfs: %s is busy, close the files open in it; retrying", mountpoint)
		}
		select {
		case <-done:
			return nil
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("unmount %s: %w (run fusermount3 -u %s once its files are closed)", mountpoint, err, mountpoint)
}

// checkMountpoint refuses a mount point that is not a directory, holds
// files (unless nonempty), or lies inside the source folder (or is it).
func checkMountpoint(source, mountpoint string, nonempty bool) error {
	fi, err := os.Stat(mountpoint)
	if err != nil {
		return fmt.Errorf("mount point: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("mount point %s is not a directory", mountpoint)
	}
	if isURL(source) {
		// A remote source cannot hold the mount point.
		return checkEmpty(mountpoint, nonempty)
	}
	src, err := realPath(source)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if sfi, err := os.Stat(src); err == nil && !sfi.IsDir() {
		src = filepath.Dir(src)
	}
	mnt, err := realPath(mountpoint)
	if err != nil {
		return fmt.Errorf("mount point: %w", err)
	}
	if mnt == src || strings.HasPrefix(mnt, src+string(filepath.Separator)) || src == "/" {
		return fmt.Errorf("%s is inside %s: %w", mountpoint, src, ErrInsideSource)
	}
	return checkEmpty(mountpoint, nonempty)
}

func checkEmpty(mountpoint string, nonempty bool) error {
	if !nonempty {
		if ents, err := os.ReadDir(mountpoint); err == nil && len(ents) > 0 {
			return fmt.Errorf("%s holds %d entries the mount would hide: %w (-o nonempty mounts anyway)",
				mountpoint, len(ents), ErrNotEmpty)
		}
	}
	return nil
}

// isURL tells a remote source (s3://, azblob://, https://...) from a path.
func isURL(source string) bool {
	i := strings.Index(source, "://")
	if i <= 0 {
		return false
	}
	for _, r := range source[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// realPath is the absolute path with symlinks resolved, so that two names
// of one folder compare equal.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}
