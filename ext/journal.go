package ext

import (
	"errors"
	"fmt"
	"io"

	"github.com/ckptfs/ckptfs/internal/jbd2"
)

// Where the superblock says the journal lives.
const (
	compatHasJournal = 0x4
	sbJournalIno     = 0xe0
)

// Options change how a volume is opened.
type Options struct {
	// NoRecovery leaves a journal that needs recovery unreplayed, as
	// `mount -o noload`: files read as they were last written back to
	// their places, which may miss the latest changes.
	NoRecovery bool
}

// JournalState says what was done with the journal when the volume was
// opened.
type JournalState struct {
	// NeedsRecovery: the superblock said the journal holds transactions
	// not yet written back (a crash, or a checkpoint of a running guest).
	NeedsRecovery bool
	// Replayed: they were applied in memory, as the kernel's mount
	// applies them; Transactions and Blocks say how many.
	Replayed     bool
	Transactions int
	Blocks       int
	// Note says why the journal was not replayed, or what the replay left
	// out.
	Note string
}

// String reads as guest's Journaler contract wants it: "clean",
// "replayed (N transactions[; note])" or "NOT replayed, last checkpointed
// state shown: why".
func (s JournalState) String() string {
	switch {
	case !s.NeedsRecovery:
		return "clean"
	case s.Replayed && s.Note != "":
		return fmt.Sprintf("replayed (%d transactions; %s)", s.Transactions, s.Note)
	case s.Replayed:
		return fmt.Sprintf("replayed (%d transactions)", s.Transactions)
	}
	return "NOT replayed, last checkpointed state shown: " + s.Note
}

// Journal reports what was done with the journal when the volume was
// opened.
func (v *FS) Journal() JournalState {
	if !v.NeedsRecovery() {
		return JournalState{}
	}
	return v.journal
}

// NewFSOptions is NewFS with options.
func NewFSOptions(r io.ReaderAt, size int64, opt Options) (*FS, error) {
	v, err := newFS(r, size)
	if err != nil || !v.NeedsRecovery() {
		return v, err
	}
	v.journal = JournalState{NeedsRecovery: true}
	if opt.NoRecovery {
		v.journal.Note = "recovery turned off"
		return v, nil
	}
	log, err := v.readJournal()
	if err != nil {
		v.journal.Note = err.Error()
		return v, nil
	}
	// The replayed blocks may include the superblock and the group
	// descriptors, so the volume is opened again through them, as the
	// kernel reads its superblock again after recovery.
	rv, err := newFS(log.Overlay(r, size), size)
	if err != nil {
		v.journal.Note = fmt.Sprintf("the replayed volume does not open (%v)", err)
		return v, nil
	}
	rv.journal = JournalState{NeedsRecovery: true, Replayed: true, Transactions: log.Transactions, Blocks: log.Blocks}
	switch {
	case log.BadBlocks > 0:
		rv.journal.Note = fmt.Sprintf("%d logged blocks failed their checksums and were skipped", log.BadBlocks)
	case log.FastCommits:
		rv.journal.Note = "fast commits after the last full commit are not replayed"
	}
	return rv, nil
}

// readJournal finds the journal inode and collects what the kernel would
// replay from it.
func (v *FS) readJournal() (*jbd2.Log, error) {
	if v.geo.compat&compatHasJournal == 0 {
		return nil, errors.New("the superblock asks for recovery but there is no journal")
	}
	ino := v.geo.journalIno
	if ino == 0 {
		return nil, errors.New("the journal is on an external device, which ckptfs is not given")
	}
	in, err := v.inode(ino)
	if err != nil {
		return nil, fmt.Errorf("journal inode %d: %w", ino, err)
	}
	size := in.size()
	c, err := v.contentOf(in, size)
	if err != nil {
		return nil, fmt.Errorf("journal inode %d: %w", ino, err)
	}
	log, err := jbd2.Replay(readerAtFunc(c.readAt), size, int(v.geo.blockSize))
	if err != nil {
		return nil, fmt.Errorf("journal inode %d: %w", ino, err)
	}
	return log, nil
}

// readerAtFunc makes a ReadAt method of a function.
type readerAtFunc func(p []byte, off int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }
