package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/diff"
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
		name: "diff", args: "SRC A B [--json] [--ranges] [--files] [--thorough] [--exit-code]", short: "changed disk ranges and guest files between two checkpoints",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			o.src.AddKeyFlags(f)
			f.BoolVar(&o.json, "json", false, "print one JSON object")
			f.BoolVar(&o.ranges, "ranges", false, "only the changed disk ranges")
			f.BoolVar(&o.files, "files", false, "only the changed guest files")
			f.BoolVar(&o.exitCode, "exit-code", false, "exit 9 when the checkpoints differ, 0 when they are the same (as git diff --exit-code, with its own code)")
			f.BoolVar(&o.thorough, "thorough", false, "NTFS: also report files whose clusters were written below the file system, their MFT record untouched (reads every MFT record)")
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
	vmA, a, err := findCheckpoint(cat, args[1])
	if err != nil {
		return err
	}
	vmB, b, err := findCheckpoint(cat, args[2])
	if err != nil {
		return err
	}
	if vmA != vmB {
		return fmt.Errorf("%w: %q and %q belong to different VMs (%s, %s)", errUsage, args[1], args[2], vmA.Name, vmB.Name)
	}
	progress, done := newProgress("comparing", o.json)
	res, err := diff.Compare(ctx, a, b, diff.Options{Ranges: o.ranges, Files: o.files, Thorough: o.thorough, Progress: progress, Guest: g})
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
