package guest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Volumes stack. A volume is a ReaderAt with a size and a name; the
// pipeline that finds them runs, for every partition (or whole disk):
//
//	partition ─▶ [unwrapping layers: decryption] ─▶ filesystem or LVM
//	                                                 └▶ [sibling layers: shadow copies]
//
// Unwrapping layers are tried, in registration order, on the first
// ProbeSize bytes of the volume before any filesystem is detected. The
// first that claims the bytes gives the volume beneath (BitLocker: the
// decrypted volume), which replaces Volume.Reader and Volume.Size; the
// layers run again on it, up to maxLayerDepth times. Then the filesystem
// (or LVM physical volume) is detected and opened on what is left.
// Sibling layers run after that, on the volume as opened, and may add
// volumes beside it (Volume Shadow Copies: one per store, each a
// read-only past state of the live volume); each sibling then goes
// through the pipeline too, sibling layers excepted.
//
// A layer is plugged in by an adapter file in this package
// (guest/<layer>.go) that imports its reader package and registers it:
//
//	func init() {
//		registerLayer(Layer{Name: "bitlocker", Unwrap: unwrapBitLocker})
//	}
//
// The reader package itself (bitlocker, vss) knows nothing of guest: it
// takes an io.ReaderAt and a size, like every reader.
//
// LVM is not a layer. Its logical volumes lie inside the physical volume,
// each a map of its extents with a start on the disk of its own (and not
// remapped when the extents are one run), and a physical volume is found
// by its label like a filesystem; so openVolume detects it and
// logicalVolumes opens what it holds, through the whole pipeline, up to
// maxLayerDepth volumes deep.

// Layer is one optional step of the volume pipeline. Exactly one of
// Unwrap and Siblings is set.
type Layer struct {
	// Name names the layer in Volume.Layers and in messages: "bitlocker",
	// "vss".
	Name string

	// Unwrap looks at a volume whose first bytes are probe (up to
	// ProbeSize of them; fewer when the volume is smaller). It returns
	// ok false when they are not its layer's: the next layer, then
	// filesystem detection, get them.
	//
	// When they are its layer's, it returns the volume beneath as r and
	// size (reads of r must not go past size), or a non-nil err saying
	// why that cannot be had (a locked volume and no key: wrap
	// ErrLocked; damage: a *FormatError or the reader's own ErrFormat).
	// It may set v's Encryption and Locked fields (guest sets Locked when
	// err wraps ErrLocked); guest records the layer in v.Layers, sets
	// v.Remapped (the bytes beneath lie nowhere on the disk) and, on an
	// error, v.Err. Keys come from o.Keys; never put one in an error or
	// a field.
	Unwrap func(v *Volume, probe []byte, o *Options) (r io.ReaderAt, size int64, ok bool, err error)

	// Siblings looks at a volume after its filesystem was opened (v.FS,
	// v.FSType, v.Label set; v.FS nil when it could not be) and returns
	// the volumes to show beside it: nil when it has none. Each returned
	// volume needs Name (ShadowName for a shadow copy), Reader and Size
	// (or Err, for one that cannot be read: it is listed with its error),
	// and the layer's own fields (ShadowOf, Created); guest copies Number,
	// Start, Table and PartType from v, sets Remapped and Layers, and
	// detects and opens its filesystem. An error is shown as one more
	// volume named "<v.Name>@<layer name>" whose Err it is, so that a
	// damaged store does not hide the live volume.
	Siblings func(v *Volume, o *Options) ([]*Volume, error)
}

// Options carry what the pipeline needs beyond the disk's bytes. The zero
// value (or a nil *Options) opens what needs no key.
type Options struct {
	// Keys are the secrets an unwrapping layer may try on an encrypted
	// volume, as the user gave them (ckptfs --bitlocker KEY, or the lines
	// of --bitlocker-keys FILE): a BitLocker layer takes 48-digit
	// recovery passwords, passwords or .BEK key files by what each looks
	// like. They must never appear in output, errors or files.
	Keys []string
	// NoRecovery shows filesystems as their blocks are on the disk: a
	// dirty ext journal, XFS log or btrfs log tree is not replayed (the kernel's
	// norecovery/noload). For examiners who want what was written back,
	// not what the guest would see after its next mount.
	NoRecovery bool
}

// ErrLocked is wrapped by the error of an encrypted volume that no key
// in Options.Keys opened.
var ErrLocked = fmt.Errorf("guest: encrypted volume is locked (no key given opens it): %w", ErrUnsupported)

// ProbeSize is how many of a volume's first bytes the layers and the
// filesystem detection look at.
const ProbeSize = probeSize

// maxLayerDepth bounds unwrapping: a volume inside a volume inside a
// volume is already unusual, and hostile bytes must not loop.
const maxLayerDepth = 4

// layers are the registered layers, in registration order (registerLayer
// is called from init functions, which run in file name order).
var layers []Layer

// registerLayer adds a layer to the pipeline; call it from an init
// function of the layer's adapter file.
func registerLayer(l Layer) {
	if l.Name == "" || (l.Unwrap == nil) == (l.Siblings == nil) {
		panic("guest: a layer needs a name and exactly one of Unwrap and Siblings")
	}
	layers = append(layers, l)
}

// shadowTimeLayout is the time in a shadow copy's volume name: UTC, dots
// in place of colons as in by-time/ (colons upset Windows tools and scp).
const shadowTimeLayout = "2006-01-02T15.04.05"

// ShadowName is the name of the shadow copy of volume vol created at
// created: "<vol>@<created>" ("Disk0-p2@2020-07-25T12.26.04"). Two stores
// created in the same second are told apart by the mount's name rule
// (a " (2)" suffix).
func ShadowName(vol string, created time.Time) string {
	return vol + "@" + created.UTC().Format(shadowTimeLayout)
}

// readProbe reads the first ProbeSize bytes of a volume (fewer when it is
// smaller or a read fails part-way: detection then sees what there is).
func readProbe(r io.ReaderAt, size int64) []byte {
	buf := make([]byte, min(max(size, 0), probeSize))
	n, _ := r.ReadAt(buf, 0)
	return buf[:n]
}

// unwrap runs the unwrapping layers on v until none claims its bytes, and
// returns the probe of what is left. It reports false when a layer
// claimed the bytes but could not give what is beneath (v.Err is set).
func unwrap(v *Volume, o *Options) ([]byte, bool) {
	probe := readProbe(v.Reader, v.Size)
	for depth := 0; depth < maxLayerDepth; depth++ {
		l, r, size, err := firstUnwrap(v, probe, o)
		if l == nil {
			return probe, true
		}
		if v.outer == nil {
			// Its bytes as they lie on the disk, for SourceRuns.
			outer := *v
			v.outer = &outer
		}
		v.Layers = append(v.Layers, l.Name)
		v.Remapped = true
		if err != nil {
			v.Locked = v.Locked || errors.Is(err, ErrLocked)
			v.Err = fmt.Errorf("%s: %s: %w", v.Name, l.Name, err)
			return nil, false
		}
		v.Reader, v.Size = r, size
		probe = readProbe(v.Reader, v.Size)
	}
	v.Err = formatErr(0, "%s: more than %d layers (%s)", v.Name, maxLayerDepth, strings.Join(v.Layers, " > "))
	return nil, false
}

func firstUnwrap(v *Volume, probe []byte, o *Options) (*Layer, io.ReaderAt, int64, error) {
	for i := range layers {
		l := &layers[i]
		if l.Unwrap == nil {
			continue
		}
		r, size, ok, err := l.Unwrap(v, probe, o)
		if !ok {
			continue
		}
		if err == nil && (r == nil || size < 0) {
			err = fmt.Errorf("layer gave no volume beneath: %w", ErrFormat)
		}
		return l, r, size, err
	}
	return nil, nil, 0, nil
}

// siblings runs the sibling layers on v, which was opened, and opens the
// volumes they add.
func siblings(v *Volume, o *Options) []*Volume {
	var out []*Volume
	for i := range layers {
		l := &layers[i]
		if l.Siblings == nil {
			continue
		}
		vols, err := l.Siblings(v, o)
		out = append(out, addSiblings(v, l.Name, vols, err, o)...)
	}
	return out
}

// addSiblings opens the volumes a sibling layer named layer found beside
// v, or, when it failed, makes the one volume that carries its error.
func addSiblings(v *Volume, layer string, vols []*Volume, err error, o *Options) []*Volume {
	if err != nil {
		return []*Volume{{Name: v.Name + "@" + layer, Number: v.Number, Start: v.Start,
			Table: v.Table, PartType: v.PartType, FSType: fsUnknown, Remapped: true, disk: v.disk,
			Layers: append(append([]string(nil), v.Layers...), layer),
			Err:    fmt.Errorf("%s: %s: %w", v.Name, layer, err)}}
	}
	var out []*Volume
	for _, s := range vols {
		if s == nil {
			continue
		}
		s.Number, s.Start, s.Table, s.PartType = v.Number, v.Start, v.Table, v.PartType
		s.disk = v.disk
		s.Remapped = true
		s.Layers = append(append([]string(nil), v.Layers...), layer)
		s.FSType = fsUnknown
		if s.Reader != nil && s.Err == nil {
			openVolume(s, o, false)
		}
		out = append(out, s)
	}
	return out
}
