//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// startServe starts `ckptfs serve SRC --socket ... --json` and returns
// it (killed at the end of the test unless stopped before), its socket
// once it exists, and the exports it listed.
func startServe(t *testing.T, src string) (cmd *exec.Cmd, sock string, listing serveJSON) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "nbd.sock")
	cmd = exec.Command(ckptfsBinary(t), "serve", src, "--socket", sock, "--json")
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := json.NewDecoder(bufio.NewReader(stdoutPipe)).Decode(&listing); err != nil {
		t.Fatalf("serve --json: %v", err)
	}
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	return cmd, sock, listing
}

// TestServeEndToEnd serves the demo VM over a Unix socket and reads every
// export with the independent NBD clients: nbdcopy's bytes equal the
// chain's (vhdimount for disks, the partition window for volumes),
// nbdinfo --map equals the chain's allocation, and SIGTERM stops the
// server cleanly.
func TestServeEndToEnd(t *testing.T) {
	src := demoVM(t)
	for _, tool := range []string{"nbdcopy", "nbdinfo", "vhdimount", "qemu-img"} {
		testutil.NeedTool(t, tool)
	}
	cmd, sock, listing := startServe(t, src)
	cat, err := catalog.Open(src, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	disks, volumes := 0, 0
	for _, e := range listing.Exports {
		uri := "nbd+unix:///" + escapeExport(e.Name) + "?socket=" + sock
		out := filepath.Join(t.TempDir(), "out.raw")
		testutil.Run(t, "nbdcopy", uri, out)
		_, cp, err := cat.Find(e.Checkpoint)
		if err != nil {
			t.Fatal(err)
		}
		chain := cp.Disks[0].Chain
		if e.Volume == "" {
			disks++
			ref := testutil.VhdiMount(t, cp.Disks[0].File, len(chain.Layers))
			if hashFile(t, out) != hashFile(t, ref) {
				t.Errorf("export %s: bytes differ from vhdimount's", e.Name)
			}
			checkMap(t, uri, chain)
			continue
		}
		volumes++
		if st, _ := os.Stat(out); st.Size() != e.Size {
			t.Errorf("export %s: %d bytes, listed as %d", e.Name, st.Size(), e.Size)
		}
		if e.Offset == nil {
			t.Fatalf("export %s: no offset", e.Name)
		}
		disk, err := os.ReadFile(testutil.VhdiMount(t, cp.Disks[0].File, len(chain.Layers)))
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(t.TempDir(), "vol.raw")
		if err := os.WriteFile(want, disk[*e.Offset:*e.Offset+e.Size], 0o600); err != nil {
			t.Fatal(err)
		}
		if hashFile(t, out) != hashFile(t, want) {
			t.Errorf("export %s: bytes differ from the partition", e.Name)
		}
	}
	if disks != 4 || volumes != 4 {
		t.Errorf("%d disk and %d volume exports, want 4 and 4 (3 files and Now): %+v", disks, volumes, listing.Exports)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket %s left behind", sock)
	}
}

// checkMap compares nbdinfo --map with the chain's own extents.
func checkMap(t *testing.T, uri string, chain *vhdx.Chain) {
	t.Helper()
	b := testutil.Run(t, "nbdinfo", "--map", "--json", uri)
	var got []struct {
		Offset, Length int64
		Type           int
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	exts, err := chain.Extents(0, chain.Size())
	if err != nil {
		t.Fatal(err)
	}
	// Merge the chain's extents by hole/data, as the protocol shows them.
	type run struct {
		off, n int64
		hole   bool
	}
	var want []run
	for _, x := range exts {
		hole := x.Kind != vhdx.ExtentData
		if k := len(want) - 1; k >= 0 && want[k].hole == hole {
			want[k].n += x.Len
			continue
		}
		want = append(want, run{x.Off, x.Len, hole})
	}
	if len(got) != len(want) {
		t.Fatalf("map of %s: %d runs, chain has %d", uri, len(got), len(want))
	}
	for i, g := range got {
		if g.Offset != want[i].off || g.Length != want[i].n || (g.Type == 3) != want[i].hole {
			t.Errorf("map run %d: %+v, chain says %+v", i, g, want[i])
		}
	}
}

func escapeExport(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
