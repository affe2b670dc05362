//go:build linux

package xfs

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestDirtyLogReplay opens an image left with a dirty log (dirty.sh) and
// compares every file with the kernel's view of a copy it recovered.
func TestDirtyLogReplay(t *testing.T) {
	img := fixture(t, "dirty")
	replayMatchesKernel(t, img)
	v := openFixture(t, img)
	if _, err := v.Lstat("base/f2"); err == nil {
		t.Error("base/f2, removed before the crash, is still there")
	}
}

// TestWrappedLogReplay does the same with a log that wrapped several
// times (wrapped.sh): hundreds of transactions from a tail cycles on.
func TestWrappedLogReplay(t *testing.T) {
	replayMatchesKernel(t, fixture(t, "wrapped"))
}

func replayMatchesKernel(t *testing.T, img string) {
	v := openFixture(t, img)
	ls := v.LogState()
	t.Logf("log: %v", ls)
	if !ls.Dirty || !ls.Replayed || ls.Transactions == 0 {
		t.Fatalf("log state %+v, want a replayed dirty log", ls)
	}
	cp := filepath.Join(t.TempDir(), "copy.img")
	testutil.Run(t, "cp", "--sparse=always", img, cp)
	mnt := kernelMountDev(t, cp, false)
	n := compareWithKernel(t, v, mnt)
	t.Logf("%d paths compared with the recovered copy", n)
}

// TestDirtyLogNoRecovery reads the same image without replay and compares
// it with the kernel's norecovery mount: the last checkpointed state.
func TestDirtyLogNoRecovery(t *testing.T) {
	img := fixture(t, "dirty")
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	v, err := NewFSOptions(f, st.Size(), Options{NoRecovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if ls := v.LogState(); !ls.Dirty || ls.Replayed || ls.Note == "" {
		t.Fatalf("log state %+v", ls)
	}
	mnt := kernelMount(t, img, "norecovery")
	compareWithKernel(t, v, mnt)
	if _, err := v.Lstat("base/f2"); err != nil {
		t.Errorf("base/f2 is missing from the checkpointed state: %v", err)
	}
}

// TestDamagedLog breaks one record between the tail and the head: the
// replay must give up and show the checkpointed state, saying so.
func TestDamagedLog(t *testing.T) {
	img := fixture(t, "dirty")
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewFSOptions(bytes.NewReader(b), int64(len(b)), Options{NoRecovery: true})
	if err != nil {
		t.Fatal(err)
	}
	off, _ := v.sb.fsbToByte(v.sb.logStart)
	l := &xlog{v: v, off: off, bbs: int64(v.sb.logBlocks) << v.sb.blockLog / bbSize}
	head, err := l.findHead()
	if err != nil {
		t.Fatal(err)
	}
	tail := int64(uint32(head.tail))
	if tail == head.blk {
		t.Fatal("tail and head are one record: nothing between to damage")
	}
	// The first operation header of the tail record gets a client id
	// no log has.
	hdr := off + tail*bbSize
	r := l.header(b[hdr:hdr+bbSize], tail)
	if r == nil {
		t.Fatal("no record at the tail")
	}
	b[hdr+r.hdrBBs*bbSize+8] = 0x55
	binary.BigEndian.PutUint32(b[hdr:], logRecMagic)
	v2, err := NewFS(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	ls := v2.LogState()
	t.Logf("log: %v", ls)
	if !ls.Dirty || ls.Replayed || ls.Note == "" {
		t.Fatalf("log state %+v, want dirty and not replayed with a note", ls)
	}
	if _, err := v2.Lstat("base/f2"); err != nil {
		t.Errorf("the unreplayed view lacks base/f2: %v", err)
	}
}

// TestExternalLog opens a volume whose log lies on another device: it
// opens, and its log state says the log was not read.
func TestExternalLog(t *testing.T) {
	testutil.NeedTool(t, "mkfs.xfs")
	dir := t.TempDir()
	img, logdev := filepath.Join(dir, "data.img"), filepath.Join(dir, "log.img")
	for _, p := range []string{img, logdev} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 16<<20); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("mkfs.xfs", "-q", "-f", "-b", "size=1024", "-l", "logdev="+logdev+",size=4m", img)
	cmd.Env = append(os.Environ(), "TEST_DIR=1", "TEST_DEV=1", "QA_CHECK_FS=1") // below the 300 MiB floor
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkfs.xfs: %v\n%s", err, b)
	}
	v := openFixture(t, img)
	ls := v.LogState()
	if ls.Replayed || ls.Note == "" || !strings.Contains(ls.String(), "external") {
		t.Errorf("log state %+v (%v)", ls, ls)
	}
	if _, err := v.ReadDir("."); err != nil {
		t.Error(err)
	}
}

// TestHeadSearch finds each image's log head both ways, by reading the
// whole log and by the cycle-number search large logs use: same record.
func TestHeadSearch(t *testing.T) {
	for _, variant := range []string{"dirty", "wrapped", "tiny", "v5"} {
		v := openFixture(t, fixture(t, variant))
		off, _ := v.sb.fsbToByte(v.sb.logStart)
		l := &xlog{v: v, off: off, bbs: int64(v.sb.logBlocks) << v.sb.blockLog / bbSize}
		full, err := l.bestRecord(0, l.bbs)
		if err != nil {
			t.Fatal(err)
		}
		searched, err := l.searchHead()
		if err != nil || searched == nil || searched.lsn != full.lsn {
			t.Errorf("%s: search found %+v (%v), the full scan %+v", variant, searched, err, full)
		}
	}
	saved := fullScanBBs
	fullScanBBs = 0
	defer func() { fullScanBBs = saved }()
	for _, variant := range []string{"dirty", "wrapped"} {
		v := openFixture(t, fixture(t, variant))
		if ls := v.LogState(); !ls.Replayed || ls.Transactions == 0 {
			t.Errorf("%s image through the search: %v", variant, ls)
		}
	}
}
