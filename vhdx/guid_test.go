package vhdx

import (
	"errors"
	"testing"
)

func TestGUIDRoundTrip(t *testing.T) {
	g, err := ParseGUID("{2DC27766-F623-4200-9D64-115E9BFD4A08}")
	if err != nil {
		t.Fatal(err)
	}
	want := [16]byte{0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42, 0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08}
	if g != want {
		t.Fatalf("bytes % x, want % x", g[:], want[:])
	}
	if s := g.String(); s != "2dc27766-f623-4200-9d64-115e9bfd4a08" {
		t.Fatalf("String = %s", s)
	}
	for _, bad := range []string{"", "zz", "2DC27766-F623-4200-9D64-115E9BFD4A0G", "2DC27766+F623-4200-9D64-115E9BFD4A08"} {
		if _, err := ParseGUID(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseGUID(%q) = %v, want ErrFormat", bad, err)
		}
	}
	n := NewGUID()
	if n2, err := ParseGUID(n.String()); err != nil || n2 != n {
		t.Fatalf("NewGUID round trip: %v %v", n2, err)
	}
}
