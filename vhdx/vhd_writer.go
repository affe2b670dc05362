package vhdx

import (
	"fmt"
	"os"
	"time"
)

// This file builds whole VHD images in memory. Tests use it to make
// differencing chains (qemu-img cannot create differencing VHDs); export and
// merge will build on its layout rules.

// vhdWrite is a run of sectors to store in a created image.
type vhdWrite struct {
	Off  int64 // byte offset in the virtual disk, a multiple of 512
	Data []byte
}

// vhdParentSpec names the parent of a differencing disk to create.
type vhdParentSpec struct {
	ID           GUID // the parent's footer UniqueID
	Timestamp    time.Time
	Name         string // file name written into the header
	RelativePath string // W2ru locator, e.g. `.\base.vhd`; "" for none
	AbsolutePath string // W2ku locator, e.g. `C:\VMs\base.vhd`; "" for none
}

// vhdCreateOptions describes an image for buildVHD.
type vhdCreateOptions struct {
	Type      DiskType // TypeFixed, TypeDynamic or TypeDifferencing
	Size      int64    // virtual size, a multiple of 512
	BlockSize int64    // dynamic and differencing; 0 means 2 MiB
	UniqueID  GUID     // zero means a random one
	Created   time.Time
	Parent    *vhdParentSpec // differencing only
	Writes    []vhdWrite
	// Creator is the footer's creator application; "" means "win ". qemu
	// takes the virtual size from the CHS geometry unless the creator is
	// one it knows to use the footer size, and "win " is on that list.
	Creator string
}

// vhdLayout offsets of a created dynamic image.
const (
	vhdCreateHeaderOff = vhdFooterSize
	vhdCreateBATOff    = vhdCreateHeaderOff + vhdDynHeaderSize
)

// buildVHD returns the bytes of a new VHD image.
func buildVHD(o vhdCreateOptions) ([]byte, error) {
	if o.Size < 0 || o.Size%vhdSector != 0 || o.Size > vhdMaxSize {
		return nil, fmt.Errorf("vhd create: size %d is not a multiple of 512 in range", o.Size)
	}
	for _, w := range o.Writes {
		if w.Off < 0 || w.Off%vhdSector != 0 || len(w.Data)%vhdSector != 0 || w.Off+int64(len(w.Data)) > o.Size {
			return nil, fmt.Errorf("vhd create: write [%d, +%d) is not whole sectors inside the disk", w.Off, len(w.Data))
		}
	}
	f := newVHDCreateFooter(o)
	switch o.Type {
	case TypeFixed:
		f.DiskType = vhdTypeFixed
		f.DataOffset = vhdNoOffset
		img := make([]byte, o.Size, o.Size+vhdFooterSize)
		for _, w := range o.Writes {
			copy(img[w.Off:], w.Data)
		}
		return append(img, f.encode()...), nil
	case TypeDynamic, TypeDifferencing:
		return buildVHDDynamic(o, f)
	}
	return nil, fmt.Errorf("vhd create: disk type %v", o.Type)
}

// createVHD writes a new VHD image to the named file.
func createVHD(name string, o vhdCreateOptions) error {
	img, err := buildVHD(o)
	if err != nil {
		return err
	}
	return os.WriteFile(name, img, 0o644)
}

func newVHDCreateFooter(o vhdCreateOptions) *vhdFooter {
	id := o.UniqueID
	if id.IsZero() {
		id = NewGUID()
	}
	created := o.Created
	if created.IsZero() {
		created = time.Now()
	}
	creator := o.Creator
	if creator == "" {
		creator = "win "
	}
	f := &vhdFooter{
		Features:       2, // the "reserved" bit every footer must carry
		Version:        0x00010000,
		Timestamp:      vhdStamp(created),
		CreatorVersion: 0x000a0000,
		OriginalSize:   uint64(o.Size),
		CurrentSize:    uint64(o.Size),
		UniqueID:       id,
	}
	copy(f.CreatorApp[:], creator+"    ")
	copy(f.CreatorOS[:], "Wi2k")
	f.Cylinders, f.Heads, f.SectorsPerTrk = vhdGeometry(o.Size / vhdSector)
	return f
}

// buildVHDDynamic lays out: footer copy, dynamic header, BAT, parent
// locator data, blocks in order of first write, footer.
func buildVHDDynamic(o vhdCreateOptions, f *vhdFooter) ([]byte, error) {
	bs := o.BlockSize
	if bs == 0 {
		bs = 2 << 20
	}
	if bs < vhdMinBlockSize || bs > vhdMaxBlockSize || bs&(bs-1) != 0 {
		return nil, fmt.Errorf("vhd create: block size %d", bs)
	}
	f.DiskType = vhdTypeDynamic
	f.DataOffset = vhdCreateHeaderOff
	h := &vhdDynHeader{
		DataOffset:      vhdNoOffset,
		TableOffset:     vhdCreateBATOff,
		Version:         0x00010000,
		MaxTableEntries: uint32((o.Size + bs - 1) / bs),
		BlockSize:       uint32(bs),
	}
	bat := make([]uint32, h.MaxTableEntries)
	for i := range bat {
		bat[i] = vhdBATUnused
	}
	img := make([]byte, vhdCreateBATOff+len(encodeVHDBAT(bat)))
	if o.Type == TypeDifferencing {
		if o.Parent == nil {
			return nil, fmt.Errorf("vhd create: differencing disk without parent")
		}
		f.DiskType = vhdTypeDifferencing
		img = addVHDLocators(img, h, o.Parent)
	}
	bitmapSize := vhdBitmapSize(bs)
	for _, w := range o.Writes {
		for s := int64(0); s < int64(len(w.Data)); s += vhdSector {
			v := w.Off + s
			i := v / bs
			if bat[i] == vhdBATUnused {
				bat[i] = uint32(len(img) / vhdSector)
				img = append(img, make([]byte, bitmapSize+bs)...)
			}
			blk := int64(bat[i]) * vhdSector
			sec := (v % bs) / vhdSector
			img[blk+sec/8] |= 0x80 >> (sec % 8)
			copy(img[blk+bitmapSize+sec*vhdSector:], w.Data[s:s+vhdSector])
		}
	}
	foot := f.encode()
	copy(img[0:], foot)
	copy(img[vhdCreateHeaderOff:], h.encode())
	copy(img[vhdCreateBATOff:], encodeVHDBAT(bat))
	return append(img, foot...), nil
}

// addVHDLocators fills the parent fields of h and appends the locator data,
// each in whole sectors, to img.
func addVHDLocators(img []byte, h *vhdDynHeader, p *vhdParentSpec) []byte {
	h.ParentID = p.ID
	h.ParentTimestamp = vhdStamp(p.Timestamp)
	h.setParentName(p.Name)
	n := 0
	for _, loc := range []struct {
		code [4]byte
		path string
	}{{vhdCodeW2ru, p.RelativePath}, {vhdCodeW2ku, p.AbsolutePath}} {
		if loc.path == "" {
			continue
		}
		data := encodeVHDLocatorData(loc.code, loc.path)
		space := (len(data) + vhdSector - 1) / vhdSector * vhdSector
		h.Locators[n] = vhdLocator{
			Code:       loc.code,
			DataSpace:  uint32(space / vhdSector), // the specification counts sectors
			DataLength: uint32(len(data)),
			DataOffset: uint64(len(img)),
		}
		n++
		img = append(img, make([]byte, space)...)
		copy(img[len(img)-space:], data)
	}
	return img
}
