package main

// The targets the operations land on, and the reparse buffers written raw.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf16"
)

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// reparseSymlink builds an IO_REPARSE_TAG_SYMLINK buffer.
func reparseSymlink(print, subst string, relative bool) []byte {
	p, su := utf16le(print), utf16le(subst)
	var body []byte
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint16(body, uint16(len(su)))
	body = binary.LittleEndian.AppendUint16(body, uint16(len(su)))
	body = binary.LittleEndian.AppendUint16(body, uint16(len(p)))
	flags := uint32(0)
	if relative {
		flags = 1
	}
	body = binary.LittleEndian.AppendUint32(body, flags)
	body = append(append(body, su...), p...)
	return reparseHeader(0xA000000C, body)
}

// reparseMountPoint builds an IO_REPARSE_TAG_MOUNT_POINT buffer.
func reparseMountPoint(print, subst string) []byte {
	p, su := utf16le(print), utf16le(subst)
	var body []byte
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint16(body, uint16(len(su)))
	body = binary.LittleEndian.AppendUint16(body, uint16(len(su)+2))
	body = binary.LittleEndian.AppendUint16(body, uint16(len(p)))
	body = append(append(append(body, su...), 0, 0), p...)
	body = append(body, 0, 0)
	return reparseHeader(0xA0000003, body)
}

func reparseHeader(tag uint32, body []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(body)))
	b = binary.LittleEndian.AppendUint16(b, 0)
	return append(b, body...)
}

// dirTarget writes through a mounted directory.
type dirTarget string

func (d dirTarget) at(p string) string { return filepath.Join(string(d), p) }

func (d dirTarget) mkdir(p string) error { return os.Mkdir(d.at(p), 0o755) }

func (d dirTarget) writeAt(p string, off int64, b []byte) error {
	f, err := os.OpenFile(d.at(p), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(b, off); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (d dirTarget) truncate(p string, n int64) error { return os.Truncate(d.at(p), n) }
func (d dirTarget) remove(p string) error            { return os.RemoveAll(d.at(p)) }
func (d dirTarget) rename(a, b string) error         { return os.Rename(d.at(a), d.at(b)) }

// chtimes sets both times in one call: exfat-fuse ignores a utimensat
// that leaves one of them as it is.
func (d dirTarget) chtimes(p string, at, mt time.Time) error {
	ts := []syscall.Timespec{syscall.NsecToTimespec(at.UnixNano()), syscall.NsecToTimespec(mt.UnixNano())}
	if at.Year() < 1678 || mt.Year() < 1678 || at.Year() > 2261 || mt.Year() > 2261 {
		ts = []syscall.Timespec{{Sec: at.Unix(), Nsec: int64(at.Nanosecond())}, {Sec: mt.Unix(), Nsec: int64(mt.Nanosecond())}}
	}
	return syscall.UtimesNano(d.at(p), ts)
}

func (d dirTarget) createMany(dir string, names []string) error {
	for _, nm := range names {
		f, err := os.Create(d.at(path.Join(dir, nm)))
		if err != nil {
			return err
		}
		f.Close()
	}
	return nil
}

func (d dirTarget) setxattr(p, name string, val []byte) error {
	return syscall.Setxattr(d.at(p), name, val, 0)
}

func (d dirTarget) removexattr(p, name string) error { return syscall.Removexattr(d.at(p), name) }
func (d dirTarget) link(a, b string) error           { return os.Link(d.at(a), d.at(b)) }
func (d dirTarget) symlink(t, p string) error        { return os.Symlink(t, d.at(p)) }

// mtools writes a FAT image through mtools (this kernel has no vfat): a
// shadow copy of every file on the host is changed and copied over the
// volume's file whole (mcopy -o), with its time (mcopy -m).
type mtools struct {
	img    string
	shadow string
}

func newMtools(img string) *mtools {
	dir, err := os.MkdirTemp("", "winops-fat-")
	if err != nil {
		fatal(err)
	}
	return &mtools{img: img, shadow: dir}
}

func (m *mtools) close() error { return os.RemoveAll(m.shadow) }

func (m *mtools) run(args ...string) error {
	cmd := exec.Command(args[0], append([]string{"-i", m.img}, args[1:]...)...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "MTOOLS_NO_VFAT=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

func (m *mtools) host(p string) string { return filepath.Join(m.shadow, p) }
func vol(p string) string              { return "::/" + p }

func (m *mtools) mkdir(p string) error {
	if err := os.Mkdir(m.host(p), 0o755); err != nil {
		return err
	}
	return m.run("mmd", vol(p))
}

// put copies the shadow of p over the volume's, keeping its mtime.
func (m *mtools) put(p string) error { return m.run("mcopy", "-o", "-m", m.host(p), vol(p)) }

func (m *mtools) writeAt(p string, off int64, b []byte) error {
	if err := dirTarget(m.shadow).writeAt(p, off, b); err != nil {
		return err
	}
	return m.put(p)
}

func (m *mtools) truncate(p string, n int64) error {
	if err := os.Truncate(m.host(p), n); err != nil {
		return err
	}
	return m.put(p)
}

func (m *mtools) remove(p string) error {
	st, err := os.Stat(m.host(p))
	if err != nil {
		return err
	}
	if err := os.RemoveAll(m.host(p)); err != nil {
		return err
	}
	if st.IsDir() {
		return m.run("mdeltree", vol(p))
	}
	return m.run("mdel", vol(p))
}

func (m *mtools) rename(a, b string) error {
	if err := os.Rename(m.host(a), m.host(b)); err != nil {
		return err
	}
	return m.run("mmove", vol(a), vol(b))
}

// chtimes sets the mtime (FAT keeps no access time of day): a directory's
// cannot be set through mtools, so only files'.
func (m *mtools) chtimes(p string, at, mt time.Time) error {
	st, err := os.Stat(m.host(p))
	if err != nil || st.IsDir() {
		return err
	}
	if err := os.Chtimes(m.host(p), at, mt); err != nil {
		return err
	}
	return m.put(p)
}

// createMany copies a host folder of empty files in one mcopy.
func (m *mtools) createMany(dir string, names []string) error {
	var args []string
	for _, nm := range names {
		f, err := os.Create(m.host(path.Join(dir, nm)))
		if err != nil {
			return err
		}
		f.Close()
		args = append(args, m.host(path.Join(dir, nm)))
	}
	return m.run(append(append([]string{"mcopy", "-m"}, args...), vol(dir)+"/")...)
}
