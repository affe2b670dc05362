package merge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/vhdx"
)

// The other direction: deleting checkpoint X whose disk has the only
// child C, C's own sectors are copied into X, X takes C's identity and
// X's file replaces C's. When X is a big base and C a small child (the
// first checkpoint deleted), this writes C's few sectors instead of
// nearly all of X's. Every step keeps C (and C's children) reading as
// before, and the journal says how far the work got:
//
//  1. journal written (direction absorb, C's identity);
//  2. C's sectors overwrite X's in place (C holds them, so C's view
//     does not change; X's own content is what is being deleted) and
//     X's metadata takes them through X's log; X takes C's disk id;
//     journal state "copied";
//  3. C's locator gets parent_linkage2 = C's own DataWriteGuid, through
//     C's log: C then accepts X under either identity;
//  4. X's headers take C's DataWriteGuid (C's children now accept X);
//  5. X is renamed over C and the folder synced: the switch;
//  6. the journal goes.
//
// A rerun tells steps 4 and 5 from the files (X's DataWriteGuid, X gone)
// and the copy from the journal's state; every step is idempotent.

// chooseDirection sets st.Absorb when folding the child into the
// checkpoint's disk is safe and writes less than the usual direction.
func chooseDirection(tree *files, st *Step, c *vhdx.Chain) error {
	if why := absorbUnsafe(tree, st.Remove, st.Into); why != "" {
		st.Why = "the other way is not safe: " + why
		return nil
	}
	a, err := absorbBytes(c, tree.disk[st.Remove].BlockSize)
	if err != nil {
		return err
	}
	st.AbsorbBytes = a
	if a >= st.FoldBytes {
		st.Why = fmt.Sprintf("the other way would write %d bytes", a)
		return nil
	}
	into := tree.disk[st.Into]
	st.Absorb, st.CopyBytes = true, a
	st.Why = fmt.Sprintf("the usual way would write %d bytes", st.FoldBytes)
	st.journal = &journal{Disk: st.Disk, Remove: st.Remove, Into: st.Into, NewParent: st.NewParent,
		Direction: dirAbsorb, IntoID: into.DataWriteGUID.String(), IntoDisk: into.DiskID.String()}
	return nil
}

// absorbUnsafe says why X (remove) cannot take C's (into) place, or "".
// The caller has checked that X has no other child and no other user.
func absorbUnsafe(tree *files, remove, into string) string {
	x, c := tree.disk[remove], tree.disk[into]
	switch {
	case x == nil || c == nil:
		return "a disk was not opened"
	case filepath.Dir(remove) != filepath.Dir(into):
		return "the two files are in different folders (the final rename must not move a file, whose parent path is relative)"
	case x.VirtualSize != c.VirtualSize || x.LogicalSectorSize != c.LogicalSectorSize:
		return "the two disks differ in size or sector size"
	case hardLinks(remove) != 1 || hardLinks(into) != 1:
		return "a file has other hard links, which would see the change"
	}
	if err := vhdx.UpdateSupported(x); err != nil {
		return err.Error()
	}
	return ""
}

// absorbOp is one write into X: the chain's bytes (data), zeros, or a
// whole block of X turned into a ZERO block (no bytes written).
type absorbOp struct {
	off, n          int64
	data, zeroBlock bool
}

// absorbOps lists what X's block blk (of size bs) takes from the chain
// c = [C, X, ...]: every range C owns, data or zeros.
func absorbOps(c *vhdx.Chain, bs, blk int64) ([]absorbOp, error) {
	off := blk * bs
	ext, err := c.Extents(off, min(bs, c.Size()-off))
	if err != nil {
		return nil, err
	}
	if len(ext) == 1 && ext[0].Layer == 0 && ext[0].Kind == vhdx.ExtentZero {
		return []absorbOp{{off: ext[0].Off, n: ext[0].Len, zeroBlock: true}}, nil
	}
	var ops []absorbOp
	for _, e := range ext {
		if e.Layer == 0 {
			ops = append(ops, absorbOp{off: e.Off, n: e.Len, data: e.Kind == vhdx.ExtentData})
		}
	}
	return ops, nil
}

// absorbBytes sums what folding the top of c into its parent writes.
func absorbBytes(c *vhdx.Chain, bs int64) (int64, error) {
	var total int64
	for blk := int64(0); blk*bs < c.Size(); blk++ {
		ops, err := absorbOps(c, bs, blk)
		if err != nil {
			return 0, err
		}
		for _, o := range ops {
			if !o.zeroBlock {
				total += o.n
			}
		}
	}
	return total, nil
}

// absorb carries out an Absorb step up to the rename (runStep removes
// the journal).
func (p *Plan) absorb(ctx context.Context, s *Step, st *steps, tick func(int64)) error {
	j := s.journal
	if j == nil {
		return fmt.Errorf("%w: no journal for the fold of %s into %s", ErrRefused, s.Into, s.Remove)
	}
	if _, err := os.Stat(journalPath(s.Remove)); errors.Is(err, os.ErrNotExist) {
		if err := writeJournal(j); err != nil {
			return err
		}
		st.tick("journal")
	}
	id, err := vhdx.ParseGUID(j.IntoID)
	if err != nil {
		return err
	}
	if _, err := os.Stat(s.Remove); errors.Is(err, os.ErrNotExist) {
		return absorbDone(s, id)
	}
	took, err := hasIdentity(s.Remove, id)
	if err != nil || took {
		if err == nil {
			err = replace(s, st)
		}
		return err
	}
	if j.State != stateCopied {
		if err := p.absorbCopy(ctx, s, st, tick); err != nil {
			return err
		}
		j.State = stateCopied
		if err := writeJournal(j); err != nil {
			return err
		}
		st.tick("copied")
	}
	if err := updateFile(s.Into, st, func(u *vhdx.Update) error {
		if err := u.SetLinkage2(id); err != nil {
			return err
		}
		return u.Commit()
	}); err != nil {
		return err
	}
	if err := updateFile(s.Remove, st, func(u *vhdx.Update) error { return u.SetDataWriteGUID(id) }); err != nil {
		return err
	}
	return replace(s, st)
}

// absorbCopy copies C's sectors into X and gives X C's disk id.
func (p *Plan) absorbCopy(ctx context.Context, s *Step, st *steps, tick func(int64)) error {
	c, files, err := catalog.OpenChain(s.Into, catalog.Options{})
	if err != nil {
		return err
	}
	defer files.Close()
	if len(c.Layers) < 2 || !sameFile(c.Layers[1].Name, s.Remove) {
		return fmt.Errorf("%w: %s's parent is no longer %s; the files changed since the merge began", ErrRefused, s.Into, s.Remove)
	}
	diskID, err := vhdx.ParseGUID(s.journal.IntoDisk)
	if err != nil {
		return err
	}
	return updateFile(s.Remove, st, func(u *vhdx.Update) error {
		batch := u.MaxPending() - 8 // room for the metadata region's pages
		if p.BatchPages > 0 {
			batch = min(batch, p.BatchPages)
		}
		buf := make([]byte, readChunk)
		bs := u.BlockSize()
		for blk := int64(0); blk*bs < c.Size(); blk++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			ops, err := absorbOps(c, bs, blk)
			if err != nil {
				return err
			}
			for _, o := range ops {
				if err := absorbWrite(c, u, o, buf, tick); err != nil {
					return err
				}
			}
			if u.Pending() >= batch {
				if err := u.Commit(); err != nil {
					return err
				}
			}
		}
		if err := u.SetDiskID(diskID); err != nil {
			return err
		}
		return u.Commit()
	})
}

func absorbWrite(c *vhdx.Chain, u *vhdx.Update, o absorbOp, buf []byte, tick func(int64)) error {
	if o.zeroBlock {
		return u.ZeroBlocks(o.off, o.n)
	}
	for pos := o.off; pos < o.off+o.n; {
		p := buf[:min(int64(len(buf)), o.off+o.n-pos)]
		if o.data {
			if _, err := c.ReadAt(p, pos); err != nil {
				return fmt.Errorf("reading %s at %d: %w", c.Layers[0].Name, pos, err)
			}
		} else {
			clear(p)
		}
		if err := u.Overwrite(p, pos); err != nil {
			return err
		}
		tick(int64(len(p)))
		pos += int64(len(p))
	}
	return nil
}

// updateFile runs fn on an Update of name whose durable steps count.
func updateFile(name string, st *steps, fn func(*vhdx.Update) error) error {
	u, err := vhdx.OpenUpdate(name)
	if err != nil {
		return err
	}
	u.OnDurable = st.tick
	if err := fn(u); err != nil {
		u.Close()
		return err
	}
	return u.Close()
}

func hasIdentity(name string, id vhdx.GUID) (bool, error) {
	d, err := vhdx.OpenDisk(name)
	if err != nil {
		return false, err
	}
	defer d.Close()
	return d.DataWriteGUID == id, nil
}

// replace renames X over C, keeping C's permissions, and makes it durable.
func replace(s *Step, st *steps) error {
	if fi, err := os.Stat(s.Into); err == nil {
		if err := os.Chmod(s.Remove, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	if err := os.Rename(s.Remove, s.Into); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(s.Into)); err != nil {
		return err
	}
	return st.tick("renamed")
}

// absorbDone checks, X being gone, that C's file is X's with C's identity.
func absorbDone(s *Step, id vhdx.GUID) error {
	ok, err := hasIdentity(s.Into, id)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s is gone but %s does not have the identity the merge gave it; inspect the files by hand", ErrRefused, s.Remove, s.Into)
	}
	return nil
}
