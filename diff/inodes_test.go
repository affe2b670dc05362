package diff

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// linuxStates returns the folder of testdata/diff/linux.sh's states of
// one volume of fsType (ext4, xfs), built when missing (root: loop
// mounts).
func linuxStates(t testing.TB, fsType string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "building the ext4 and XFS states needs root (loop mounts)")
	}
	for _, tool := range []string{"mkfs." + fsType, "losetup", "setfattr", "openssl", "python3"} {
		testutil.NeedTool(t, tool)
	}
	return filepath.Dir(testutil.Fixture(t, "diff", "linux-"+fsType+"/state4.list", "linux", fsType))
}

// linuxState is one state of a volume, opened.
type linuxState struct {
	f    *os.File
	size int64
	fsys fs.FS
}

func openLinuxState(t testing.TB, dir string, n int) *linuxState {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("state%d.img", n)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	vols, err := guest.Volumes(f, st.Size(), "vol")
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 1 || vols[0].FS == nil {
		t.Fatalf("state %d: %d volumes, first %+v", n, len(vols), vols[0])
	}
	return &linuxState{f: f, size: st.Size(), fsys: vols[0].FS}
}

// stateSpans returns the 512-byte sectors where two images differ.
func stateSpans(t testing.TB, a, b *linuxState) []span {
	t.Helper()
	const chunk = 1 << 20
	pa, pb := make([]byte, chunk), make([]byte, chunk)
	var out []span
	for off := int64(0); off < a.size; off += chunk {
		n := min(chunk, a.size-off)
		if _, err := a.f.ReadAt(pa[:n], off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if _, err := b.f.ReadAt(pb[:n], off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		out = differingSectors(out, pa[:n], pb[:n], off, 512)
	}
	return normalize(out)
}

func changeLines(cs []FileChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %s from=%s what=%s size=%s", c.Change, c.Path, c.From, strings.Join(c.What, ","), sizeText(c)))
	}
	slices.Sort(out)
	return out
}

// TestInodeDiffLinux: on ext4 and XFS volumes changed by the kernel
// (testdata/diff/linux.sh), the inode comparison gives the full walk's
// result for every ordered pair of states, and refuses (the walk is
// taken, with a note) a state whose journal or log needed recovery; for a
// few pairs both agree with the kernel's view of the two states.
func TestInodeDiffLinux(t *testing.T) {
	for _, fsType := range []string{"ext4", "xfs"} {
		t.Run(fsType, func(t *testing.T) {
			dir := linuxStates(t, fsType)
			const states, dirty = 5, 3
			st := make([]*linuxState, states)
			for i := range st {
				st[i] = openLinuxState(t, dir, i)
			}
			agree, walked := 0, 0
			for i := range states {
				for j := range states {
					if i == j {
						continue
					}
					a, b := st[i], st[j]
					changed := stateSpans(t, a, b)
					want, _, err := walkDiff(context.Background(), "v", a.fsys, b.fsys)
					if err != nil {
						t.Fatal(err)
					}
					got, notes, done := indexedDiff(context.Background(), "v", fsType, a.fsys, b.fsys, changed, false)
					if i == dirty || j == dirty {
						if done || len(notes) != 1 || !strings.Contains(notes[0], "compared by a full walk of both trees: its") || !strings.Contains(notes[0], "needed recovery") {
							t.Errorf("%d→%d: a dirty state compared by inodes (done %v, notes %q)", i, j, done, notes)
						}
						walked++
						continue
					}
					if !done {
						t.Errorf("%d→%d: walked: %q", i, j, notes)
						continue
					}
					if g, w := changeLines(got), changeLines(want); !slices.Equal(g, w) {
						t.Errorf("%d→%d: by inodes:\n%s\nby the walk:\n%s", i, j, strings.Join(g, "\n"), strings.Join(w, "\n"))
						continue
					}
					agree++
				}
			}
			t.Logf("%s: %d ordered pairs agree with the walk, %d with a dirty state walked", fsType, agree, walked)
			right := 0
			for _, p := range [][2]int{{0, 1}, {1, 2}, {2, 4}, {0, 4}, {1, 0}} {
				a, b := st[p[0]], st[p[1]]
				got, _, _ := indexedDiff(context.Background(), "v", fsType, a.fsys, b.fsys, stateSpans(t, a, b), false)
				want := kernelChanges(kernelList(t, dir, p[0]), kernelList(t, dir, p[1]))
				if g := asKernel(got); !slices.Equal(g, want) {
					t.Errorf("%d→%d: by inodes:\n%s\nthe kernel sees:\n%s", p[0], p[1], strings.Join(g, "\n"), strings.Join(want, "\n"))
					continue
				}
				right += len(want)
			}
			t.Logf("%s: %d file changes as the kernel sees them", fsType, right)
		})
	}
}

// kernelEntry is one line of linux.sh's stateN.list.
type kernelEntry struct{ typ, mode, size, mtime, sha, target string }

func kernelList(t testing.TB, dir string, n int) map[string]kernelEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("state%d.list", n)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]kernelEntry{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 7 {
			t.Fatalf("state%d.list: %q", n, sc.Text())
		}
		out[c[0]] = kernelEntry{c[1], c[2], c[3], c[4], c[5], c[6]}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// kernelChanges lists what changed between two kernel views, as the walk
// names it (a rename is a removal and an addition here).
func kernelChanges(a, b map[string]kernelEntry) []string {
	var out []string
	for p, eb := range b {
		ea, ok := a[p]
		if !ok {
			out = append(out, "added v/"+p)
			continue
		}
		if ea.typ != eb.typ {
			out = append(out, "modified v/"+p+" type")
			continue
		}
		var what []string
		if ea.typ == "f" && ea.sha != eb.sha {
			what = append(what, WhatContent)
		}
		if ea.typ == "f" && ea.size != eb.size {
			what = append(what, WhatSize)
		}
		if ea.mtime != eb.mtime {
			what = append(what, WhatMtime)
		}
		if ea.target != eb.target {
			what = append(what, WhatTarget)
		}
		if ea.mode != eb.mode {
			what = append(what, WhatMode)
		}
		if len(what) > 0 {
			out = append(out, "modified v/"+p+" "+strings.Join(what, ","))
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, "removed v/"+p)
		}
	}
	slices.Sort(out)
	return out
}

// asKernel names changes as kernelChanges does.
func asKernel(cs []FileChange) []string {
	var out []string
	for _, c := range cs {
		switch c.Change {
		case Renamed:
			out = append(out, "removed "+c.From, "added "+c.Path)
		case Modified:
			out = append(out, "modified "+c.Path+" "+strings.Join(c.What, ","))
		default:
			out = append(out, string(c.Change)+" "+c.Path)
		}
	}
	slices.Sort(out)
	return out
}

// BenchmarkFilesOneChange: diff --files of the two states of
// testdata/diff/bench.sh's ext4 volume (100,000 files in 1,000
// directories, one file rewritten in place), compared by inodes and by
// the full walk of both trees (which reads every file). scripts/bench.sh
// section 15 runs it.
func BenchmarkFilesOneChange(b *testing.B) {
	for _, fsType := range []string{"ext4"} {
		if os.Geteuid() != 0 {
			testutil.Unavailable(b, "building the benchmark volumes needs root (loop mounts)")
		}
		testutil.NeedTool(b, "mkfs."+fsType)
		testutil.NeedTool(b, "python3")
		dir := filepath.Dir(testutil.Fixture(b, "diff", "bench-"+fsType+"/state1.img", "bench", fsType))
		a, c := openLinuxState(b, dir, 0), openLinuxState(b, dir, 1)
		changed := stateSpans(b, a, c)
		b.Run(fsType+"/inodes", func(b *testing.B) {
			for range b.N {
				got, notes, done := indexedDiff(context.Background(), "v", fsType, a.fsys, c.fsys, changed, false)
				if !done || len(got) != 1 {
					b.Fatalf("by inodes: %v %q", got, notes)
				}
			}
		})
		b.Run(fsType+"/walk", func(b *testing.B) {
			for range b.N {
				got, _, err := walkDiff(context.Background(), "v", a.fsys, c.fsys)
				if err != nil || len(got) != 1 {
					b.Fatalf("by the walk: %v %v", got, err)
				}
			}
		})
	}
}
