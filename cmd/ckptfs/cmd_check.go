package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/vhdx"
)

type checkOptions struct {
	src  sourceOptions
	json bool
}

func checkCommand() *command {
	o := &checkOptions{}
	return &command{
		name: "check", args: "SRC|DISK [--json]", short: "verify checksums, BATs, bitmaps, logs, links and guest volumes; exit 0 only when clean",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			o.src.AddKeyFlags(f)
			f.BoolVar(&o.json, "json", false, "print one JSON object")
		},
		nargs: exactly(1),
		run:   o.run,
	}
}

// errProblems makes check exit with exitProblems after listing them.
type errProblems int

func (e errProblems) Error() string { return plural(int(e), "problem") + " found" }

func (o *checkOptions) run(ctx context.Context, args []string) error {
	g, err := o.src.guestOptions()
	if err != nil {
		return err
	}
	ls, err := openLayers(args[0], o.src)
	if err != nil {
		return err
	}
	defer ls.close()
	problems := []vhdx.Problem{}
	for _, w := range ls.warnings {
		problems = append(problems, vhdx.Problem{File: args[0], Off: -1, What: w})
	}
	for _, d := range ls.disks {
		if err := ctx.Err(); err != nil {
			return errInterrupted
		}
		problems = append(problems, d.Check()...)
		if p := ls.parent[d]; p != nil {
			if err := vhdx.CheckLinkage(d, p); err != nil {
				problems = append(problems, vhdx.Problem{File: d.Name, Off: -1, What: err.Error()})
			}
		}
	}
	problems = append(problems, checkCopies(ctx, ls.views)...)
	vols, err := checkVolumes(ctx, ls.views, g)
	if err != nil {
		return err
	}
	var files, dedup int64
	for _, v := range vols {
		files += v.Files
		dedup += v.Deduplicated
		for _, p := range v.Problems {
			problems = append(problems, vhdx.Problem{File: v.where(), Off: -1, What: p})
		}
	}
	if o.json {
		if err := printJSON(map[string]any{"clean": len(problems) == 0, "disks": len(ls.disks), "problems": problems, "volumes": vols}); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(stdout, escapeText(p.String()))
		}
		// A replayed journal is no fault, but the files differ from the
		// disk's written-back state: say so (a log left unreplayed is a
		// problem, printed above).
		for _, v := range vols {
			if guest.JournalReplayed(v.Journal) {
				fmt.Fprintf(stdout, "%s: log %s in memory\n", escapeText(v.where()), v.Journal)
			}
		}
		if dedup > 0 {
			fmt.Fprintf(stdout, "%d deduplicated files: their content is in the volume's chunk store and cannot be read\n", dedup)
		}
		if len(problems) == 0 {
			fmt.Fprintf(stdout, "%s and %s (%s) checked: clean\n", plural(len(ls.disks), "disk file"),
				plural(len(vols), "guest volume"), plural(int(files), "entry"))
		}
	}
	if len(problems) > 0 {
		return errProblems(len(problems))
	}
	return nil
}

// checkCopies lists, per disk as each checkpoint sees it, the redundant
// copies of its partition table, LVM metadata and LDM headers that are
// damaged or disagree with the copy read (guest.CheckCopies): reading
// uses the good copy, so nothing else would tell.
func checkCopies(ctx context.Context, views []diskView) []vhdx.Problem {
	var out []vhdx.Problem
	for _, dv := range views {
		if ctx.Err() != nil {
			return out
		}
		for _, p := range guest.CheckCopies(dv.img, dv.img.Size()) {
			out = append(out, vhdx.Problem{File: dv.where(), Off: p.Off, What: p.What})
		}
	}
	return out
}
