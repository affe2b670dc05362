package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/mount"
	"github.com/ckptfs/ckptfs/remote"
)

type mountOptions struct {
	src   sourceOptions
	opts  []string
	debug bool
}

func mountCommand() *command {
	o := &mountOptions{}
	return &command{
		name: "mount", args: "SRC MOUNTPOINT [-o OPT,...]", short: "mount every checkpoint read-only (foreground; Ctrl-C or fusermount3 -u to leave)",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			o.src.AddKeyFlags(f)
			f.StringSliceVarP(&o.opts, "options", "o", nil, "mount options: allow_other, debug, ignore_case (Windows volumes: names match ignoring case), show_metafiles (list NTFS $MFT, $LogFile, ...), norecovery (do not replay dirty ext journals and XFS logs), cache_mem=SIZE (as --cache-mem), default_permissions (the kernel checks guest owners, modes and POSIX ACLs), and FUSE options passed through")
			f.BoolVar(&o.debug, "debug", false, "log every FUSE request")
		},
		nargs: exactly(2),
		run:   o.run,
	}
}

func (o *mountOptions) run(ctx context.Context, args []string) error {
	var opt mount.Options
	for _, s := range o.opts {
		if err := opt.Parse(s); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	opt.Debug = opt.Debug || o.debug
	g, err := o.src.guestOptions()
	if err != nil {
		return err
	}
	if opt.NoRecovery && !g.NoRecovery {
		ng := *g
		ng.NoRecovery = true
		g = &ng
	}
	opt.Guest = g
	if st, err := os.Stat(args[1]); err != nil {
		return fmt.Errorf("mount point %s does not exist (create it with mkdir first): %w", args[1], fs.ErrNotExist)
	} else if !st.IsDir() {
		return fmt.Errorf("%w: mount point %s is a file, not a directory", errUsage, args[1])
	}
	cat, err := o.src.open(args[0])
	if err != nil {
		return err
	}
	defer cat.Close()
	for _, w := range append(opt.Warnings(), cat.Warnings...) {
		fmt.Fprintf(os.Stderr, "ckptfs mount: warning: %s\n", w)
	}
	opt.Ready = func() {
		fmt.Fprintf(os.Stderr, "ckptfs: %s mounted on %s (read-only); Ctrl-C or 'fusermount3 -u %s' to unmount\n", remote.Redact(args[0]), args[1], args[1])
		quietAfterReady()
	}
	var counts func() map[string]uint64
	opt.Requests = func(f func() map[string]uint64) { counts = f }
	err = mount.Run(ctx, cat, args[1], opt)
	if counts != nil {
		writeRequests(counts())
	}
	return err
}
