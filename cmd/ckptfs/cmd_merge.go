package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/ckptfs/ckptfs/remote"
	"os"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/ckptfs/ckptfs/merge"
)

type mergeOptions struct {
	src     sourceOptions
	yes     bool
	dryRun  bool
	subtree bool
	json    bool
}

func mergeCommand() *command {
	o := &mergeOptions{}
	return &command{
		name: "merge", args: "SRC CHECKPOINT [--yes] [--dry-run] [--subtree]",
		short: "fold a checkpoint away, as Hyper-V's delete does (changes files in SRC)",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			f.BoolVarP(&o.yes, "yes", "y", false, "do it without asking")
			f.BoolVarP(&o.dryRun, "dry-run", "n", false, "print the plan and change nothing")
			f.BoolVar(&o.subtree, "subtree", false, "delete the checkpoint and every checkpoint under it (the live state keeps its content)")
			f.BoolVar(&o.json, "json", false, "print the plan (and the report) as JSON")
		},
		nargs: exactly(2),
		run:   o.run,
	}
}

func (o *mergeOptions) run(ctx context.Context, args []string) error {
	if o.src.ignoreChecksums {
		return fmt.Errorf("%w: merge writes to the disk files and will not act on files whose checksums are wrong (--ignore-checksums)", errRefused)
	}
	if remote.IsRemote(args[0]) {
		return fmt.Errorf("%w: merge rewrites disk files in place and %s is a remote source (%s); download the VM folder, merge it, and upload the result",
			errRefused, remote.Redact(args[0]), "objects cannot be changed by range")
	}
	cat, err := o.src.open(args[0])
	if err != nil {
		return err
	}
	defer cat.Close()
	if faults := cat.Faults(); len(faults) > 0 {
		// A disk left out of the tree could still depend on a file the
		// merge would change; without the whole picture, change nothing.
		return fmt.Errorf("%w: %s has problems a merge must not work around: %s",
			errRefused, args[0], strings.Join(faults, "; "))
	}
	newPlan := merge.New
	if o.subtree {
		newPlan = merge.NewSubtree
	}
	plan, err := newPlan(cat, args[1])
	if err != nil {
		return mergeError(err)
	}
	text, desc := plan.Describe()
	switch {
	case o.json && (o.dryRun || !o.yes):
		if err := printJSON(desc); err != nil {
			return err
		}
	case o.json:
		// --yes --json: stdout holds one JSON object, the report with
		// its plan, at the end (the text plan would break it).
	default:
		fmt.Fprint(stdout, text)
		if !strings.HasSuffix(text, "\n") {
			fmt.Fprintln(stdout)
		}
	}
	if o.dryRun {
		return nil
	}
	if !o.yes {
		ok, err := confirm(fmt.Sprintf("Merge away %q, copying %s? [y/N] ", args[1], humanize.IBytes(uint64(desc.CopyBytes))))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: not confirmed (use --yes in scripts)", errRefused)
		}
	}
	progress, done := newProgress("merging", o.json)
	rep, err := plan.Execute(ctx, progress)
	done()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: every checkpoint still reads as before; run the same merge again to finish", errInterrupted)
		}
		return mergeError(err)
	}
	if o.json {
		// one object: the report, and the plan it carried out
		return printJSON(struct {
			*merge.Report
			Plan merge.Description `json:"plan"`
		}{rep, desc})
	}
	fmt.Fprintf(stdout, "done: %s copied\n", humanize.IBytes(uint64(rep.Copied)))
	for _, f := range rep.Changed {
		fmt.Fprintf(stdout, "  changed %s\n", f)
	}
	for _, f := range rep.Removed {
		fmt.Fprintf(stdout, "  removed %s\n", f)
	}
	for _, n := range desc.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	return nil
}

func mergeError(err error) error {
	if errors.Is(err, merge.ErrRefused) || errors.Is(err, merge.ErrLocked) {
		return fmt.Errorf("%w: %v", errRefused, err)
	}
	return err
}

// confirm asks on the terminal; without one it refuses rather than guess.
func confirm(question string) (bool, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return false, fmt.Errorf("%w: no terminal to confirm on; pass --yes", errRefused)
	}
	fmt.Fprint(os.Stderr, question)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
