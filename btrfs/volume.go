package btrfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Volume is one opened btrfs filesystem, over one device or several. It
// is safe for concurrent use.
type Volume struct {
	sb     *superblock
	chunks chunkMap
	cache  nodeCache
	root   root // the root tree
	csum   root // the checksum tree; bytenr 0 when absent
	defID  uint64

	mu      sync.Mutex
	subvols map[uint64]*subvol
	// logPatches are the subvolume trees' changes a log replay made (see
	// logreplay.go), by tree id; log is what was done with the log.
	logPatches map[uint64]*patch
	log        LogState
}

// subvol is one subvolume or snapshot: an FS tree.
type subvol struct {
	id    uint64
	tree  root
	dirID uint64 // its top directory (256)
}

// maxSubvols bounds the subvolumes kept open at once.
const maxSubvols = 1 << 16

// NewVolume opens the btrfs filesystem on the device r of size bytes:
// it picks the newest valid superblock, maps the chunks and finds the
// root tree, the checksum tree and the default subvolume.
func NewVolume(r io.ReaderAt, size int64) (*Volume, error) {
	return NewVolumeOptions(r, size, Options{})
}

// Options change how a volume is opened.
type Options struct {
	// NoRecovery leaves a log tree unreplayed, as the kernel's
	// rescue=nologreplay: files read as of the last commit.
	NoRecovery bool
}

// NewVolumeOptions is NewVolume with options. A device of a filesystem
// over several opens as OpenDevices would open it alone: what lies on
// the others fails with ErrDevices.
func NewVolumeOptions(r io.ReaderAt, size int64, opt Options) (*Volume, error) {
	return OpenDevices([]Device{{R: r, Size: size}}, opt)
}

// OpenDevices opens the btrfs filesystem over the devices given, in any
// order: they must share one fsid and be distinct devices (devid and
// device UUID) that the chunk tree lists, as many as the superblock
// says less those missing. The newest superblock of the set is used. A
// device not given is missing: mirrored and parity profiles read around
// it, and bytes only it holds fail with ErrDevices naming it
// (Volume.Missing lists them).
func OpenDevices(devs []Device, opt Options) (*Volume, error) {
	sb, set, err := openDevices(devs)
	if err != nil {
		return nil, err
	}
	v := &Volume{sb: sb, subvols: map[uint64]*subvol{}}
	v.chunks = chunkMap{devs: set}
	v.cache = newNodeCache(cacheBytes / int(sb.nodeSize))
	if err := v.chunks.loadSysChunks(sb); err != nil {
		return nil, err
	}
	if err := v.loadChunkTree(); err != nil {
		return nil, fmt.Errorf("btrfs: chunk tree: %w", err)
	}
	if err := set.check(sb); err != nil {
		return nil, err
	}
	v.root = root{bytenr: sb.root, level: sb.rootLevel, gen: sb.generation}
	if ri, err := v.rootItem(csumTreeID); err == nil {
		v.csum = ri.tree
	} else if !errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("btrfs: checksum tree: %w", err)
	}
	if v.defID, err = v.findDefault(); err != nil {
		return nil, fmt.Errorf("btrfs: default subvolume: %w", err)
	}
	switch {
	case sb.logRoot == 0:
	case opt.NoRecovery:
		v.log = LogState{Present: true, Note: "recovery turned off"}
	default:
		v.log = v.replayLog()
	}
	return v, nil
}

// loadChunkTree reads the chunk tree's device items and chunk items.
func (v *Volume) loadChunkTree() error {
	r := root{bytenr: v.sb.chunkRoot, level: v.sb.chunkRootLevel, gen: v.sb.chunkRootGen}
	lo := key{devItemsObjectID, devItemKeyTyp, 0}
	hi := key{firstChunkTree, chunkItemKeyTyp, ^uint64(0)}
	return v.walk(r, lo, hi, func(k key, d []byte) error {
		switch {
		case k.objectid == devItemsObjectID && k.typ == devItemKeyTyp:
			return v.chunks.devs.addDevItem(d)
		case k.objectid != firstChunkTree || k.typ != chunkItemKeyTyp:
			return nil
		}
		c, _, err := parseChunk(d, k.offset, -1)
		if err != nil {
			return err
		}
		return v.chunks.add(c)
	})
}

// rootItem finds the ROOT_ITEM of tree id in the root tree. Snapshots
// key it with their creation generation, so any offset matches.
func (v *Volume) rootItem(id uint64) (rootItem, error) {
	var ri rootItem
	found := false
	err := v.walk(v.root, key{id, typRootItem, 0}, key{id, typRootItem, ^uint64(0)}, func(_ key, d []byte) error {
		var ok bool
		if ri, ok = parseRootItem(d); !ok {
			return formatErr(-1, "root item of tree %d is %d bytes", id, len(d))
		}
		found = true
		return errStop
	})
	if err != nil {
		return ri, err
	}
	if !found {
		return ri, errNotFound
	}
	return ri, nil
}

// findDefault reads the "default" entry of the root tree's directory,
// set by `btrfs subvolume set-default`; without it the top level (5) is
// the default.
func (v *Volume) findDefault() (uint64, error) {
	id := uint64(fsTreeID)
	err := v.walk(v.root, key{rootTreeDirID, typDirItem, 0}, key{rootTreeDirID, typDirItem, ^uint64(0)}, func(_ key, d []byte) error {
		parseDirItems(d, func(e dirEntry) bool {
			if string(e.name) == "default" {
				id = e.location.objectid
				return false
			}
			return true
		})
		return nil
	})
	return id, err
}

// subvol returns the subvolume with the given tree id.
func (v *Volume) subvol(id uint64) (*subvol, error) {
	v.mu.Lock()
	s := v.subvols[id]
	v.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if id != fsTreeID && (id < firstFreeID || id > lastFreeID) {
		return nil, formatErr(-1, "tree %d is not a subvolume", id)
	}
	ri, err := v.rootItem(id)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return nil, formatErr(-1, "subvolume %d has no root item", id)
		}
		return nil, err
	}
	if ri.tree.level >= maxLevel {
		return nil, kindErr(ErrLoop, -1, "subvolume %d root at level %d", id, ri.tree.level)
	}
	s = &subvol{id: id, tree: ri.tree, dirID: ri.dirID}
	v.mu.Lock()
	s.tree.patch = v.logPatches[id]
	if len(v.subvols) >= maxSubvols {
		clear(v.subvols)
	}
	v.subvols[id] = s
	v.mu.Unlock()
	return s, nil
}

// childSubvol checks that the directory entry name in directory dirID of
// subvolume parent really links subvolume child (a ROOT_REF says so). A
// snapshot copies the entries of nested subvolumes without their refs:
// the kernel shows those as empty directories, and so does this reader.
func (v *Volume) childSubvol(parent, child, dirID uint64, name []byte) (bool, error) {
	d, err := v.lookup(v.root, key{parent, typRootRef, child})
	if errors.Is(err, errNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ref, ok := parseRootRef(d)
	return ok && ref.dirID == dirID && bytes.Equal(ref.name, name), nil
}

// Devices lists the filesystem's devices by devid, given or missing.
func (v *Volume) Devices() []DeviceInfo { return v.chunks.devs.infos() }

// Missing lists the devids of the devices not given.
func (v *Volume) Missing() []uint64 {
	var out []uint64
	for _, d := range v.Devices() {
		if !d.Present() {
			out = append(out, d.ID)
		}
	}
	return out
}

// Label returns the filesystem label.
func (v *Volume) Label() string { return v.sb.label }

// FSID returns the filesystem UUID.
func (v *Volume) FSID() [16]byte { return v.sb.fsid }

// Generation returns the generation of the superblock in use.
func (v *Volume) Generation() uint64 { return v.sb.generation }

// SuperblockOffset says which superblock copy is in use.
func (v *Volume) SuperblockOffset() int64 { return v.sb.off }

// SectorSize returns the data block size.
func (v *Volume) SectorSize() int { return int(v.sb.sectorSize) }

// ChecksumType names the checksum algorithm: crc32c, xxhash64, sha256
// or blake2b.
func (v *Volume) ChecksumType() string { return csumName(v.sb.csumType) }

// DefaultSubvolume returns the id of the subvolume the kernel mounts when
// no subvol option is given.
func (v *Volume) DefaultSubvolume() uint64 { return v.defID }

// HasLog reports whether the filesystem was not cleanly unmounted after
// an fsync: the kernel replays the log tree on mount, and so does
// NewVolume, in memory (see Log).
func (v *Volume) HasLog() bool { return v.sb.logRoot != 0 }

// Log says what was done with a log tree found at open.
func (v *Volume) Log() LogState { return v.log }
