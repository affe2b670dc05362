package exfat

import (
	"unsafe"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// cacheBudget is the budget the listing cache counts its bytes in: the
// process-wide one (internal/membudget), so that a walk across many
// checkpoints' volumes stays within one bound, as the other readers do.
var cacheBudget = membudget.Default

// listingBytes is what a parsed directory holds: its entries and their
// names. The case-folded index a first case-insensitive lookup builds is
// left out (it is built after the listing is counted, and only with
// -o ignore_case).
func listingBytes(l *listing) int64 {
	b := int64(unsafe.Sizeof(listing{})) + int64(cap(l.entries))*int64(unsafe.Sizeof((*entry)(nil)))
	for _, e := range l.entries {
		b += int64(unsafe.Sizeof(entry{})) + int64(len(e.name))
	}
	return b
}
