package diff

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/ckptfs/ckptfs/guest"
)

// CompareVolumes computes the difference from volume a to volume b, two
// states of one volume where at least one is a Volume Shadow Copy: a copy
// and its live volume, or two copies of the same volume. Only the blocks
// the copies' stores hold (or blank) can differ, so the cost follows the
// stores' size, not the volume's. fromName and toName are what the
// Result calls the two states.
//
// Ranges are in volume offsets; their Disk is the live volume's name and
// their Layer the shadow copy (the newer side's when both are) whose
// store holds the range. File paths are "VOL/path", VOL the live
// volume's name.
func CompareVolumes(ctx context.Context, fromName string, a *guest.Volume, toName string, b *guest.Volume, opt Options) (*Result, error) {
	if !opt.Ranges && !opt.Files {
		opt.Ranges, opt.Files = true, true
	}
	live, err := sameVolume(a, b)
	if err != nil {
		return nil, err
	}
	res := &Result{From: fromName, To: toName}
	cands := append(storeSpans(a), storeSpans(b)...)
	cands = normalize(cands)
	differ, err := confirmVolumes(ctx, a, b, cands, opt.Progress)
	if err != nil {
		return nil, err
	}
	if opt.Ranges {
		layer := b.Name
		if !b.IsShadow() {
			layer = a.Name
		}
		res.Ranges = []Range{}
		for _, s := range differ {
			res.Ranges = append(res.Ranges, Range{Disk: live, Offset: s.off, Length: s.end - s.off, Layer: layer})
		}
	}
	if opt.Files {
		res.Files = []FileChange{}
		if err := volumeFiles(ctx, live, a, b, differ, opt.Thorough, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// sameVolume checks a and b are states of one volume, at least one a
// shadow copy, and returns the live volume's name.
func sameVolume(a, b *guest.Volume) (string, error) {
	if a == nil || b == nil || a.Reader == nil || b.Reader == nil {
		return "", fmt.Errorf("%w: a volume that cannot be read", ErrInput)
	}
	of := func(v *guest.Volume) string {
		if v.IsShadow() {
			return v.ShadowOf
		}
		return v.Name
	}
	if !a.IsShadow() && !b.IsShadow() {
		return "", fmt.Errorf("%w: %s and %s: compare a shadow copy with its volume or another copy of it (two checkpoints compare whole)", ErrInput, a.Name, b.Name)
	}
	if of(a) != of(b) {
		return "", fmt.Errorf("%w: %s and %s are not states of the same volume", ErrInput, a.Name, b.Name)
	}
	return of(a), nil
}

// storeSpans lists the parts of a shadow copy that are not the live
// volume's bytes (nothing for a live volume).
func storeSpans(v *guest.Volume) []span {
	exts, _ := v.ShadowExtents(0, v.Size)
	var out []span
	for _, e := range exts {
		if e.Source != guest.ShadowLive {
			out = append(out, span{e.Off, e.Off + e.Len})
		}
	}
	return out
}

// confirmVolumes reads both volumes over the candidate spans and keeps the
// 512-byte sectors that differ. Bytes past a volume's end read as zeros.
func confirmVolumes(ctx context.Context, a, b *guest.Volume, cands []span, progress func(done, total int64)) ([]span, error) {
	all := total(cands)
	var done int64
	bufA, bufB := make([]byte, chunkSize), make([]byte, chunkSize)
	var out []span
	for _, c := range cands {
		for off := c.off; off < c.end; {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n := min(c.end-off, chunkSize)
			pa, pb := bufA[:n], bufB[:n]
			if err := readVolume(a, pa, off); err != nil {
				return nil, err
			}
			if err := readVolume(b, pb, off); err != nil {
				return nil, err
			}
			if !bytes.Equal(pa, pb) {
				out = differingSectors(out, pa, pb, off, 512)
			}
			off += n
			done += n
			if progress != nil {
				progress(done, all)
			}
		}
	}
	return normalize(out), nil
}

func readVolume(v *guest.Volume, p []byte, off int64) error {
	clear(p)
	if off >= v.Size {
		return nil
	}
	q := p[:min(int64(len(p)), v.Size-off)]
	if _, err := v.Reader.ReadAt(q, off); err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", v.Name, err)
	}
	return nil
}

// volumeFiles compares the files of the two states: by the records or
// inodes that lie in the differing spans (NTFS, ext, XFS), by a walk
// otherwise.
func volumeFiles(ctx context.Context, live string, a, b *guest.Volume, differ []span, thorough bool, res *Result) error {
	if a.FS == nil || b.FS == nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%s: files not compared: %v", live, volumeErr(a, b)))
		return nil
	}
	changes, notes, done := indexedDiff(ctx, live, fsTypes(a, b), a.FS, b.FS, differ, thorough)
	if done {
		res.Files = append(res.Files, changes...)
		res.Notes = append(res.Notes, notes...)
		return nil
	}
	_, records := a.FS.(guest.RecordFS)
	_, inodes := a.FS.(guest.InodeFS)
	if records || inodes {
		// Why the walk; other filesystems are walked unremarked here.
		res.Notes = append(res.Notes, notes...)
	}
	changes, notes, err := walkDiff(ctx, live, a.FS, b.FS)
	if err != nil {
		return err
	}
	res.Files = append(res.Files, changes...)
	res.Notes = append(res.Notes, notes...)
	return nil
}
