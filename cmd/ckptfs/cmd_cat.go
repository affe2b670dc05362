package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
)

type catOptions struct {
	src sourceOptions
}

func catCommand() *command {
	o := &catOptions{}
	return &command{
		name: "cat", args: "SRC CHECKPOINT VOL/PATH[:STREAM]", short: "write a guest file (or an NTFS stream, disks/<disk>.raw or volumes/<volume>.raw) to stdout",
		flags: func(f *pflag.FlagSet) { o.src.AddFlags(f); o.src.AddKeyFlags(f) },
		nargs: exactly(3),
		run:   o.run,
	}
}

func (o *catOptions) run(ctx context.Context, args []string) error {
	g, err := o.src.guestOptions()
	if err != nil {
		return err
	}
	cat, cp, err := o.src.openCheckpoint(args[0], args[1])
	if err != nil {
		return err
	}
	defer cat.Close()
	if disk, ok := strings.CutPrefix(strings.Trim(args[2], "/"), catalog.DisksDir+"/"); ok {
		names := catalog.NewCheckpointNamer()
		for _, d := range cp.Disks {
			if names.Disk(d.Name)+catalog.RawSuffix == disk && d.Chain != nil {
				return catChain(ctx, stdout, d.Chain)
			}
		}
		return fmt.Errorf("disk image %q: %w", disk, fs.ErrNotExist)
	}
	if vol, ok := strings.CutPrefix(strings.Trim(args[2], "/"), catalog.VolumesDir+"/"); ok {
		r, err := volumeBytes(cp, g, vol)
		if err != nil {
			return err
		}
		return copyCtx(ctx, stdout, r)
	}
	fsys, p, err := resolveGuestPath(cp, g, args[2])
	if err != nil {
		return err
	}
	f, err := openGuest(fsys, p)
	if err != nil {
		return fmt.Errorf("%s: %w", args[2], err)
	}
	defer f.Close()
	if err := copyCtx(ctx, stdout, f); err != nil {
		return fmt.Errorf("%s: %w", args[2], err)
	}
	return nil
}

// openGuest opens a file, or "file:stream" for a named stream on a
// filesystem that has them (NTFS).
func openGuest(fsys fs.FS, p string) (io.ReadCloser, error) {
	if guest.CanOpenStreams(fsys) {
		dir, base := path.Split(p)
		if name, stream, found := strings.Cut(base, ":"); found {
			return guest.OpenStream(fsys, path.Join(dir, name), stream)
		}
	}
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("is a directory (use ckptfs cp)")
	}
	return f, nil
}

// copyCtx copies in 1 MiB pieces, stopping when ctx is cancelled.
func copyCtx(ctx context.Context, w io.Writer, r io.Reader) error {
	buf := make([]byte, 1<<20)
	for {
		if ctx.Err() != nil {
			return errInterrupted
		}
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// catChain writes a disk chain's raw image to w, 1 MiB at a time. Where
// the chain lends its bytes (a remote object's memory blocks) they are
// written from there, not copied into a buffer first: a cat of a remote
// image touched every byte twice more than a download does.
func catChain(ctx context.Context, w io.Writer, c *vhdx.Chain) error {
	var buf []byte
	size := c.Size()
	for off := int64(0); off < size; {
		if ctx.Err() != nil {
			return errInterrupted
		}
		n := int(min(1<<20, size-off))
		views, release, ok, err := c.HeldViews(off, n)
		if err != nil {
			return err
		}
		if ok {
			err = writeViews(w, views)
			release()
		} else {
			if buf == nil {
				buf = make([]byte, 1<<20)
			}
			var m int
			m, err = c.ReadAt(buf[:n], off)
			if m == n {
				err = nil
			}
			if err == nil {
				_, err = w.Write(buf[:n])
			}
		}
		if err != nil {
			return err
		}
		off += int64(n)
	}
	return nil
}

// writeEach writes the slices to w one after the other.
func writeEach(w io.Writer, views [][]byte) error {
	for _, v := range views {
		if _, err := w.Write(v); err != nil {
			return err
		}
	}
	return nil
}
