package xfs

// LogState says what was done with the volume's log when it was opened.
type LogState struct {
	// Dirty is true when the log holds transactions the filesystem did
	// not write back (the volume was not unmounted cleanly).
	Dirty bool
	// Replayed is true when those transactions were applied in memory, so
	// files read as the kernel shows them after log recovery.
	Replayed bool
	// Note explains a dirty log left unreplayed: the files then read as
	// `mount -o norecovery` shows them, which may miss recent changes.
	Note string
}

// LogState reports the state of the log, as found when the volume was
// opened.
func (v *FS) LogState() LogState { return v.log }

// overlay holds replayed metadata blocks by byte offset.
type overlay struct{}

func (o *overlay) apply(p []byte, off int64) {}

func (v *FS) recoverLog() LogState { return LogState{} }
