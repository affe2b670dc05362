package merge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/vhdx"
)

// CrashEnv names the environment variable that, set to N, makes a merge
// kill itself (SIGKILL) right after its Nth durable step. Tests use it to
// prove every intermediate state readable and resumable.
const CrashEnv = "CKPTFS_MERGE_CRASH_AFTER"

// Report says what Execute did.
type Report struct {
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
	// Copied counts the bytes filled into surviving files.
	Copied int64 `json:"copied"`
	// DurableSteps counts the synced steps taken (journal, commits,
	// removals), the unit of CrashEnv.
	DurableSteps int `json:"durable_steps"`
}

// steps counts durable steps and crashes on request.
type steps struct {
	n, crashAt int
}

func (s *steps) tick(string) error {
	s.n++
	if s.crashAt > 0 && s.n >= s.crashAt {
		crash()
	}
	return nil
}

// Execute carries the plan out. progress, when set, gets the bytes copied
// so far and the total. A failure or crash leaves every surviving
// checkpoint readable as before; running the same merge again finishes.
func (p *Plan) Execute(ctx context.Context, progress func(done, total int64)) (*Report, error) {
	st := &steps{}
	if v := os.Getenv(CrashEnv); v != "" {
		st.crashAt, _ = strconv.Atoi(v)
	}
	var total, done int64
	for _, s := range p.Steps {
		total += s.CopyBytes
	}
	rep := &Report{}
	tick := func(n int64) {
		done += n
		rep.Copied += n
		if progress != nil {
			progress(min(done, total), total)
		}
	}
	if err := p.journalAll(st); err != nil {
		return rep, err
	}
	for _, s := range p.Steps {
		if err := p.runStep(ctx, s, st, tick); err != nil {
			rep.DurableSteps = st.n
			return rep, err
		}
		if s.Fold {
			rep.Changed = append(rep.Changed, s.Into)
		}
		rep.Removed = append(rep.Removed, s.Remove)
	}
	rep.DurableSteps = st.n
	return rep, nil
}

func (p *Plan) runStep(ctx context.Context, s *Step, st *steps, tick func(int64)) error {
	var lock []string
	for _, f := range []string{s.Into, s.Remove} {
		if _, err := os.Stat(f); err == nil && f != "" {
			lock = append(lock, f)
		}
	}
	release, err := lockExclusive(lock)
	if err != nil {
		return err
	}
	defer release()
	switch {
	case s.Fold && s.Absorb:
		if err := p.absorb(ctx, s, st, tick); err != nil {
			return fmt.Errorf("folding %s into %s to take its place: %w", filepath.Base(s.Into), filepath.Base(s.Remove), err)
		}
	case s.Fold:
		if err := p.fold(ctx, s, st, tick); err != nil {
			return fmt.Errorf("folding %s into %s: %w", filepath.Base(s.Remove), filepath.Base(s.Into), err)
		}
	}
	if err := os.Remove(s.Remove); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := syncDir(filepath.Dir(s.Remove)); err != nil {
		return err
	}
	st.tick("removed")
	if err := removeJournal(s.Remove); err != nil {
		return err
	}
	st.tick("journal removed")
	return nil
}

// fold folds s.Remove into s.Into unless a resumed run finds it done.
func (p *Plan) fold(ctx context.Context, s *Step, st *steps, tick func(int64)) error {
	if _, err := os.Stat(journalPath(s.Remove)); errors.Is(err, os.ErrNotExist) {
		j := &journal{Disk: s.Disk, Remove: s.Remove, Into: s.Into, NewParent: s.NewParent}
		if err := writeJournal(j); err != nil {
			return err
		}
		st.tick("journal")
	}
	c, files, err := catalog.OpenChain(s.Into, catalog.Options{})
	if err != nil {
		return err
	}
	defer files.Close()
	done, err := foldDone(c, s)
	if err != nil || done {
		return err
	}
	u, err := vhdx.OpenUpdate(s.Into)
	if err != nil {
		return err
	}
	defer u.Close()
	u.OnDurable = st.tick
	batch := u.MaxPending() - 8 // room for the metadata region's pages
	if p.BatchPages > 0 {
		batch = min(batch, p.BatchPages)
	}
	f := &folder{c: c, u: u, batch: batch, buf: make([]byte, readChunk), progress: tick}
	if err := f.run(ctx.Err); err != nil {
		return err
	}
	if err := u.Commit(); err != nil {
		return err
	}
	if len(c.Layers) == 2 {
		err = u.ClearParent()
	} else {
		err = u.SetParent(c.Layers[2], s.NewParent)
	}
	if err != nil {
		return err
	}
	return u.Commit()
}

// foldDone tells from Into's chain whether the fold already happened:
// Into's parent is still the file to remove (not done), or is the new
// parent (done, a resumed run), or is something else (refused).
func foldDone(c *vhdx.Chain, s *Step) (bool, error) {
	if len(c.Layers) >= 2 && sameFile(c.Layers[1].Name, s.Remove) {
		return false, nil
	}
	if s.NewParent == "" && len(c.Layers) == 1 {
		return true, nil
	}
	if s.NewParent != "" && len(c.Layers) >= 2 && sameFile(c.Layers[1].Name, s.NewParent) {
		return true, nil
	}
	return false, fmt.Errorf("%w: %s's parent is neither %s nor %s; the files changed since the merge began", ErrRefused, s.Into, s.Remove, s.NewParent)
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
