package vhdx

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestQemuMadeVHDX reads VHDX files made and written by qemu and compares
// every byte with qemu-img's own raw conversion.
func TestQemuMadeVHDX(t *testing.T) {
	testutil.NeedTool(t, "qemu-img")
	for _, tc := range []struct {
		size, opts string
	}{
		{"64M", "block_size=1M"},
		{"100M", "block_size=8M,log_size=1M"},
		{"33M", "block_size=32M,subformat=fixed"},
		{"65M", "block_size=256M"},
	} {
		t.Run(tc.size+"-"+tc.opts, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "d.vhdx")
			testutil.Run(t, "qemu-img", "create", "-f", "vhdx", "-o", tc.opts, p, tc.size)
			qemuIO(t, p, "vhdx", "write -P 0x5a 0 1M", "write -P 0x11 3M 512", "write -P 0x22 17M 5M",
				"write -z 18M 1M", fmt.Sprintf("write -P 0x33 %s 4096", "32M"))
			c, err := OpenChain(p, ChainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			mustEqualBytes(t, "chain vs qemu-img convert", readAll(t, c), qemuToRaw(t, p, "vhdx"))
		})
	}
}
