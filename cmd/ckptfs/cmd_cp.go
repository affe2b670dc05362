package main

import (
	"context"
	"errors"
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
	"github.com/ckptfs/ckptfs/internal/names"
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
			o.src.AddKeyFlags(f)
			f.BoolVar(&o.streams, "xattrs", false, "copy extended attributes, and NTFS alternate data streams as user.<stream> ones")
			f.BoolVarP(&o.force, "force", "f", false, "overwrite existing files")
		},
		nargs: atLeast(4),
		run:   o.run,
	}
}

func (o *cpOptions) run(ctx context.Context, args []string) error {
	g, err := o.src.guestOptions()
	if err != nil {
		return err
	}
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
	c := copier{ctx: ctx, streams: o.streams, force: o.force, links: map[string]string{}}
	var done func()
	c.progress, done = newProgress("copying", false)
	if c.progress != nil {
		c.total = treeBytes(ctx, cp, g, srcs)
	}
	for _, s := range srcs {
		fsys, p, err := resolveGuestPath(cp, g, s)
		if err != nil {
			c.fail(s, err)
			continue
		}
		target := dest
		if destIsDir {
			target = filepath.Join(dest, hostName(path.Base(p)))
			if p == "." {
				target = filepath.Join(dest, hostName(strings.Trim(s, "/")))
			}
		}
		// Links stay inside the copy's top: the directory copied, or
		// the one holding the file or link copied.
		c.fsys, c.root = fsys, p
		c.vol, _, _ = strings.Cut(strings.Trim(s, "/"), "/")
		if st, err := lstat(fsys, p); err == nil && !st.IsDir() {
			c.root = path.Dir(p)
		}
		c.copy(p, target)
		if ctx.Err() != nil {
			break
		}
	}
	done()
	fmt.Fprintf(stderr, "ckptfs cp: copied %d, failed %d\n", c.copied, c.failed)
	if ctx.Err() != nil {
		return errInterrupted
	}
	if c.failed > 0 {
		return partialCopy{failed: c.failed, total: c.copied + c.failed, first: c.firstErr}
	}
	return nil
}

// partialCopy ends a cp run where something failed: its message is short
// (each failure was named already), its exit code the first failure's.
type partialCopy struct {
	failed, total int
	first         error
}

func (e partialCopy) Error() string {
	return fmt.Sprintf("%d of %d entries not copied, or copied without all their metadata (listed above)", e.failed, e.total)
}

func (e partialCopy) Unwrap() error { return e.first }

// copier copies guest trees out to the host. A failure never stops it:
// each is named on stderr, a partial output file is removed, and the run
// ends with a summary and the exit code of the first failure.
type copier struct {
	ctx     context.Context
	fsys    fs.FS
	streams bool
	force   bool
	// root is the volume path being copied: links are kept inside the
	// copy of it.
	root string
	// vol names the volume being copied; links maps a guest file (its
	// volume and identity) to the host path of its first copy, so hard
	// links come out as hard links within one cp run.
	vol   string
	links map[string]string

	copied, failed int
	firstErr       error

	// progress, when set, is told the bytes of the files copied so far
	// against total, the size of every file to copy (treeBytes).
	progress     func(done, total int64)
	bytes, total int64
}

// fail reports one entry that could not be copied (or only partly).
func (c *copier) fail(p string, err error) {
	c.failed++
	if c.firstErr == nil {
		c.firstErr = err
	}
	fmt.Fprintf(stderr, "ckptfs cp: %s: %s\n", escapeText(p), oneLine(err))
}

// hostName is the name a guest entry gets on the host: the mount's rule
// for names Linux cannot hold ("/", NUL, "." and "..", see internal/names).
func hostName(name string) string {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return names.Safe(name)
	}
	return name
}

func (c *copier) copy(p, target string) {
	if c.ctx.Err() != nil {
		return
	}
	st, err := lstat(c.fsys, p)
	if err != nil {
		c.fail(p, err)
		return
	}
	ok := true
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		err = c.symlink(p, target)
	case st.IsDir():
		if err := os.MkdirAll(target, 0o755); err != nil {
			c.fail(p, err)
			return
		}
		entries, err := fs.ReadDir(c.fsys, p)
		if err != nil {
			c.fail(p, err) // what was listed is still copied
			ok = false
		}
		for _, e := range entries {
			c.copy(path.Join(p, e.Name()), filepath.Join(target, hostName(e.Name())))
		}
		err = nil
	default:
		var linked bool
		if linked, err = c.hardlink(st, target); err == nil && linked {
			c.copied++
			return // the first name carries times, mode and xattrs
		}
		if err == nil {
			err = c.file(p, st, target)
		}
	}
	if err != nil {
		c.fail(p, err)
		return
	}
	if err := c.metadata(p, st, target); err != nil {
		c.fail(p, err)
		return
	}
	if ok {
		c.copied++
	}
}

// hardlink links target to an earlier copy of the same guest file, and
// remembers the first copy of a file with several names.
func (c *copier) hardlink(st fs.FileInfo, target string) (bool, error) {
	m := guest.MetaOf(st)
	if !m.HasID || m.Nlink < 2 {
		return false, nil
	}
	key := fmt.Sprintf("%s\x00%d", c.vol, m.ID)
	if first, ok := c.links[key]; ok {
		if c.force {
			os.Remove(target)
		}
		return true, os.Link(first, target)
	}
	c.links[key] = target
	return false, nil
}

func (c *copier) file(p string, st fs.FileInfo, target string) (err error) {
	in, err := c.fsys.Open(p)
	if err != nil {
		return err
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
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(target) // no partial file is left behind
		}
	}()
	if err := copySparse(c.ctx, out, in, st.Size()); err != nil {
		return err
	}
	if c.progress != nil {
		c.bytes += st.Size()
		c.progress(c.bytes, max(c.total, c.bytes))
	}
	return nil
}

// symlink makes the link as the mount shows it (guest.RewriteLink), then
// keeps it inside the copied tree: a target that would leave the copy
// dangles under its root, so no restored link reaches a host file.
func (c *copier) symlink(p, target string) error {
	rl, ok := c.fsys.(fs.ReadLinkFS)
	if !ok {
		return fmt.Errorf("symlink on a filesystem that cannot read links: %w", errors.ErrUnsupported)
	}
	raw, err := rl.ReadLink(p)
	if err != nil {
		return err
	}
	if c.force {
		os.Remove(target)
	}
	dest := confineLink(p, guest.RewriteLink(p, raw, !guest.LinksArePOSIX(c.fsys)), c.root, raw)
	return os.Symlink(dest, target)
}

// confineLink takes a target rewritten for the mount (relative, staying
// in the volume) and re-expresses it for a copy whose top is the volume
// directory root (the directory copied, or the directory holding the file
// or link copied): kept when it lands inside root, else pointed at
// <copy of root>/.ckptfs-unresolved/<raw target as one name>. Since the
// result climbs no higher than the copy of root, no restored link reaches
// a host file outside what was copied.
func confineLink(linkPath, rewritten, root, raw string) string {
	root = path.Clean(root)
	dir := path.Dir(linkPath)
	landed := path.Clean(path.Join(dir, rewritten))
	within := func(p string) bool {
		return root == "." && p != ".." && !strings.HasPrefix(p, "../") || p == root || strings.HasPrefix(p, root+"/")
	}
	rel := func(p string) []string { // p's components below root
		if p == root || p == "." {
			return nil
		}
		if root == "." {
			return splitSlash(p)
		}
		return splitSlash(p[len(root)+1:])
	}
	up := strings.Repeat("../", len(rel(dir)))
	if within(landed) && within(dir) {
		t := strings.TrimSuffix(up+strings.Join(rel(landed), "/"), "/")
		if t == "" {
			return "."
		}
		return t
	}
	return up + guest.UnresolvedDir + "/" + names.Safe(strings.ReplaceAll(raw, "/", `\`))
}

func splitSlash(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
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
// them and, when asked, streams and extended attributes as xattrs. The
// file stays when some of it cannot be set; what failed is returned.
func (c *copier) metadata(p string, st fs.FileInfo, target string) error {
	var errs []error
	m := guest.MetaOf(st)
	link := st.Mode()&fs.ModeSymlink != 0
	mtime, atime := st.ModTime(), st.ModTime()
	if !m.Atime.IsZero() {
		atime = m.Atime
	}
	if !link {
		if err := os.Chtimes(target, atime, mtime); err != nil {
			errs = append(errs, fmt.Errorf("keeping times: %w", err))
		}
	}
	switch {
	case m.POSIX:
		if err := keepPOSIX(target, m, link); err != nil {
			errs = append(errs, fmt.Errorf("keeping owner and mode: %w", err))
		}
	case m.HasAttrs && !link:
		// A filesystem with Windows attributes (NTFS) gives 0444 for a
		// read-only file, as the mount shows it. (FAT and ISO keep no
		// bits: their read-only modes are not theirs to copy.)
		if err := os.Chmod(target, st.Mode().Perm()); err != nil {
			errs = append(errs, fmt.Errorf("keeping the mode: %w", err))
		}
	}
	if c.streams {
		if guest.CanOpenStreams(c.fsys) {
			for _, s := range m.Streams {
				if err := copyStream(c.fsys, p, s, target); err != nil {
					errs = append(errs, fmt.Errorf("stream %s: %w", s, err))
				}
			}
		}
		if m.Xattrs {
			errs = append(errs, copyXattrs(st, target)...)
		}
	}
	return errors.Join(errs...)
}

// ntfsACLXattr is ntfs-3g's name for an NTFS file's security descriptor.
const ntfsACLXattr = "system.ntfs_acl"

// copyXattrs sets the guest file's own extended attributes on target.
func copyXattrs(st fs.FileInfo, target string) []error {
	xs, err := guest.ReadXattrs(st)
	if err != nil {
		return []error{fmt.Errorf("reading extended attributes: %w", err)}
	}
	names := make([]string, 0, len(xs))
	for name := range xs {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		if err := setXattr(target, name, xs[name]); err != nil {
			if name == ntfsACLXattr && errors.Is(err, errors.ErrUnsupported) {
				// Only an NTFS target (ntfs-3g) takes a Windows security
				// descriptor; user.ckptfs.owner still names the owner.
				continue
			}
			errs = append(errs, fmt.Errorf("extended attribute %s: %w", name, err))
		}
	}
	return errs
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
