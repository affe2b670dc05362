package btrfs

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// Device is one device of a filesystem given to OpenDevices: its bytes
// and their size.
type Device struct {
	R    io.ReaderAt
	Size int64
}

// DeviceInfo describes one device of the filesystem as its chunk tree
// lists it.
type DeviceInfo struct {
	ID   uint64
	UUID [16]byte
	// Given is the device's index in the slice given to OpenDevices, -1
	// when it was not given (missing).
	Given int
	// Generation is that of the device's newest superblock; lower than the
	// volume's when the device missed commits (left out of a degraded
	// mount): its copies may be stale, and checksums catch it.
	Generation uint64
	// Bytes is the size the filesystem uses of the device.
	Bytes uint64
}

// Present reports whether the device was given.
func (d DeviceInfo) Present() bool { return d.Given >= 0 }

// maxDevices bounds the devices of one filesystem (given or listed).
const maxDevices = 1024

const (
	devItemsObjectID = 1
	devItemKeyTyp    = 216
	devItemSize      = 98
)

// device is one device of the filesystem; r is nil when it was not given.
type device struct {
	DeviceInfo
	r    io.ReaderAt
	size int64
}

// deviceSet holds the filesystem's devices by devid.
type deviceSet struct {
	byID   map[uint64]*device
	first  *device // the first device given: Extent.VolOff is on it
	listed int     // devices the chunk tree lists
}

func (s *deviceSet) get(id uint64) *device { return s.byID[id] }

func (s *deviceSet) primary() *device { return s.first }

// missingErr says that bytes of chunk c lie on device id, not given.
func (s *deviceSet) missingErr(c *chunk, id uint64) error {
	return kindErr(ErrDevices, -1, "%s: device %d is missing (not given)", c, id)
}

// openDevices reads every device's superblock (each its newest copy),
// checks that they are one filesystem's distinct devices, and returns
// the newest superblock of the set: the one a mount would use.
func openDevices(devs []Device) (*superblock, *deviceSet, error) {
	if len(devs) == 0 || len(devs) > maxDevices {
		return nil, nil, formatErr(-1, "%d devices given", len(devs))
	}
	set := &deviceSet{byID: map[uint64]*device{}}
	var best *superblock
	for i, d := range devs {
		sb, err := readSuper(d.R, d.Size)
		if err != nil {
			if len(devs) > 1 {
				return nil, nil, fmt.Errorf("device %d of %d given: %w", i+1, len(devs), err)
			}
			return nil, nil, err
		}
		if best != nil && sb.fsid != best.fsid {
			return nil, nil, formatErr(sb.off+0x20, "device %d of %d given belongs to filesystem %x, not %x", i+1, len(devs), sb.fsid, best.fsid)
		}
		if o := set.byID[sb.devID]; o != nil {
			return nil, nil, formatErr(sb.off+0xc9, "devices %d and %d given are both devid %d", o.Given+1, i+1, sb.devID)
		}
		dev := &device{DeviceInfo: DeviceInfo{ID: sb.devID, UUID: sb.devUUID, Given: i, Generation: sb.generation}, r: d.R, size: d.Size}
		set.byID[sb.devID] = dev
		if set.first == nil {
			set.first = dev
		}
		if best == nil || sb.generation > best.generation {
			best = sb
		}
	}
	return best, set, nil
}

// addDevItem records a DEV_ITEM of the chunk tree: a given device must
// be the device it names (devid and device UUID); one not given is
// missing.
func (s *deviceSet) addDevItem(b []byte) error {
	if len(b) < devItemSize {
		return formatErr(-1, "device item of %d bytes", len(b))
	}
	le := binary.LittleEndian
	id := le.Uint64(b)
	var uuid [16]byte
	copy(uuid[:], b[66:82])
	if s.listed++; s.listed > maxDevices {
		return formatErr(-1, "the chunk tree lists more than %d devices", maxDevices)
	}
	d := s.byID[id]
	switch {
	case d == nil:
		d = &device{DeviceInfo: DeviceInfo{ID: id, UUID: uuid, Given: -1}}
		s.byID[id] = d
	case d.Bytes != 0:
		return formatErr(-1, "the chunk tree lists device %d twice", id)
	case d.UUID != uuid:
		return formatErr(-1, "device %d given has device UUID %x, the chunk tree says %x", id, d.UUID, uuid)
	}
	d.Bytes = max(le.Uint64(b[8:]), 1)
	return nil
}

// check compares the devices given and listed with the superblock's
// device count, once the chunk tree is read.
func (s *deviceSet) check(sb *superblock) error {
	if uint64(s.listed) != sb.numDevices {
		return formatErr(sb.off+0x88, "the superblock says %d devices, the chunk tree lists %d", sb.numDevices, s.listed)
	}
	for _, d := range s.byID {
		if d.Bytes == 0 {
			return formatErr(-1, "device %d given (devid %d) is not in the chunk tree", d.Given+1, d.ID)
		}
	}
	return nil
}

// infos lists the devices by devid.
func (s *deviceSet) infos() []DeviceInfo {
	out := make([]DeviceInfo, 0, len(s.byID))
	for _, d := range s.byID {
		out = append(out, d.DeviceInfo)
	}
	slices.SortFunc(out, func(a, b DeviceInfo) int { return cmpU64(a.ID, b.ID) })
	return out
}

// Identity is what a device's superblock says of it and of its
// filesystem, enough to tell which devices belong together.
type Identity struct {
	FSID       [16]byte
	DevID      uint64
	DevUUID    [16]byte
	NumDevices uint64 // devices of the filesystem
	Generation uint64
	Label      string
}

// Identify reads the newest superblock copy of the device r of size
// bytes, without opening the filesystem.
func Identify(r io.ReaderAt, size int64) (Identity, error) {
	sb, err := readSuper(r, size)
	if err != nil {
		return Identity{}, err
	}
	return Identity{FSID: sb.fsid, DevID: sb.devID, DevUUID: sb.devUUID, NumDevices: sb.numDevices,
		Generation: sb.generation, Label: sb.label}, nil
}
