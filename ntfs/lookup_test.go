package ntfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"path"
	"reflect"
	"strings"
	"testing"
)

// TestLookupInMatchesStat looks every name of every directory up through
// LookupIn and through Stat of the joined path, plus names that must miss
// (other case, DOS-style short names, suffixed), and wants the same answer.
func TestLookupInMatchesStat(t *testing.T) {
	v := openImage(t, "small")
	checked := 0
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		dfi, err := v.Stat(p)
		if err != nil {
			return err
		}
		ref := dfi.Sys().(*FileRecordInfo).Ref
		ents, err := v.ReadDir(p)
		if err != nil {
			return err
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			names = append(names, n, strings.ToUpper(n), strings.ToLower(n), n+"x")
		}
		names = append(names, "PROGRA~1", "ENTRY-~1.TXT", "$MFT", "$UpCase", "nonexistent")
		for _, name := range names {
			want, werr := v.Stat(path.Join(p, name))
			got, gerr := v.LookupIn(ref, name)
			if (werr == nil) != (gerr == nil) || errors.Is(werr, fs.ErrNotExist) != errors.Is(gerr, fs.ErrNotExist) {
				t.Errorf("%s / %q: LookupIn error %v, Stat error %v", p, name, gerr, werr)
				continue
			}
			if werr != nil {
				continue
			}
			checked++
			wr, gr := want.Sys().(*FileRecordInfo), got.Sys().(*FileRecordInfo)
			if got.Name() != want.Name() || got.Mode() != want.Mode() || got.Size() != want.Size() ||
				!got.ModTime().Equal(want.ModTime()) || !reflect.DeepEqual(gr, wr) {
				t.Errorf("%s / %q: LookupIn %v %v %d %v, Stat %v %v %d %v", p, name,
					got.Name(), got.Mode(), got.Size(), gr.Ref, want.Name(), want.Mode(), want.Size(), wr.Ref)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 3000 {
		t.Fatalf("only %d names found", checked)
	}
}

// TestLookupInErrors covers the references and names LookupIn refuses.
func TestLookupInErrors(t *testing.T) {
	v := openImage(t, "tiny")
	dir := refOf(t, v, "dir")
	file := refOf(t, v, "hello.txt")
	if fi, err := v.LookupIn(Ref{Record: dir.Record}, "file-3"); err != nil || fi.Name() != "file-3" {
		t.Errorf("sequence 0 (unchecked): %v", err)
	}
	if fi, err := v.LookupIn(refOf(t, v, "."), "hello.txt"); err != nil || fi.Sys().(*FileRecordInfo).Ref != file {
		t.Errorf("in the root: %v", err)
	}
	// Metadata files are found by name, though not listed.
	if fi, err := v.LookupIn(refOf(t, v, "."), "$MFT"); err != nil || fi.Sys().(*FileRecordInfo).Ref.Record != 0 {
		t.Errorf("$MFT: %v", err)
	}
	tests := []struct {
		name string
		dir  Ref
		file string
		want error
	}{
		{"stale sequence", Ref{Record: dir.Record, Seq: dir.Seq + 1}, "file-3", fs.ErrNotExist},
		{"missing name", dir, "file-999", fs.ErrNotExist},
		{"DOS name", dir, "FILE-3~1", fs.ErrNotExist},
		{"not a directory", file, "x", errNotDir},
		{"record past $MFT", Ref{Record: 1 << 40}, "x", ErrRange},
		{"path", dir, "a/b", fs.ErrInvalid},
		{"dot", dir, ".", fs.ErrInvalid},
		{"dotdot", dir, "..", fs.ErrInvalid},
		{"empty", dir, "", fs.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := v.LookupIn(tc.dir, tc.file)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want %v", fi, err, tc.want)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Op != "lookup" {
				t.Fatalf("%v is not a lookup *fs.PathError", err)
			}
		})
	}
}

// TestLookupMalformedKeys gives every key of dir's INDX records a name
// running past its value: lookups that compare against them must fail
// with ErrFormat, none may panic, and the root's own keys still work.
func TestLookupMalformedKeys(t *testing.T) {
	var names []string
	img := messWith(t, func(v *Volume, img []byte) []byte {
		n, err := v.resolve("test", "dir")
		if err != nil {
			t.Fatal(err)
		}
		ix, err := n.index()
		if err != nil || ix.alloc == nil {
			t.Fatalf("dir has no index allocation: %v", err)
		}
		ents, err := v.ReadDir("dir")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		for pos := int64(0); pos+ix.recSize <= ix.alloc.size; pos += ix.recSize {
			offs := chunkOffsets(t, ix.alloc, pos, ix.recSize)
			if string(img[offs[0]:offs[0]+4]) != "INDX" {
				continue
			}
			editProtected(t, img, offs, func(b []byte) {
				h := 0x18
				p := h + int(binary.LittleEndian.Uint32(b[h:]))
				for binary.LittleEndian.Uint16(b[p+12:])&entryLast == 0 {
					b[p+16+0x40] = 0xFF
					p += int(binary.LittleEndian.Uint16(b[p+8:]))
				}
			})
		}
		return img
	})
	v, err := NewVolume(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	dir := refOf(t, v, "dir")
	failed := 0
	for _, name := range names {
		_, serr := v.Stat("dir/" + name)
		_, lerr := v.LookupIn(dir, name)
		for _, err := range []error{serr, lerr} {
			if err != nil && !errors.Is(err, ErrFormat) {
				t.Errorf("%q: %v, want ErrFormat", name, err)
			}
		}
		if lerr != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no lookup met a malformed key")
	}
}

// refOf returns the MFT reference of the file at p.
func refOf(t *testing.T, v *Volume, p string) Ref {
	t.Helper()
	fi, err := v.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*FileRecordInfo).Ref
}
