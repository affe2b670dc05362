package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/guest"
)

type cpOptions struct {
	src     sourceOptions
	streams bool
	force   bool
}

func cpCommand() *command {
	o := &cpOptions{}
	return &command{
		name: "cp", args: "SRC CHECKPOINT VOL/PATH... DEST", short: "copy guest files and folders out, keeping their times",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			f.BoolVar(&o.streams, "xattrs", false, "copy extended attributes, and NTFS alternate data streams as user.<stream> ones")
			f.BoolVarP(&o.force, "force", "f", false, "overwrite existing files")
		},
		nargs: atLeast(4),
		run:   o.run,
	}
}

func (o *cpOptions) run(ctx context.Context, args []string) error {
	cat, cp, err := o.src.openCheckpoint(args[0], args[1])
	if err != nil {
		return err
	}
	defer cat.Close()
	srcs, dest := args[2:len(args)-1], args[len(args)-1]
	destIsDir := false
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		destIsDir = true
	}
	if len(srcs) > 1 && !destIsDir {
		return fmt.Errorf("%w: copying several paths needs an existing directory as DEST", errUsage)
	}
	for _, s := range srcs {
		fsys, p, err := resolveGuestPath(cp, s)
		if err != nil {
			return err
		}
		target := dest
		if destIsDir {
			target = filepath.Join(dest, path.Base(p))
			if p == "." {
				target = filepath.Join(dest, strings.Trim(s, "/"))
			}
		}
		c := copier{ctx: ctx, fsys: fsys, streams: o.streams, force: o.force}
		if err := c.copy(p, target); err != nil {
			return err
		}
	}
	return nil
}

// copier copies one guest tree out to the host.
type copier struct {
	ctx     context.Context
	fsys    fs.FS
	streams bool
	force   bool
}

func (c *copier) copy(p, target string) error {
	if c.ctx.Err() != nil {
		return errInterrupted
	}
	st, err := lstat(c.fsys, p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return c.symlink(p, target)
	case st.IsDir():
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
		entries, err := fs.ReadDir(c.fsys, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, e := range entries {
			if err := c.copy(path.Join(p, e.Name()), filepath.Join(target, e.Name())); err != nil {
				return err
			}
		}
	default:
		if err := c.file(p, target); err != nil {
			return err
		}
	}
	c.metadata(p, st, target)
	return nil
}

func (c *copier) file(p, target string) error {
	in, err := c.fsys.Open(p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	defer in.Close()
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if c.force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	out, err := os.OpenFile(target, flags, 0o644)
	if err != nil {
		return err
	}
	if err := copyCtx(c.ctx, out, in); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", p, err)
	}
	return out.Close()
}

func (c *copier) symlink(p, target string) error {
	rl, ok := c.fsys.(fs.ReadLinkFS)
	if !ok {
		return fmt.Errorf("%s: symlink on a filesystem that cannot read links", p)
	}
	dest, err := rl.ReadLink(p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if c.force {
		os.Remove(target)
	}
	if !guest.LinksArePOSIX(c.fsys) {
		dest = strings.ReplaceAll(dest, `\`, "/") // a Windows target; on ext a backslash is a name's
	}
	return os.Symlink(dest, target)
}

// keepPOSIX gives target the guest file's owner (when run as root) and
// permission bits; the owner first, since chown clears set-id bits.
func keepPOSIX(target string, m guest.FileMeta, link bool) error {
	if os.Geteuid() == 0 {
		if err := os.Lchown(target, int(m.UID), int(m.GID)); err != nil {
			return err
		}
	}
	if link {
		return nil // a link's own mode means nothing on Linux
	}
	mode := fs.FileMode(m.Perm & 0o777)
	for bit, fm := range map[uint32]fs.FileMode{0o4000: fs.ModeSetuid, 0o2000: fs.ModeSetgid, 0o1000: fs.ModeSticky} {
		if m.Perm&bit != 0 {
			mode |= fm
		}
	}
	return os.Chmod(target, mode)
}

// metadata sets times, owner and mode as the guest's filesystem keeps
// them and, when asked, streams and extended attributes as xattrs.
// Failures to set metadata are reported but do not stop the copy.
func (c *copier) metadata(p string, st fs.FileInfo, target string) {
	m := guest.MetaOf(st)
	link := st.Mode()&fs.ModeSymlink != 0
	mtime, atime := st.ModTime(), st.ModTime()
	if !m.Atime.IsZero() {
		atime = m.Atime
	}
	if !link {
		if err := os.Chtimes(target, atime, mtime); err != nil {
			fmt.Fprintf(os.Stderr, "ckptfs cp: %s: keeping times: %v\n", target, err)
		}
	}
	switch {
	case m.POSIX:
		if err := keepPOSIX(target, m, link); err != nil {
			fmt.Fprintf(os.Stderr, "ckptfs cp: %s: keeping owner and mode: %v\n", target, err)
		}
	case m.HasAttrs && !link:
		// A filesystem with Windows attributes (NTFS) gives 0444 for a
		// read-only file, as the mount shows it. (FAT and ISO keep no
		// bits: their read-only modes are not theirs to copy.)
		if err := os.Chmod(target, st.Mode().Perm()); err != nil {
			fmt.Fprintf(os.Stderr, "ckptfs cp: %s: keeping the mode: %v\n", target, err)
		}
	}
	if !c.streams {
		return
	}
	if guest.CanOpenStreams(c.fsys) {
		for _, s := range m.Streams {
			if err := copyStream(c.fsys, p, s, target); err != nil {
				fmt.Fprintf(os.Stderr, "ckptfs cp: %s: stream %s: %v\n", target, s, err)
			}
		}
	}
	if m.Xattrs {
		copyXattrs(st, target)
	}
}

// copyXattrs sets the guest file's own extended attributes on target.
func copyXattrs(st fs.FileInfo, target string) {
	xs, err := guest.ReadXattrs(st)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ckptfs cp: %s: reading extended attributes: %v\n", target, err)
		return
	}
	names := make([]string, 0, len(xs))
	for name := range xs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := setXattr(target, name, xs[name]); err != nil {
			fmt.Fprintf(os.Stderr, "ckptfs cp: %s: extended attribute %s: %v\n", target, name, err)
		}
	}
}

func copyStream(fsys fs.FS, p, stream, target string) error {
	f, err := guest.OpenStream(fsys, p, stream)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return err
	}
	if len(b) > 64<<10 {
		return fmt.Errorf("larger than the 64 KiB an extended attribute can hold")
	}
	return setXattr(target, "user."+stream, b)
}

func lstat(fsys fs.FS, p string) (fs.FileInfo, error) {
	if rl, ok := fsys.(fs.ReadLinkFS); ok {
		return rl.Lstat(p)
	}
	return fs.Stat(fsys, p)
}
