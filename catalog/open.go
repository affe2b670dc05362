package catalog

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ckptfs/ckptfs/vhdx"
)

// Options tunes Open.
type Options struct {
	// IgnoreLinkage accepts a parent whose DataWriteGuid does not match the
	// child's linkage (a parent modified after the child was made). Off by
	// default: such a chain reads garbage.
	IgnoreLinkage bool
	// NoConfig ignores VM configuration files and builds the checkpoint
	// tree from the disk files alone.
	NoConfig bool
	// MaxDepth bounds a differencing chain (default 256).
	MaxDepth int
	// MaxFiles bounds the files scanned and opened (default 100000).
	MaxFiles int
	// IgnoreChecksums reads VHD files whose footer or dynamic header
	// fails its checksum (vhdx.DiskOptions); the fault is a warning.
	IgnoreChecksums bool
	// Source is where src is read from; nil means the one registered for
	// src's scheme (see RegisterScheme), else the local filesystem.
	Source Source
	// Members, when set, reads what a disk state (r, size bytes) holds
	// of groups of volumes over several disks (guest.GroupMembers: LVM
	// physical volumes): disk trees of a folder that no configuration
	// names and whose live states hold members of one group are put
	// together as one VM (see loose.go). Nil keeps one VM per tree.
	Members func(r io.ReaderAt, size int64) ([]Member, error)
}

func (o *Options) pickSource(src string) error {
	if o.Source != nil {
		return nil
	}
	s, err := sourceFor(src)
	o.Source = s
	return err
}

func (o *Options) defaults() {
	if o.MaxDepth <= 0 {
		o.MaxDepth = 256
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = 100000
	}

}

// Open reads src: one disk file (its parents are followed through their
// locators), a VM folder, or a folder holding many VMs (scanned
// recursively for .vhdx .avhdx .vhd .avhd .vmcx .xml, any case). Every disk
// file is opened once and read-only; Close releases them.
//
// The checkpoint tree comes from the VM configurations when there are
// some, else from the disk tree (see buildNoConfig). Disks that no
// configuration names fall back to the disk-tree rule.
func Open(src string, opt Options) (*Catalog, error) {
	opt.defaults()
	if err := opt.pickSource(src); err != nil {
		return nil, err
	}
	st, err := opt.Source.Stat(src)
	if err != nil {
		return nil, err
	}
	var disks, configs []string
	switch {
	case st.IsDir:
		disks, configs, err = scanFolder(opt.Source, src, opt.MaxFiles)
		if err != nil {
			return nil, err
		}
	case !st.Usable:
		return nil, fmt.Errorf("%s: %w (it is %s)", src, ErrNotFile, st.Kind)
	case !isDiskFile(src) && !looksLikeDisk(opt.Source, src):
		return nil, fmt.Errorf("%s: %w", src, ErrNotDisk)
	default:
		disks = []string{src}
	}
	if len(disks) == 0 {
		return nil, noDisksError(opt.Source, src, configs)
	}
	f := newForest(opt)
	f.folder = st.IsDir
	c, err := build(src, f, disks, configs, opt)
	if err != nil {
		return nil, errors.Join(err, f.closeAll())
	}
	return c, nil
}

func build(src string, f *forest, disks, configs []string, opt Options) (*Catalog, error) {
	for _, p := range disks {
		if _, err := f.add(p); err != nil {
			if err := f.tolerate(nil, p, err); err != nil {
				return nil, err
			}
		}
	}
	if len(f.files) == 0 && f.firstErr != nil {
		return nil, f.firstErr
	}
	if err := f.link(); err != nil {
		return nil, err
	}
	pending := f.applyJournals(src)
	c := &Catalog{Source: src, Folder: f.folder, files: f.files, Warnings: f.warnings, Pending: pending, src: opt.Source}
	var cfgs []*VMConfig
	if !opt.NoConfig {
		cfgs = c.readConfigs(configs)
	}
	b := &builder{f: f, cat: c, owner: map[*diskFile]*VM{}}
	if err := b.withConfig(cfgs); err != nil {
		return nil, err
	}
	if err := b.rest(); err != nil {
		return nil, err
	}
	return c, nil
}

// readConfigs reads every candidate configuration file. An .xml file that
// is not a Hyper-V configuration is skipped silently (folders hold other
// XML); a damaged .vmcx is a warning, never fatal: the disks can still be
// shown without it.
func (c *Catalog) readConfigs(paths []string) []*VMConfig {
	var out []*VMConfig
	for _, p := range paths {
		if abs, err := c.src.Abs(p); err == nil {
			p = abs
		}
		cfg, err := readVMConfig(c.src, p)
		if err != nil {
			if !strings.EqualFold(filepath.Ext(p), ".xml") {
				c.Warnings = append(c.Warnings, err.Error())
			}
			continue
		}
		out = append(out, cfg)
	}
	return out
}

// Close closes every disk file of the catalog. The chains of its
// checkpoints share layers: close the catalog, not the chains.
func (c *Catalog) Close() error {
	f := forest{files: c.files}
	c.files = nil
	return f.closeAll()
}

// OpenChain opens one disk file and its parents by the same rules as
// Open (see parent.go), for a caller that needs that chain alone (merge).
// Closing the returned closer closes every file of the chain. Pending
// merge journals are not applied: the chain is the one the files hold.
func OpenChain(name string, opt Options) (*vhdx.Chain, io.Closer, error) {
	opt.defaults()
	if err := opt.pickSource(name); err != nil {
		return nil, nil, err
	}
	f := newForest(opt)
	d, err := f.add(name)
	if err == nil {
		err = f.link()
	}
	var ch *vhdx.Chain
	if err == nil {
		ch, err = f.chainOf(d)
	}
	if err != nil {
		return nil, nil, errors.Join(err, f.closeAll())
	}
	return ch, closerFunc(f.closeAll), nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// noDisksError says what the folder does hold when it has no disk file:
// the VMs its configuration files name, and the disks they expect, so a
// user who copied only the configuration learns what to fetch.
func noDisksError(source Source, src string, configs []string) error {
	if len(configs) == 0 {
		return fmt.Errorf("%w in %s", ErrNoDisks, src)
	}
	var vms []string
	for _, c := range configs {
		cfg, err := readVMConfig(source, c)
		if err != nil || cfg.IsSnapshot {
			continue
		}
		desc := fmt.Sprintf("VM %q (%s)", cfg.Name, filepath.Base(c))
		var want []string
		for _, d := range cfg.Disks {
			want = append(want, d.Path)
		}
		if len(want) > 0 {
			desc += " expects " + strings.Join(want, ", ")
		}
		vms = append(vms, desc)
		if len(vms) == 5 {
			vms = append(vms, "...")
			break
		}
	}
	if len(vms) == 0 {
		return fmt.Errorf("%w in %s (it holds %d VM configuration files, none readable)", ErrNoDisks, src, len(configs))
	}
	return fmt.Errorf("%w in %s, only VM configuration: %s", ErrNoDisks, src, strings.Join(vms, "; "))
}
