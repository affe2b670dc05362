//go:build linux

package fs

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
	gofs "github.com/hanwen/go-fuse/v2/fs"
)

// Root is the top of the mounted tree for one catalog.
type Root struct {
	dirNode
	cat *catalog.Catalog
	// built stands in for times the catalog does not know.
	built time.Time
	// imageOf and volumesOf are the two ways down to the layers below;
	// tests put in-memory images and filesystems here.
	imageOf   func(*catalog.Disk) (vhdx.Image, error)
	volumesOf func(disk io.ReaderAt, size int64, diskName string) ([]*guest.Volume, error)
	// joinVolumes opens what lies over several disks of a checkpoint
	// (guest.JoinVolumeGroups) once volumesOf has read each; nil is
	// guest.JoinVolumeGroups with no keys.
	joinVolumes func([]*guest.Volume) []*guest.Volume
	// vols numbers the volume directories so that no two guest files
	// of the mount share an inode number (inode.go).
	vols volumeNumbers

	opts Options
	// noOpen: guest files are opened without requests (guestfile.go).
	noOpen atomic.Bool
	// kernelACL: the kernel checks POSIX ACLs (xattrabsent.go).
	kernelACL atomic.Bool
	// latest is the newest checkpoint of each VM (see OpenLatest), and
	// opening counts the scans OpenLatest started that still run.
	latest  []*checkpointDir
	opening sync.WaitGroup
}

// Options change how guest volumes are shown. Set them with SetOptions
// before mounting.
type Options struct {
	// IgnoreCase makes lookups in Windows volumes (NTFS) find names that
	// differ only in case when no name matches exactly, as Windows does.
	IgnoreCase bool
	// ShowMetafiles lists NTFS metadata files ($MFT, $LogFile, $Secure,
	// $Extend, ...) at the volume roots; they are found by name anyway.
	ShowMetafiles bool
}

// SetOptions sets the options of the tree; call it before mounting.
func (r *Root) SetOptions(o Options) { r.opts = o }

// SetNoOpen lets the kernel open guest files without an OPEN request (and
// close them without RELEASE or FLUSH); call it once the kernel has said
// it supports that (FUSE_NO_OPEN_SUPPORT in its INIT request), before
// files are read. Without it every open is a request, as before.
func (r *Root) SetNoOpen(on bool) { r.noOpen.Store(on) }

// SetKernelACLs says that the kernel checks and caches POSIX ACLs
// (FUSE_POSIX_ACL was agreed at INIT): a file without an ACL must then
// answer ENODATA, never EOPNOTSUPP, whatever its volume. Call it before
// files are looked up.
func (r *Root) SetKernelACLs(on bool) { r.kernelACL.Store(on) }

var _ = (gofs.NodeOnAdder)((*Root)(nil))

// New returns the root of the tree for cat. It is mounted with
// gofs.Mount(dir, New(cat), NodeOptions()) or through package mount.
func New(cat *catalog.Catalog) *Root {
	return newRoot(cat, chainImage, guest.Volumes)
}

// NewWithOptions is New with the options guest volumes are opened with
// (the keys of BitLocker volumes); o may be nil.
func NewWithOptions(cat *catalog.Catalog, o *guest.Options) *Root {
	r := newRoot(cat, chainImage, o.Volumes)
	r.joinVolumes = o.JoinVolumeGroups
	return r
}

func newRoot(cat *catalog.Catalog, imageOf func(*catalog.Disk) (vhdx.Image, error),
	volumesOf func(io.ReaderAt, int64, string) ([]*guest.Volume, error)) *Root {
	now := time.Now()
	return &Root{dirNode: dirNode{mtime: now}, cat: cat, built: now, imageOf: imageOf, volumesOf: volumesOf}
}

// chainImage is the catalog disk's resolved chain.
func chainImage(d *catalog.Disk) (vhdx.Image, error) {
	if d.Err != nil {
		return nil, d.Err
	}
	if d.Chain == nil {
		return nil, fmt.Errorf("disk %s (%s): chain not opened", d.Name, d.File)
	}
	return d.Chain, nil
}

// NodeOptions are the go-fuse options the tree is meant to be served
// with: long cache timeouts (nothing changes) and the caller's ownership.
func NodeOptions() *gofs.Options {
	t := cacheTimeout
	return &gofs.Options{
		EntryTimeout:    &t,
		AttrTimeout:     &t,
		NegativeTimeout: &t,
		UID:             uint32(syscall.Getuid()),
		GID:             uint32(syscall.Getgid()),
	}
}

// OnAdd builds the static top: VMs, checkpoint directories, by-time and
// latest. Guest files come later, on demand.
func (r *Root) OnAdd(ctx context.Context) {
	if r.cat == nil {
		return
	}
	if len(r.cat.VMs) == 1 {
		r.addVM(ctx, r.EmbeddedInode(), r.cat.VMs[0])
		return
	}
	var names catalog.Namer
	for _, vm := range r.cat.VMs {
		dir := r.NewPersistentInode(ctx, &dirNode{mtime: r.built}, gofs.StableAttr{Mode: syscall.S_IFDIR})
		r.AddChild(names.Name(vm.Name), dir, false)
		r.addVM(ctx, dir, vm)
	}
}

// addVM fills parent with checkpoints/, by-time/ and latest for one VM.
func (r *Root) addVM(ctx context.Context, parent *gofs.Inode, vm *catalog.VM) {
	cps := parent.NewPersistentInode(ctx, &dirNode{mtime: r.built}, gofs.StableAttr{Mode: syscall.S_IFDIR})
	parent.AddChild("checkpoints", cps, false)
	names := map[*catalog.Checkpoint]string{}
	var cds []*checkpointDir
	var namer catalog.Namer
	for _, c := range vm.Checkpoints {
		name := namer.Name(c.Name)
		names[c] = name
		cd := &checkpointDir{dirNode: dirNode{mtime: r.timeOf(c)}, root: r, vm: vm, c: c}
		cds = append(cds, cd)
		cps.AddChild(name, cps.NewPersistentInode(ctx, cd, gofs.StableAttr{Mode: syscall.S_IFDIR}), false)
	}
	r.addByTime(ctx, parent, vm, names)
	if latest := vm.Latest(); latest != nil {
		for _, cd := range cds {
			if cd.c == latest {
				r.latest = append(r.latest, cd)
			}
		}
		link := &symlinkNode{target: "checkpoints/" + names[latest], mtime: r.timeOf(latest)}
		parent.AddChild("latest", parent.NewPersistentInode(ctx, link, gofs.StableAttr{Mode: syscall.S_IFLNK}), false)
	}
}

// maxOpenedAhead bounds the VMs whose newest checkpoint OpenLatest opens.
const maxOpenedAhead = 4

// OpenLatest finds the volumes of the newest checkpoint of the first
// maxOpenedAhead VMs in the background, as a first look inside would:
// reading partition tables and opening filesystems is some twenty
// reads one after the other, which the first walk of a mount otherwise
// waits for (ntfs-3g opens its volume before its mount answers). A look
// inside while they are read waits for them, as it would have read them.
// Call it once the tree is mounted, and WaitOpened before the disks are
// closed.
func (r *Root) OpenLatest() {
	for _, cd := range r.latest[:min(len(r.latest), maxOpenedAhead)] {
		r.opening.Add(1)
		go func() {
			defer r.opening.Done()
			cd.scan(context.Background())
		}()
	}
}

// WaitOpened waits for the volumes OpenLatest is finding: a mount
// unmounted at once must not close its disks under them (their reads
// would fail and be reported as damage).
func (r *Root) WaitOpened() { r.opening.Wait() }

// addByTime makes by-time/, one symlink per checkpoint with a known
// creation time, named so that name order is time order.
func (r *Root) addByTime(ctx context.Context, parent *gofs.Inode, vm *catalog.VM, names map[*catalog.Checkpoint]string) {
	bt := parent.NewPersistentInode(ctx, &dirNode{mtime: r.built}, gofs.StableAttr{Mode: syscall.S_IFDIR})
	parent.AddChild("by-time", bt, false)
	var timed []*catalog.Checkpoint
	for _, c := range vm.Checkpoints {
		if !c.Created.IsZero() {
			timed = append(timed, c)
		}
	}
	sort.SliceStable(timed, func(i, j int) bool { return timed[i].Created.Before(timed[j].Created) })
	// Checkpoints made within one second (a checkpoint and the live state
	// started from it, often) are told apart by name, not by " (2)".
	perSecond := map[string]int{}
	for _, c := range timed {
		perSecond[timeName(c.Created)]++
	}
	var namer catalog.Namer
	for _, c := range timed {
		name := timeName(c.Created)
		if perSecond[name] > 1 {
			name += " " + names[c]
		}
		link := &symlinkNode{target: "../checkpoints/" + names[c], mtime: c.Created}
		bt.AddChild(namer.Name(name), bt.NewPersistentInode(ctx, link, gofs.StableAttr{Mode: syscall.S_IFLNK}), false)
	}
}

func (r *Root) timeOf(c *catalog.Checkpoint) time.Time {
	if c.Created.IsZero() {
		return r.built
	}
	return c.Created
}
