// Command ckptfs opens Hyper-V virtual disks and their checkpoints on Linux:
// list them, inspect and verify the disk files, mount every checkpoint
// read-only, copy guest files out, diff checkpoints, export and merge.
package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/ckptfs/ckptfs/remote"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
)

// command is one subcommand: its flags, its arguments, and what it does.
type command struct {
	name  string
	args  string // argument synopsis
	short string
	// flags registers the command's options; run executes with the
	// positional arguments.
	flags func(*pflag.FlagSet)
	run   func(ctx context.Context, args []string) error
	nargs func(n int) bool
}

var errInterrupted = errors.New("interrupted")

func commands() []*command {
	return []*command{lsCommand(), infoCommand(), checkCommand(), mountCommand(), catCommand(), cpCommand(),
		diffCommand(), exportCommand(), mergeCommand(), serveCommand()}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ckptfs COMMAND [OPTIONS] ARGS")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s %s\n      %s\n", c.name, c.args, c.short)
	}
	fmt.Fprintln(w, "\nSRC is a disk file (.vhdx .avhdx .vhd .avhd), a VM folder, or a folder of VMs;")
	fmt.Fprintln(w, "in object storage, s3://BUCKET/PREFIX, azblob://ACCOUNT/CONTAINER/PREFIX, an Azure")
	fmt.Fprintln(w, "container or blob URL with a SAS, or any https:// URL of one disk file.")
	fmt.Fprintln(w, "Run 'ckptfs COMMAND --help' for a command's options.")
}

func main() {
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	remote.FlushTrace()
	if os.Getenv("CKPTFS_REMOTE_STATS") != "" {
		// What a remote source cost (make bench prints it): requests per
		// object, never a credential.
		remote.WriteStats(os.Stderr)
	}
	os.Exit(code)
}

// stdout is where commands write their results, stderr where they
// report what they skipped or could not do; run sets both.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

func run(argv []string, out, errw io.Writer) int {
	stdout, stderr = out, errw
	if len(argv) == 0 || argv[0] == "-h" || argv[0] == "--help" || argv[0] == "help" {
		usage(out)
		if len(argv) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if argv[0] == "--version" || argv[0] == "version" {
		printVersion(out)
		return exitOK
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == argv[0] {
			cmd = c
		}
	}
	if cmd == nil {
		if src, mnt, opts, ok := mountHelperArgs(argv); ok {
			return runMountHelper(src, mnt, opts, errw)
		}
		fmt.Fprintf(errw, "ckptfs: unknown command %s (ckptfs --help lists the commands)\n", quoteName(argv[0]))
		return exitUsage
	}
	fset := pflag.NewFlagSet("ckptfs "+cmd.name, pflag.ContinueOnError)
	fset.SetOutput(errw)
	fset.SetInterspersed(true)
	fset.Usage = func() {
		fmt.Fprintf(errw, "usage: ckptfs %s %s\n  %s\n\nOptions:\n%s", cmd.name, cmd.args, cmd.short, fset.FlagUsages())
	}
	if cmd.flags != nil {
		cmd.flags(fset)
	}
	if err := fset.Parse(argv[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(errw, "ckptfs %s: %v\nusage: ckptfs %s %s (ckptfs %s --help lists the options)\n",
			cmd.name, err, cmd.name, cmd.args, cmd.name)
		return exitUsage
	}
	if !cmd.nargs(fset.NArg()) {
		fmt.Fprintf(errw, "ckptfs %s: %s\nusage: ckptfs %s %s (ckptfs %s --help lists the options)\n",
			cmd.name, argsProblem(cmd.args, fset.Args()), cmd.name, cmd.args, cmd.name)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks the command to finish cleanly (a mount to
	// unmount, a merge to stop between durable steps); once it is
	// received the default action comes back, so a second one stops
	// whatever does not heed the first.
	context.AfterFunc(ctx, stop)
	defer startProfile()()
	err := cmd.run(ctx, fset.Args())
	if err != nil && !errors.Is(err, errDiffers) {
		fmt.Fprintf(errw, "ckptfs %s: %s\n", cmd.name, oneLine(err))
	}
	return exitCode(err)
}

// oneLine keeps an error message on one line, as scripts read stderr by
// line, and reads as one sentence to a user (see tidyMessage); any other
// control character (a guest file name quoted in the message) is escaped.
func oneLine(err error) string {
	return escapeText(tidyMessage(strings.ReplaceAll(err.Error(), "\n", "; ")))
}

func exactly(n int) func(int) bool { return func(k int) bool { return k == n } }
func atLeast(n int) func(int) bool { return func(k int) bool { return k >= n } }
