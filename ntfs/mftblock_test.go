package ntfs

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"
)

// TestRecordBlocksMatchSingleReads reads every record of a volume cut off
// in the middle of an MFT block twice: through the block cache and one
// record at a time. Records before the cut must decode through the
// fallback, those after must fail, and both ways must agree on each.
func TestRecordBlocksMatchSingleReads(t *testing.T) {
	img, err := os.ReadFile(image(t, "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	per := uint64(max(mftBlockBytes/int64(good.geo.RecordSize), 1))
	last := 2*per - per/2 // the last whole record before the cut, mid-block
	cut := recordOffsets(t, good, last)[0] + int64(good.geo.RecordSize)
	if next := recordOffsets(t, good, last+1)[0]; next < cut {
		t.Skipf("$MFT is not contiguous around record %d", last)
	}
	open := func(blocks bool) *Volume {
		v, err := NewVolume(bytes.NewReader(img[:cut]), int64(len(img)))
		if err != nil {
			t.Fatal(err)
		}
		if !blocks {
			v.mftBlocks = nil
		}
		return v
	}
	withBlocks, single := open(true), open(false)
	read := 0
	for n := uint64(0); n < good.Records(); n++ {
		a, aerr := withBlocks.Record(n)
		b, berr := single.Record(n)
		if (aerr == nil) != (berr == nil) || (aerr != nil && aerr.Error() != berr.Error()) {
			t.Fatalf("record %d: blocks %v, single %v", n, aerr, berr)
		}
		if aerr == nil && !reflect.DeepEqual(a, b) {
			t.Fatalf("record %d differs", n)
		}
		if aerr == nil {
			read++
		}
		if n > last && aerr == nil {
			t.Fatalf("record %d past the cut read", n)
		}
		if n == last && aerr != nil && !errors.Is(aerr, ErrFormat) {
			t.Fatalf("record %d before the cut: %v", n, aerr)
		}
	}
	if _, ok := withBlocks.mftBlocks.get(last / per); ok {
		t.Error("the cut block was cached")
	}
	if _, ok := withBlocks.mftBlocks.get(0); !ok {
		t.Error("the first block was not cached")
	}
	if read <= int(per) {
		t.Fatalf("only %d records read", read)
	}
}
