package ntfs

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"testing"

	"github.com/ckptfs/ckptfs/internal/membudget"
)

// walkRecord walks v as ls -lR and sha256sum of every file would, and
// returns a line per entry: path, type, size, time, reference and the
// file's hash. check is called after every entry.
func walkRecord(t *testing.T, v *Volume, check func(p string)) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v %d %d %v", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), fi.Sys().(*FileRecordInfo).Ref)
		if fi.Mode().IsRegular() {
			// A file the reader refuses (WIMBoot, ...) is refused the
			// same way in both walks.
			line += " " + hashFile(v, p)
		}
		out = append(out, line)
		check(p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hashFile returns the SHA-256 of the file at p, or its error.
func hashFile(v *Volume, p string) string {
	f, err := v.Open(p)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// openWith opens the images, each as many times as the walk of several
// checkpoints would (a volume per checkpoint), with their caches counted
// in b.
func openWith(t *testing.T, b *membudget.Budget, paths []string) []*Volume {
	t.Helper()
	old := budget
	budget = b
	defer func() { budget = old }()
	var vs []*Volume
	for _, p := range paths {
		v, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		vs = append(vs, v)
	}
	return vs
}

// TestBudgetWalk walks several volumes (four checkpoints of small.img and
// one of tiny.img) one after another, then again at once, under a budget
// of 3 MiB, a fraction of the 11 MiB the caches of one walked small.img
// hold: the caches' own count never passes the limit by more than the
// largest value one cache added at once (a sequential walk fills one
// cache at a time: the value that passes the limit is trimmed right
// after; with n walks at once, n such values), that value is at most a
// 256 KiB run of $MFT blocks or a listing, and every walk sees what the
// same walk sees without a budget.
func TestBudgetWalk(t *testing.T) {
	small, tiny := image(t, "small"), image(t, "tiny")
	paths := []string{small, small, tiny, small, small}

	free := &membudget.Budget{}
	var want [][]string
	for _, v := range openWith(t, free, paths) {
		want = append(want, walkRecord(t, v, func(string) {}))
	}
	unbounded := free.Used()

	const limit = 3 << 20
	b := &membudget.Budget{}
	b.SetLimit(limit)
	vs := openWith(t, b, paths)
	var worst int64
	check := func(string) { worst = max(worst, b.Used()) }
	for i, v := range vs {
		if got := walkRecord(t, v, check); !slices.Equal(got, want[i]) {
			t.Errorf("volume %d: the walk under a budget differs from the walk without one", i)
		}
	}
	peak, maxAdd := b.Peak()
	t.Logf("without a budget the caches hold %.1f MiB; with %.1f MiB: at most %.2f MiB after an entry, peak %.2f MiB, largest value %d KiB",
		mib(unbounded), mib(limit), mib(worst), mib(peak), maxAdd>>10)
	if unbounded < 3*limit {
		t.Fatalf("the walks hold %d bytes without a budget: too few for a budget of %d to be tested", unbounded, limit)
	}
	if maxAdd > 1<<20 {
		t.Errorf("a value of %d bytes: the slack is meant to be small", maxAdd)
	}
	if worst > limit || peak > limit+maxAdd {
		t.Errorf("sequential walks: %d bytes after an entry, peak %d, limit %d + %d", worst, peak, limit, maxAdd)
	}

	// All at once, from fresh volumes: n walks, n values of slack.
	b.ResetPeak()
	vs = openWith(t, b, paths)
	var wg sync.WaitGroup
	got := make([][]string, len(vs))
	for i, v := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = walkRecord(t, v, func(string) {})
		}()
	}
	wg.Wait()
	for i := range vs {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("volume %d: a concurrent walk under a budget differs from the walk without one", i)
		}
	}
	peak, maxAdd = b.Peak()
	if slack := int64(len(vs)) * maxAdd; peak > limit+slack {
		t.Errorf("concurrent walks: peak %d past limit %d + %d", peak, limit, slack)
	}
	var held int64
	for _, u := range b.Usage() {
		held += u.Bytes
	}
	if held > b.Used() {
		t.Errorf("accounts hold %d, budget counts %d", held, b.Used())
	}
}
