package diff

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// entry is one line of a gen.sh manifest, as ntfs-3g saw the file.
type entry struct {
	typ, inode string
	props      map[string]string // What name → value
}

// manifestProps maps manifest columns to the What name they witness.
var manifestProps = map[int]string{2: WhatSize, 3: WhatMtime, 4: WhatCtime, 5: WhatAtime,
	7: WhatContent, 8: WhatStreams, 9: WhatAttributes, 10: WhatBtime}

func readManifest(t *testing.T, n int) map[string]entry {
	t.Helper()
	f, err := os.Open(filepath.Join(stateDir(), "state"+string(rune('0'+n))+".manifest"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]entry{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		if len(col) != 11 {
			t.Fatalf("manifest line %q", sc.Text())
		}
		e := entry{typ: col[1], inode: col[6], props: map[string]string{}}
		for i, name := range manifestProps {
			e.props[name] = col[i]
		}
		out[col[0]] = e
	}
	return out
}

// expected is what two manifests say changed: every path that one state
// has and the other not, and for paths in both, the properties that differ.
func expected(a, b map[string]entry) (gone, came []string, modified map[string][]string) {
	modified = map[string][]string{}
	for p, ea := range a {
		eb, ok := b[p]
		if !ok {
			gone = append(gone, p)
			continue
		}
		var what []string
		for _, name := range manifestProps {
			if ea.props[name] != eb.props[name] {
				what = append(what, name)
			}
		}
		if len(what) > 0 {
			sort.Strings(what)
			modified[p] = what
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			came = append(came, p)
		}
	}
	sort.Strings(gone)
	sort.Strings(came)
	return gone, came, modified
}

// checkFiles compares a diff's file changes with what the manifests of
// states x and y say: nothing missed, nothing extra. props limits the
// compared properties (nil: all that the manifest has).
func checkFiles(t *testing.T, vol string, files []FileChange, x, y int, props map[string]bool) {
	t.Helper()
	ma, mb := readManifest(t, x), readManifest(t, y)
	wantGone, wantCame, wantMod := expected(ma, mb)
	var gone, came []string
	mod := map[string][]string{}
	for _, f := range files {
		p, ok := strings.CutPrefix(f.Path, vol+"/")
		if !ok {
			t.Errorf("change outside volume %s: %+v", vol, f)
			continue
		}
		switch f.Change {
		case Added:
			came = append(came, p)
		case Removed:
			gone = append(gone, p)
		case Modified:
			mod[p] = append([]string(nil), f.What...)
		case Renamed:
			from := strings.TrimPrefix(f.From, vol+"/")
			came, gone = append(came, p), append(gone, from)
			if ma[from].inode != mb[p].inode {
				t.Errorf("renamed %s → %s: inodes %s and %s", from, p, ma[from].inode, mb[p].inode)
			}
		}
	}
	sort.Strings(gone)
	sort.Strings(came)
	if strings.Join(gone, "|") != strings.Join(wantGone, "|") {
		t.Errorf("gone paths:\n got %q\nwant %q", gone, wantGone)
	}
	if strings.Join(came, "|") != strings.Join(wantCame, "|") {
		t.Errorf("new paths:\n got %q\nwant %q", came, wantCame)
	}
	for p, want := range wantMod {
		got := filter(mod[p], props)
		if w := filter(want, props); strings.Join(got, ",") != strings.Join(w, ",") {
			if len(w) > 0 || len(got) > 0 {
				t.Errorf("%s modified: got %v, manifests say %v", p, got, w)
			}
		}
	}
	for p, got := range mod {
		if _, ok := wantMod[p]; !ok {
			t.Errorf("%s reported modified (%v) but the manifests agree", p, got)
		}
	}
}

func filter(what []string, props map[string]bool) []string {
	var out []string
	for _, w := range what {
		if props == nil || props[w] {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}
