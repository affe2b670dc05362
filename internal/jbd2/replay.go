// Package jbd2 replays the journal of an ext3 or ext4 filesystem (JBD2)
// in memory. A Hyper-V checkpoint of a running Linux guest freezes the
// disk the way a power cut would: transactions the kernel committed to
// the journal may not have reached their home blocks yet, and the kernel
// replays them when it mounts the volume. Reading the volume without the
// replay shows files as they were up to a few seconds (or minutes) before
// the checkpoint, and sometimes a directory that points at an inode not
// yet written. Replay finds the blocks the kernel would write and Overlay
// shows the volume as if it had written them, without writing anything.
//
// The journal is read as the bytes of the journal inode in order (block n
// of the journal at byte n×blocksize), as ext's reader gives them.
package jbd2

import (
	"encoding/binary"
	"io"
	"sort"
)

// Log is the outcome of a replay: the filesystem blocks whose newest
// committed contents sit in the journal.
type Log struct {
	BlockSize int
	// Transactions is the number of committed transactions found, from
	// sequence FirstSequence on; Blocks the number of distinct filesystem
	// blocks they bring.
	Transactions  int
	FirstSequence uint32
	Blocks        int
	// Revoked counts logged blocks skipped because a later transaction
	// revoked them; BadBlocks those skipped for a wrong checksum (the
	// kernel skips them too, and reports the filesystem damaged).
	Revoked   int
	BadBlocks int
	// FastCommits reports fast-commit records after the last full commit.
	// They are ext4's own (not block) records, which this package does not
	// replay: the files they touched show their last fully committed state.
	FastCommits bool
	// Errno is the error the kernel recorded in the journal when it
	// aborted it (0 if none).
	Errno int32

	journal io.ReaderAt
	blocks  []logged // sorted by fsBlock
}

// logged is one filesystem block and where its contents are in the journal.
type logged struct {
	fsBlock uint64
	jOff    int64
	escaped bool
}

// Replay reads the journal (size bytes) and collects the transactions a
// kernel mount would replay. fsBlockSize is the filesystem's block size,
// which the journal's must equal (0 skips the check). A journal with
// nothing to replay gives a Log with no blocks. Transactions that did not
// reach their commit block, or whose commit checksum fails, end the log as
// they end the kernel's recovery.
func Replay(journal io.ReaderAt, size int64, fsBlockSize int) (*Log, error) {
	head := make([]byte, 1024)
	if size < int64(len(head)) {
		return nil, formatErr(0, "journal of %d bytes is shorter than its superblock", size)
	}
	if _, err := journal.ReadAt(head, 0); err != nil {
		return nil, err
	}
	sb, err := parseSuperblock(head, size, fsBlockSize)
	if err != nil {
		return nil, err
	}
	l := &Log{BlockSize: sb.blockSize, FirstSequence: sb.sequence, Errno: sb.errno, journal: journal}
	if sb.start == 0 {
		return l, nil
	}
	s := &scanner{r: journal, sb: sb, buf: make([]byte, 2*sb.blockSize)}
	txns, nextSeq, err := s.scan()
	if err != nil {
		return nil, err
	}
	l.Transactions = len(txns)
	if err := l.apply(s, txns); err != nil {
		return nil, err
	}
	if sb.has(incompatFastCommit) {
		if l.FastCommits, err = s.fastCommitsAfter(nextSeq); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// apply keeps, for every filesystem block, its contents in the newest
// transaction that logged it and did not revoke it afterwards.
func (l *Log) apply(s *scanner, txns []transaction) error {
	revokedAt := map[uint64]uint32{}
	for _, t := range txns {
		for _, b := range t.revokes {
			if old, ok := revokedAt[b]; !ok || tidAfter(t.seq, old) {
				revokedAt[b] = t.seq
			}
		}
	}
	newest := map[uint64]logged{}
	data := s.dataBuf()
	for _, t := range txns {
		for _, tg := range t.tags {
			if r, ok := revokedAt[tg.fsBlock]; ok && !tidAfter(t.seq, r) {
				l.Revoked++
				continue
			}
			if s.sb.csumV23() {
				if err := s.read(tg.jBlock, data); err != nil {
					return err
				}
				if !s.dataOK(tg, t.seq, data) {
					l.BadBlocks++
					continue
				}
			}
			newest[tg.fsBlock] = logged{
				fsBlock: tg.fsBlock,
				jOff:    int64(tg.jBlock) * int64(s.sb.blockSize),
				escaped: tg.escaped,
			}
		}
	}
	l.blocks = make([]logged, 0, len(newest))
	for _, b := range newest {
		l.blocks = append(l.blocks, b)
	}
	sort.Slice(l.blocks, func(i, j int) bool { return l.blocks[i].fsBlock < l.blocks[j].fsBlock })
	l.Blocks = len(l.blocks)
	return nil
}

// fastCommitsAfter reports whether the fast-commit area starts with a
// head record of transaction seq, the one after the last full commit:
// only then has the kernel fast commits to replay.
func (s *scanner) fastCommitsAfter(seq uint32) (bool, error) {
	end := s.sb.logEnd()
	if end == s.sb.maxLen {
		return false, nil
	}
	b := s.buf[:s.sb.blockSize]
	if err := s.read(end, b); err != nil {
		return false, err
	}
	// ext4's fast-commit records are little-endian tag-length-values; the
	// head (tag 9) holds the features word and the transaction id.
	const fcTagHead = 9
	le := binary.LittleEndian
	return le.Uint16(b[0:]) == fcTagHead && le.Uint16(b[2:]) >= 8 && le.Uint32(b[8:]) == seq, nil
}
