package catalog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	st, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	var disks, configs []string
	if st.IsDir() {
		disks, configs, err = scanFolder(src, opt.MaxFiles)
		if err != nil {
			return nil, err
		}
	} else {
		if !isDiskFile(src) {
			return nil, fmt.Errorf("%s: %w", src, ErrNotDisk)
		}
		disks = []string{src}
	}
	if len(disks) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoDisks, src)
	}
	f := newForest(opt)
	f.folder = st.IsDir()
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
	c := &Catalog{Source: src, files: f.files, Warnings: f.warnings}
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
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		cfg, err := ReadVMConfig(p)
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
