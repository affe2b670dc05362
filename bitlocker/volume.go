// Package bitlocker reads BitLocker-encrypted volumes: it detects them,
// parses their FVE metadata and key protectors, unlocks the volume master
// key with a recovery password, a password, a startup key (.BEK) or a
// clear key, and serves the decrypted volume as an io.ReaderAt.
//
// The decrypted view is the one cryptsetup's bitlkOpen maps: the first
// sectors, which BitLocker relocates, read as the original boot sector,
// and the areas holding BitLocker's own metadata read as zeros. Sectors
// past the encrypted size (a conversion under way or paused) are passed
// through as they lie. Ciphers: AES-CBC 128/256 with and without the
// Elephant diffuser (Windows Vista and 7) and AES-XTS 128/256 (Windows 10
// and later), 512- and 4096-byte sectors.
//
// Key material never appears in an error, a String or a log line: Key
// prints its kind only, and errors name protectors by type and GUID.
package bitlocker

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ckptfs/ckptfs/internal/srcfile"
)

// Volume is a BitLocker volume whose metadata has been read. It is locked:
// Unlock turns it into a Reader of the decrypted bytes.
type Volume struct {
	Kind        Kind
	Version     int    // metadata version: 1 (Vista) or 2
	GUID        string // the volume's BitLocker identifier
	SectorSize  int
	Method      Method
	Created     time.Time
	Description string // as Windows wrote it: computer, drive letter, date
	Protectors  []Protector
	State       State // conversion state
	NextState   State
	// EncryptedSize is how many bytes from the start are encrypted: the
	// whole volume once conversion is done, less while it runs or pauses.
	EncryptedSize int64
	// EncryptOnWrite is set when the header marks the volume as encrypted
	// on write ("used space only" on Windows 8+).
	EncryptOnWrite bool
	// MetadataOffsets are the byte offsets of the three metadata copies;
	// MetadataCopy (0, 1 or 2) is the one used: the first that is intact.
	MetadataOffsets [3]int64
	MetadataCopy    int
	// CopyErrors says why a copy before the one used was passed over.
	CopyErrors [3]error
	// HeaderOffset and HeaderSize place the relocated first sectors
	// (version 2): the decrypted view reads them at offset 0.
	HeaderOffset, HeaderSize int64

	r    io.ReaderAt
	size int64
	hdr  *volumeHeader
	md   *metadata
	area int64 // bytes each metadata copy occupies
}

// NewVolume reads the BitLocker metadata of a volume of size bytes. It
// returns ErrNotBitLocker (wrapped) when the volume has no BitLocker
// signature.
func NewVolume(r io.ReaderAt, size int64) (*Volume, error) {
	if size < headerLen {
		return nil, fmt.Errorf("%w: %d bytes is too small", ErrNotBitLocker, size)
	}
	var b [headerLen]byte
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return nil, fmt.Errorf("bitlocker: reading the volume header: %w", err)
	}
	h, err := parseHeader(b[:])
	if err != nil {
		return nil, err
	}
	v := &Volume{Kind: h.kind, SectorSize: h.sectorSize, EncryptOnWrite: h.eow, r: r, size: size, hdr: h}
	m, err := v.readMetadata(h)
	if err != nil {
		return nil, err
	}
	v.md = m
	v.Version, v.GUID, v.Method, v.Created = m.version, m.guid, m.method, m.created
	v.Description, v.Protectors = m.description, m.protectors
	v.State, v.NextState, v.EncryptedSize = m.state, m.next, m.encryptedSize
	v.MetadataOffsets = m.offsets
	if h.kind == KindVista {
		v.MetadataOffsets[0] = h.offsets[0]
		// Vista encrypts the whole NTFS volume, its backup boot sector
		// included, whatever the block header says (as dislocker reads it).
		if h.ntfsSize > 0 && h.ntfsSize <= size {
			v.EncryptedSize = h.ntfsSize
		}
	}
	v.area = areaSize(m.version, h.sectorSize, h.cluster)
	if v.Method.keyLen() == 0 {
		return nil, kindErr(ErrUnsupported, v.MetadataOffsets[v.MetadataCopy]+mdMethod, "encryption %v", v.Method)
	}
	if err := v.placeHeader(); err != nil {
		return nil, err
	}
	return v, nil
}

// placeHeader finds the relocated first sectors: the volume-header datum
// says where and how many bytes; without it, the block header's backup
// address and sector count do.
func (v *Volume) placeHeader() error {
	if v.Version == 1 {
		return nil // Vista keeps its boot sector in place
	}
	m := v.md
	off, n := m.headerBackup, m.backupSectors*int64(v.SectorSize)
	if m.headerFound {
		off, n = m.headerOff, m.headerLen
	}
	ss := int64(v.SectorSize)
	if n <= 0 || n > 1<<20 || off <= 0 || off > v.size-n || off%ss != 0 || n%ss != 0 {
		return formatErr(v.MetadataOffsets[v.MetadataCopy]+blkHeaderBackup,
			"relocated boot sectors (%d bytes at %d) do not fit the %d-byte volume", n, off, v.size)
	}
	v.HeaderOffset, v.HeaderSize = off, n
	return nil
}

// Size returns the size of the volume in bytes.
func (v *Volume) Size() int64 { return v.size }

// ProtectorTypes lists the volume's protector types in metadata order,
// e.g. "password, recovery password".
func (v *Volume) ProtectorTypes() string {
	var s []string
	for _, p := range v.Protectors {
		s = append(s, p.Type.String())
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// File is a Volume read from a file, to be closed after use.
type File struct {
	*Volume
	f *os.File
}

// Open opens the BitLocker volume in the named file (an image of the
// volume alone, or a block device).
func Open(name string) (*File, error) {
	f, _, size, err := srcfile.Open(name)
	if err != nil {
		if errors.Is(err, srcfile.ErrNotFile) {
			err = fmt.Errorf("%w: %w", ErrFormat, err)
		}
		return nil, err
	}
	v, err := NewVolume(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &File{Volume: v, f: f}, nil
}

// Close closes the underlying file; Readers from Unlock stop working.
func (f *File) Close() error { return f.f.Close() }

// IsNotBitLocker reports whether err says a volume is not BitLocker at all.
func IsNotBitLocker(err error) bool { return errors.Is(err, ErrNotBitLocker) }
