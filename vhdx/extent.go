package vhdx

// ExtentKind says what a range of a virtual disk holds.
type ExtentKind uint8

// Extent kinds.
const (
	// ExtentAbsent: no layer of the chain holds the range; it reads as zeros
	// and is a hole (SEEK_HOLE, sparse export).
	ExtentAbsent ExtentKind = iota
	// ExtentZero: a layer explicitly says zeros (VHDX ZERO block); reads as
	// zeros and is a hole, but a diff sees the layer that zeroed it.
	ExtentZero
	// ExtentData: a layer holds the bytes.
	ExtentData
)

func (k ExtentKind) String() string {
	return [...]string{"absent", "zero", "data"}[k]
}

// Extent is one run of a virtual disk with a single kind and owner.
type Extent struct {
	Off, Len int64
	Kind     ExtentKind
	// Layer indexes Chain.Layers (0 = top, the checkpoint's own file) of the
	// layer that owns the range; -1 for ExtentAbsent.
	Layer int
}

// End returns Off+Len.
func (e Extent) End() int64 { return e.Off + e.Len }

// Image is a disk at one checkpoint as everything above this package sees
// it: a read-only virtual disk with an extent query. *Chain implements it.
type Image interface {
	ReadAt(p []byte, off int64) (int, error)
	Size() int64
	// Extents describes [off, off+n) as consecutive extents covering it
	// exactly (clipped to Size). Adjacent extents of equal kind and layer
	// are merged.
	Extents(off, n int64) ([]Extent, error)
}
