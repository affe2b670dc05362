//go:build linux

package ext

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// kernelXattrs lists a host file's extended attributes through the
// kernel: the oracle for what mke2fs -d copied into the image.
func kernelXattrs(t *testing.T, p string) map[string][]byte {
	t.Helper()
	buf := make([]byte, 64<<10)
	n, err := syscall.Listxattr(p, buf)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		v := make([]byte, 64<<10)
		m, err := syscall.Getxattr(p, name, v)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = v[:m]
	}
	return out
}

// xattrACL builds a POSIX ACL in the kernel's xattr form.
func xattrACL(entries ...[3]uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, xattrACLVer)
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

// TestExtXattrs makes an ext4 volume with mke2fs -d from a tree whose
// files carry user, trusted and ACL attributes, small (kept in the inode)
// and large (in an attribute block), and compares what the volume's files
// offer (FileInfo.Xattrs) with what the kernel reads from the tree.
func TestExtXattrs(t *testing.T) {
	testutil.NeedTool(t, "mke2fs")
	tree := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(tree, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	set := func(p, name string, v []byte) {
		if err := syscall.Setxattr(p, name, v, 0); err != nil {
			testutil.Unavailable(t, "the test folder takes no "+name+": "+err.Error())
		}
	}
	small, big := write("small"), write("big")
	write("plain")
	set(small, "user.comment", []byte("kept in the inode"))
	set(big, "user.blob", bytes.Repeat([]byte("0123456789"), 150))
	set(big, "user.other", []byte("x"))
	if os.Geteuid() == 0 {
		set(small, "trusted.t", []byte("root only"))
	}
	const undef = aclUndefined
	set(big, "system.posix_acl_access", xattrACL([3]uint32{aclUserObj, 6, undef}, [3]uint32{aclUser, 6, 1234},
		[3]uint32{aclGroupObj, 4, undef}, [3]uint32{aclGroup, 4, 99}, [3]uint32{aclMask, 6, undef}, [3]uint32{aclOther, 4, undef}))

	img := filepath.Join(t.TempDir(), "img")
	testutil.Run(t, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256", "-d", tree, img, "8M")
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	v, err := NewFS(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"small", "big", "plain"} {
		fi, err := v.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fi.Sys().(*FileInfo).Xattrs()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := kernelXattrs(t, filepath.Join(tree, name))
		keys := func(m map[string][]byte) []string {
			var k []string
			for n := range m {
				k = append(k, n)
			}
			slices.Sort(k)
			return k
		}
		if !slices.Equal(keys(got), keys(want)) {
			t.Errorf("%s: names %q, the kernel lists %q", name, keys(got), keys(want))
		}
		for n, v := range want {
			if !bytes.Equal(got[n], v) {
				t.Errorf("%s: %s = %x, the kernel reads %x", name, n, got[n], v)
			}
		}
		if name == "plain" && len(got) != 0 {
			t.Errorf("plain: %q", keys(got))
		}
	}
}

// FuzzExtXattrs feeds attribute areas and stored ACLs to the parsers: no
// panic, and a converted ACL is a whole number of 8-byte entries.
func FuzzExtXattrs(f *testing.F) {
	entry := func(index byte, name string, vOff uint16, vSize uint32) []byte {
		e := []byte{byte(len(name)), index}
		e = binary.LittleEndian.AppendUint16(e, vOff)
		e = binary.LittleEndian.AppendUint32(e, 0)
		e = binary.LittleEndian.AppendUint32(e, vSize)
		e = binary.LittleEndian.AppendUint32(e, 0)
		e = append(e, name...)
		for len(e)%4 != 0 {
			e = append(e, 0)
		}
		return e
	}
	area := append(entry(1, "comment", 64, 5), entry(2, "", 69, 12)...)
	area = append(area, make([]byte, 64-len(area))...)
	area = append(area, "hello"...)
	area = append(area, 1, 0, 0, 0, aclUserObj, 0, 6, 0, aclOther, 0, 4, 0)
	f.Add(area)
	f.Add([]byte{1, 0, 0, 0, aclUser, 0, 6, 0, 0xd2, 4, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = parseXattrs(map[string][]byte{}, b, b, func(uint32, int64) ([]byte, error) { return nil, errors.New("no inodes here") })
		if out, err := extACLToXattr(b); err == nil && (len(out)-4)%8 != 0 {
			t.Fatalf("ACL of %d bytes", len(out))
		}
	})
}
