//go:build linux

package fs

import (
	"bytes"
	"testing"
)

// TestHeldResult: a read answered with lent views gives their bytes
// whichever way go-fuse writes the reply, and gives the views back once,
// however often Done is called.
func TestHeldResult(t *testing.T) {
	released := 0
	r := newHeldResult([][]byte{[]byte("ab"), nil, []byte("cde")}, func() { released++ })
	if r.Size() != 5 {
		t.Errorf("size %d, want 5", r.Size())
	}
	if b, st := r.Bytes(make([]byte, 0, 1)); !st.Ok() || !bytes.Equal(b, []byte("abcde")) {
		t.Errorf("bytes %q, %v", b, st)
	}
	if v, st := r.Slices(); !st.Ok() || len(v) != 3 {
		t.Errorf("slices %q, %v", v, st)
	}
	r.Done()
	r.Done()
	if released != 1 {
		t.Errorf("released %d times, want 1", released)
	}
}
