//go:build linux

package fs

import "testing"

// TestFileCredit checks the credit of file descriptions: spent one at a
// time, never below zero, earned up to its cap, so a find after a walk
// that read files describes at most fileCreditMax files for nothing.
func TestFileCredit(t *testing.T) {
	var c fileCredit
	if c.spend() {
		t.Fatal("an empty credit was spent")
	}
	c.earn(fileCreditLookup)
	for i := range fileCreditLookup {
		if !c.spend() {
			t.Fatalf("spend %d of %d failed", i+1, fileCreditLookup)
		}
	}
	if c.spend() {
		t.Fatal("spent more than earned")
	}
	for range 2 * fileCreditMax / fileCreditLookup {
		c.earn(fileCreditLookup)
	}
	n := 0
	for c.spend() {
		n++
	}
	if n != fileCreditMax {
		t.Errorf("after earning twice the cap, %d spent, want the cap %d", n, fileCreditMax)
	}
}
