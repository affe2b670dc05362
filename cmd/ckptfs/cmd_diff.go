package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/diff"
	"github.com/ckptfs/ckptfs/guest"
)

type diffOptions struct {
	src      sourceOptions
	json     bool
	ranges   bool
	files    bool
	thorough bool
	exitCode bool
}

func diffCommand() *command {
	o := &diffOptions{}
	return &command{
		name: "diff", args: "SRC A[:VOL] B[:VOL] [--json] [--ranges] [--files] [--thorough] [--exit-code]", short: "changed disk ranges and guest files between two checkpoints",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			o.src.AddKeyFlags(f)
			f.BoolVar(&o.json, "json", false, "print one JSON object")
			f.BoolVar(&o.ranges, "ranges", false, "only the changed disk ranges")
			f.BoolVar(&o.files, "files", false, "only the changed guest files")
			f.BoolVar(&o.exitCode, "exit-code", false, "exit 9 when the checkpoints differ, 0 when they are the same (as git diff --exit-code, with its own code)")
			f.BoolVar(&o.thorough, "thorough", false, "NTFS, ext, XFS: also report files whose clusters were written below the file system, their MFT record or inode untouched (reads every MFT record or inode)")
		},
		nargs: exactly(3),
		run:   o.run,
	}
}

func (o *diffOptions) run(ctx context.Context, args []string) error {
	g, err := o.src.guestOptions()
	if err != nil {
		return err
	}
	cat, err := o.src.open(args[0])
	if err != nil {
		return err
	}
	defer cat.Close()
	vmA, a, volA, err := diffSide(cat, args[1])
	if err != nil {
		return err
	}
	vmB, b, volB, err := diffSide(cat, args[2])
	if err != nil {
		return err
	}
	if vmA != vmB {
		return fmt.Errorf("%w: %q and %q belong to different VMs (%s, %s)", errUsage, args[1], args[2], vmA.Name, vmB.Name)
	}
	if (volA == "") != (volB == "") {
		return fmt.Errorf("%w: %q and %q: name a volume on both sides (CHECKPOINT:VOL) or on neither", errUsage, args[1], args[2])
	}
	if volA != "" && a != b {
		return fmt.Errorf("%w: %q and %q: two volumes compare within one checkpoint (a shadow copy with its volume or another copy)", errUsage, args[1], args[2])
	}
	progress, done := newProgress("comparing", o.json)
	opt := diff.Options{Ranges: o.ranges, Files: o.files, Thorough: o.thorough, Progress: progress, Guest: g}
	var res *diff.Result
	if volA != "" {
		res, err = compareVolumes(ctx, g, a, volA, args[1], b, volB, args[2], opt)
	} else {
		res, err = diff.Compare(ctx, a, b, opt)
	}
	done()
	if ctx.Err() != nil {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	if o.json {
		err = printJSON(res)
	} else {
		err = diff.WriteText(stdout, res)
	}
	if err == nil && o.exitCode && !res.Empty() {
		return errDiffers
	}
	return err
}

// diffSide resolves one side of diff: a checkpoint, or CHECKPOINT:VOL for
// one volume of it, VOL being a live volume ("Disk0-p2") or a shadow copy
// ("shadows/Disk0-p2@2021-03-13T22.13.17") as the mount names them. A
// checkpoint whose name has a colon is still found by its whole name.
func diffSide(cat *catalog.Catalog, arg string) (*catalog.VM, *catalog.Checkpoint, string, error) {
	vm, cp, err := findCheckpoint(cat, arg)
	if err == nil {
		return vm, cp, "", nil
	}
	i := strings.LastIndex(arg, ":")
	if i < 0 {
		return nil, nil, "", err
	}
	vm, cp, err2 := findCheckpoint(cat, arg[:i])
	if err2 != nil {
		return nil, nil, "", err
	}
	return vm, cp, strings.Trim(arg[i+1:], "/"), nil
}

// compareVolumes diffs two states of one volume (see diff.CompareVolumes).
// Both are volumes of checkpoint a.
func compareVolumes(ctx context.Context, g *guest.Options, a *catalog.Checkpoint, volA, nameA string, b *catalog.Checkpoint, volB, nameB string, opt diff.Options) (*diff.Result, error) {
	vols, err := checkpointVolumes(a, g)
	if err != nil {
		return nil, err
	}
	va, err := pickVolume(a, vols, volA)
	if err != nil {
		return nil, err
	}
	vb, err := pickVolume(b, vols, volB)
	if err != nil {
		return nil, err
	}
	return diff.CompareVolumes(ctx, nameA, va, nameB, vb, opt)
}
