package main

import (
	"context"
	"fmt"
)

// Commands whose engines are still being built; they fail plainly.
func pending(name, args, short string) *command {
	return &command{name: name, args: args, short: short, nargs: atLeast(0),
		run: func(context.Context, []string) error { return fmt.Errorf("%w: not available yet", errRefused) }}
}

func exportCommand() *command {
	return pending("export", "SRC CHECKPOINT -o OUT", "flatten a checkpoint to a standalone VHDX or sparse raw file")
}
func mergeCommand() *command {
	return pending("merge", "SRC CHECKPOINT", "fold a checkpoint away, as Hyper-V's delete does")
}
