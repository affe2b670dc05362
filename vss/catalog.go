package vss

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Bounds on what a catalog may claim. Windows keeps at most 64 copies per
// volume (512 with later tuning); a catalog of 64 blocks holds 8128
// entries, far more than that.
const (
	maxCatalogBlocks = 64
	maxStores        = 512
)

// device is a volume given as a ReaderAt and its size.
type device struct {
	r    io.ReaderAt
	size int64
}

// readBlock reads the 16 KiB metadata block at off and checks its header
// is a shadow copy block of the wanted record type.
func (d device) readBlock(off int64, rec uint32, buf []byte) (blockHeader, error) {
	if off <= 0 || off%512 != 0 || off > d.size-BlockSize {
		return blockHeader{}, formatErr(off, "block offset outside the volume (size 0x%x)", d.size)
	}
	if _, err := d.r.ReadAt(buf[:BlockSize], off); err != nil {
		return blockHeader{}, fmt.Errorf("vss: reading block at 0x%x: %w", off, err)
	}
	h, ok := parseBlockHeader(buf)
	if !ok {
		return h, formatErr(off, "block lacks the shadow copy identifier")
	}
	if h.Type != rec {
		return h, formatErr(off+20, "block has record type %d, want %d", h.Type, rec)
	}
	return h, nil
}

// walkChain calls fn for each block of the chain that starts at off,
// refusing loops and chains longer than max blocks.
func (d device) walkChain(off int64, rec uint32, max int, fn func(off int64, h blockHeader, b []byte) error) error {
	buf := make([]byte, BlockSize)
	seen := make(map[int64]bool)
	for n := 0; off != 0; n++ {
		if seen[off] || n >= max {
			return kindErr(ErrLoop, off, "chain of record type %d loops or exceeds %d blocks", rec, max)
		}
		seen[off] = true
		h, err := d.readBlock(off, rec, buf)
		if err != nil {
			return err
		}
		if err := fn(off, h, buf); err != nil {
			return err
		}
		off = h.Next
	}
	return nil
}

// Volume is the shadow copy catalog of one volume and the stores it lists.
type Volume struct {
	live    device
	hdr     volumeHeader
	stores  []*Store
	storage *device // where the store data is; live itself unless external

	mu     sync.Mutex
	loaded map[*Store]*storeMap
}

// NewVolume reads the shadow copy header and catalog of the volume r of
// size bytes (an NTFS volume: partition, not disk). A volume without the
// header gives ErrNoShadows; a volume with the header and no copies gives
// a Volume without stores. Only the header, the catalog and one block per
// store are read; block lists are read when a store is opened.
func NewVolume(r io.ReaderAt, size int64) (*Volume, error) {
	if size < HeaderOffset+512 {
		return nil, ErrNoShadows
	}
	b := make([]byte, 512)
	if _, err := r.ReadAt(b, HeaderOffset); err != nil {
		return nil, fmt.Errorf("vss: reading the volume header: %w", err)
	}
	hdr, err := parseVolumeHeader(b)
	if err != nil {
		return nil, err
	}
	v := &Volume{live: device{r, size}, hdr: hdr, loaded: make(map[*Store]*storeMap)}
	if !v.External() {
		v.storage = &v.live
	}
	if hdr.CatalogOffset == 0 {
		return v, nil
	}
	types2, types3, err := readCatalog(v.live, hdr.CatalogOffset)
	if err != nil {
		return nil, err
	}
	for _, e := range types2 {
		v.stores = append(v.stores, newStore(v, e))
	}
	slices.SortStableFunc(v.stores, func(a, b *Store) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.sequence, b.sequence))
	})
	for i, s := range v.stores {
		s.Index = i + 1
	}
	if v.storage != nil {
		if err := v.locate(*v.storage, types3); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// readCatalog walks the catalog blocks and returns the type 2 entries
// (one per copy, first of each identifier kept) and the type 3 entries
// (where each copy's store is) keyed by identifier.
func readCatalog(d device, off int64) ([]catalogEntry, map[GUID]catalogEntry, error) {
	var stores []catalogEntry
	seen := make(map[GUID]bool)
	data := make(map[GUID]catalogEntry)
	err := d.walkChain(off, recCatalog, maxCatalogBlocks, func(boff int64, _ blockHeader, b []byte) error {
		for p := blockHeaderSize; p+entrySize <= BlockSize; p += entrySize {
			e := parseCatalogEntry(b[p : p+entrySize])
			switch e.Type {
			case 0, entryUnused:
			case entryStore:
				if seen[e.ID] {
					continue
				}
				if len(stores) >= maxStores {
					return formatErr(boff+int64(p), "more than %d shadow copies", maxStores)
				}
				seen[e.ID] = true
				stores = append(stores, e)
			case entryData:
				if _, dup := data[e.ID]; !dup && len(data) < maxStores {
					data[e.ID] = e
				}
			default:
				return formatErr(boff+int64(p), "catalog entry of unknown type %d", e.Type)
			}
		}
		return nil
	})
	return stores, data, err
}

// locate gives each store the place of its data on d, reading its store
// header (identifiers and attributes).
func (v *Volume) locate(d device, entries map[GUID]catalogEntry) error {
	buf := make([]byte, BlockSize)
	for _, s := range v.stores {
		e, ok := entries[s.ID]
		if !ok {
			continue
		}
		_, err := d.readBlock(e.StoreHeader, recStoreHeader, buf)
		if err != nil {
			return fmt.Errorf("vss: store %s: %w", s.ID, err)
		}
		s.parseInfo(buf)
		loc := e
		s.loc = &loc
	}
	return nil
}

// ID is this volume's identifier as the shadow copy header records it.
func (v *Volume) ID() GUID { return v.hdr.VolumeID }

// StorageID is the identifier of the volume that holds the store data.
func (v *Volume) StorageID() GUID { return v.hdr.StorageID }

// External reports whether the store data lives on another volume (whose
// ID is StorageID); its stores read only after AttachStorage.
func (v *Volume) External() bool { return v.hdr.StorageID != v.hdr.VolumeID }

// Stores lists the shadow copies, oldest first.
func (v *Volume) Stores() []*Store { return v.stores }

// ErrNotStorage is returned by AttachStorage for a volume that is not the
// one holding this volume's store data.
var ErrNotStorage = errors.New("vss: not the shadow copy storage volume")

// AttachStorage gives the volume r of size bytes that holds the store data
// of an External volume. Its shadow copy header must name it StorageID,
// and its catalog must place this volume's stores.
func (v *Volume) AttachStorage(r io.ReaderAt, size int64) error {
	other, err := peekHeader(r, size)
	if err != nil {
		return err
	}
	if other.VolumeID != v.hdr.StorageID || other.CatalogOffset == 0 {
		return fmt.Errorf("%w: it is volume %s, the copies are on %s", ErrNotStorage, other.VolumeID, v.hdr.StorageID)
	}
	d := device{r, size}
	_, types3, err := readCatalog(d, other.CatalogOffset)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.locate(d, types3); err != nil {
		return err
	}
	v.storage = &d
	return nil
}

// VolumeID reads the identifier in the shadow copy header of the volume r
// of size bytes, so a caller can find which of its volumes is another's
// StorageID. ErrNoShadows when the header is absent.
func VolumeID(r io.ReaderAt, size int64) (GUID, error) {
	h, err := peekHeader(r, size)
	return h.VolumeID, err
}

func peekHeader(r io.ReaderAt, size int64) (volumeHeader, error) {
	if size < HeaderOffset+512 {
		return volumeHeader{}, ErrNoShadows
	}
	b := make([]byte, 512)
	if _, err := r.ReadAt(b, HeaderOffset); err != nil {
		return volumeHeader{}, fmt.Errorf("vss: reading the volume header: %w", err)
	}
	return parseVolumeHeader(b)
}

// Catalog entry flags worth naming.
const (
	// FlagOffline marks a copy that Windows no longer exposes (deleted
	// or released, kept until its space is reused); vssadmin does not
	// list it, but its data is still readable.
	FlagOffline = 0x100
)

// Store is one shadow copy.
type Store struct {
	v *Volume

	Index      int       // 1-based, oldest first (as vshadowinfo numbers them)
	ID         GUID      // store identifier (names the store file)
	Created    time.Time // creation time, UTC
	VolumeSize int64     // size of the volume when the copy was taken
	Flags      uint64    // catalog entry flags (FlagOffline, ...)

	// From the store header; zero until the store's data is located.
	CopyID     GUID   // shadow copy identifier (vssadmin's "Shadow Copy ID")
	SetID      GUID   // shadow copy set identifier
	Attributes uint32 // VSS_VOLSNAP_ATTR_* flags

	sequence uint64
	loc      *catalogEntry // type 3 entry: where the store is
}

func newStore(v *Volume, e catalogEntry) *Store {
	return &Store{v: v, ID: e.ID, Created: filetime(e.Created), VolumeSize: e.VolumeSize,
		Flags: e.Flags, sequence: e.Sequence}
}

func (s *Store) parseInfo(b []byte) {
	// The store information follows the header: an unknown GUID, the copy
	// and set identifiers, context, provider and attribute flags.
	info := b[blockHeaderSize:]
	copy(s.CopyID[:], info[16:32])
	copy(s.SetID[:], info[32:48])
	s.Attributes = uint32(info[56]) | uint32(info[57])<<8 | uint32(info[58])<<16 | uint32(info[59])<<24
}

// Offline reports whether Windows no longer exposes this copy (see
// FlagOffline).
func (s *Store) Offline() bool { return s.Flags&FlagOffline != 0 }

// Located reports whether the store's data has been found (always for a
// volume holding its own stores; after AttachStorage otherwise).
func (s *Store) Located() bool {
	s.v.mu.Lock()
	defer s.v.mu.Unlock()
	return s.loc != nil
}
