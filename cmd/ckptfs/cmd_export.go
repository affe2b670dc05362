package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/export"
)

type exportOptions struct {
	src       sourceOptions
	out       string
	format    string
	blockSize string
	verify    bool
	force     bool
	base      string
	baseFile  string
	json      bool
}

func exportCommand() *command {
	o := &exportOptions{}
	return &command{
		name: "export", args: "SRC CHECKPOINT -o OUT [--format vhdx|raw] [--verify] [--base A]",
		short: "flatten a checkpoint to a standalone dynamic VHDX or a sparse raw file",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			f.StringVarP(&o.out, "output", "o", "", "file to write (required)")
			f.StringVar(&o.format, "format", "vhdx", "vhdx or raw")
			f.StringVar(&o.blockSize, "block-size", "", "VHDX block size, e.g. 32MiB (default 32 MiB; 2 MiB with --base)")
			f.BoolVar(&o.verify, "verify", false, "re-read the output and compare its SHA-256 with the checkpoint's")
			f.BoolVarP(&o.force, "force", "f", false, "replace OUT if it exists")
			f.StringVar(&o.base, "base", "", "incremental export: a differencing VHDX holding only what changed since checkpoint A")
			f.StringVar(&o.baseFile, "base-file", "", "with --base: the VHDX the output names as parent (default: A's own disk file)")
			f.BoolVar(&o.json, "json", false, "print a JSON summary")
		},
		nargs: exactly(2),
		run:   o.run,
	}
}

func (o *exportOptions) run(ctx context.Context, args []string) error {
	if o.out == "" {
		return fmt.Errorf("%w: -o OUT is required", errUsage)
	}
	opt := export.Options{Format: o.format, Force: o.force, Verify: o.verify}
	if o.blockSize != "" {
		n, err := humanize.ParseBytes(o.blockSize)
		if err != nil {
			return fmt.Errorf("%w: --block-size %q: %v", errUsage, o.blockSize, err)
		}
		opt.BlockSize = int64(n)
	}
	cat, cp, err := o.src.openCheckpoint(args[0], args[1])
	if err != nil {
		return err
	}
	defer cat.Close()
	if len(cp.Disks) != 1 {
		return fmt.Errorf("%w: checkpoint %q has %d disks; export takes one (a VM with several disks is exported disk by disk from its disk files)", errUsage, cp.Name, len(cp.Disks))
	}
	img := cp.Disks[0].Chain
	if o.base != "" {
		_, b, err := findCheckpoint(cat, o.base)
		if err != nil {
			return err
		}
		if len(b.Disks) != 1 {
			return fmt.Errorf("%w: base checkpoint %q has %d disks", errUsage, b.Name, len(b.Disks))
		}
		opt.Base, opt.BaseFile = b.Disks[0].Chain, o.baseFile
		if opt.BaseFile == "" {
			opt.BaseFile = b.Disks[0].File
		}
	}
	progress, done := newProgress("exporting", o.json)
	opt.Progress = progress
	res, err := export.Run(ctx, img, o.out, opt)
	done()
	if ctx.Err() != nil {
		return errInterrupted
	}
	if err != nil {
		switch {
		case errors.Is(err, export.ErrExists):
			return fmt.Errorf("%w (-f/--force replaces it)", err)
		case errors.Is(err, export.ErrOptions):
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	if o.json {
		return printJSON(res)
	}
	fmt.Fprintf(stdout, "%s: %s %s, %s of data, %s on disk", res.Path, humanize.IBytes(uint64(res.VirtualSize)), res.Format,
		humanize.IBytes(uint64(res.DataBytes)), humanize.IBytes(uint64(res.Allocated)))
	if res.Parent != "" {
		fmt.Fprintf(stdout, ", parent %s", res.Parent)
	}
	if res.Verified {
		fmt.Fprintf(stdout, ", verified (sha256 %s)", res.SHA256)
	}
	fmt.Fprintln(stdout)
	return nil
}
