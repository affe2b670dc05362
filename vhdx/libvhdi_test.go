package vhdx

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestLibvhdiAgrees reads generated chains through libvhdi. ZERO blocks in
// differencing layers are left out: libvhdi (20210425) wrongly shows the
// parent there.
func TestLibvhdiAgrees(t *testing.T) {
	for _, s := range chainSpecs {
		if s.size > 64<<20 {
			continue // keep the FUSE reads short
		}
		s.zeroBlocks = false
		t.Run(s.name, func(t *testing.T) {
			g := buildChain(t, t.TempDir(), s)
			for i, f := range g.files {
				b, err := os.ReadFile(testutil.VhdiMount(t, f, i+1))
				if err != nil {
					t.Fatal(err)
				}
				mustEqualBytes(t, fmt.Sprintf("libvhdi view of checkpoint %d", i), b, g.states[i])
			}
		})
	}
}

// TestQemuAcceptsWrittenBase checks that qemu-img accepts base disks made
// by the writer and reads the same content (qemu cannot open VHDX
// differencing disks, so only bases are checked there).
func TestQemuAcceptsWrittenBase(t *testing.T) {
	for _, s := range chainSpecs {
		if s.sectorSize != 512 {
			continue // qemu's vhdx driver supports only 512-byte logical sectors
		}
		s.layers = 1
		t.Run(s.name, func(t *testing.T) {
			g := buildChain(t, t.TempDir(), s)
			testutil.Run(t, "qemu-img", "check", "-f", "vhdx", g.files[0])
			raw := filepath.Join(t.TempDir(), "base.raw")
			testutil.Run(t, "qemu-img", "convert", "-f", "vhdx", "-O", "raw", g.files[0], raw)
			b, err := os.ReadFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			mustEqualBytes(t, "qemu view of the base", b, g.states[0])
		})
	}
}
