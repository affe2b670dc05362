package nbd

import "io"

// Export is one named block device the server offers.
type Export struct {
	// Name is what clients ask for (NBD_OPT_GO, NBD_OPT_EXPORT_NAME) and
	// what NBD_OPT_LIST shows. At most 4096 bytes, no NUL.
	Name string
	// Description is shown by NBD_OPT_LIST and NBD_INFO_DESCRIPTION.
	Description string
	// Size is the export's length in bytes.
	Size int64
	// Data reads the export. It must be safe for concurrent use: requests
	// of one connection, and of many, are served at once.
	Data io.ReaderAt
	// Map, when set, describes [off, off+n) as consecutive extents that
	// cover it from off (it may stop short; at least one extent for a
	// non-empty range). Without it the whole export is reported as data.
	Map func(off, n int64) ([]Extent, error)
}

// Extent is one run of an export. Hole means no storage backs it and it
// reads as zeros (a sparse copy may skip it); Zero means it reads as zeros.
type Extent struct {
	Off, Len   int64
	Hole, Zero bool
}

// flags are the transmission flags of an export: read-only, safe for
// several connections at once (nothing is cached per connection), and
// "don't fragment" reads when structured replies are on.
func exportFlags(structured bool) uint16 {
	f := uint16(flagHasFlags | flagReadOnly | flagCanMultiConn)
	if structured {
		f |= flagSendDF
	}
	return f
}
