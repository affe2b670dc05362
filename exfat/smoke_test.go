//go:build linux

package exfat

import (
	"io/fs"
	"testing"
)

func TestSmoke(t *testing.T) {
	v := openFixture(t, fixture(t, "c4k"))
	t.Log(v.Label(), v.Warnings())
	n := 0
	fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(p, err)
			return nil
		}
		n++
		if n < 60 {
			fi, _ := d.Info()
			t.Logf("%s %d %v %v %x", p, fi.Size(), fi.ModTime(), fi.Sys().(*FileInfo).CreationTime(), fi.Sys().(*FileInfo).WindowsAttributes())
		}
		return nil
	})
	t.Log(n)
}
