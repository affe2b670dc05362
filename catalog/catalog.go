// Package catalog finds the disks and VM configurations in a folder (or one
// disk file) and builds the checkpoint tree that the mount, the CLI, diff and
// export work on.
package catalog

import (
	"time"

	"github.com/ckptfs/ckptfs/vhdx"
)

// Catalog is everything found under one source path.
type Catalog struct {
	Source string // the path the user gave
	// Folder is set when Source is a folder (of one VM or many), clear
	// when it is one disk file.
	Folder bool
	VMs    []*VM
	// Warnings lists what was tolerated: unreadable configuration files,
	// configured disks that are not there, checkpoint parents that could
	// not be placed.
	Warnings []string
	// Pending lists the merges that were interrupted (see pending.go).
	Pending []*PendingMerge

	files []*diskFile // every disk file opened, each once; Close closes them
	src   Source
}

// VM is one virtual machine: a configuration file with its checkpoints, or,
// without configuration, one tree of disk files. A disk file several
// configured VMs are built on (a shared base disk) is a checkpoint of each:
// one Checkpoint per VM, over the same chain.
type VM struct {
	Name   string
	ID     string // configuration id, or the base disk's stem without configuration
	Config string // configuration file path, "" when none was found
	// Checkpoints in creation order (parents before children); the live
	// state is the one with Live set.
	Checkpoints []*Checkpoint
}

// Checkpoint is one frozen state (or the live state) of a VM.
type Checkpoint struct {
	Name    string    // checkpoint name, or the disk stem without configuration
	ID      string    // checkpoint id, or the disk stem without configuration
	Created time.Time // zero when unknown
	Parent  *Checkpoint
	Live    bool
	Disks   []*Disk
	// Merging is set while an interrupted merge is deleting the
	// checkpoint; when its content is being replaced, its disks have a
	// nil Chain and an Err saying so.
	Merging *PendingMerge
}

// ReadErr says why the checkpoint cannot be read (ErrMerging), or nil.
func (c *Checkpoint) ReadErr() error {
	for _, d := range c.Disks {
		if d.Err != nil {
			return d.Err
		}
	}
	return nil
}

// Disk is one virtual disk of a VM as it is at one checkpoint.
type Disk struct {
	// Name is what the mount calls it: disks/<Name>.raw, <Name>-p<N>/.
	Name string
	// File is the disk file holding this checkpoint's state (top of Chain).
	File string
	// Chain resolves the disk's content at this checkpoint; shared layers
	// are opened once per catalog. It is nil when Err is set.
	Chain *vhdx.Chain
	// Err says why the disk cannot be read (it wraps ErrMerging).
	Err error
}

// LockShared takes a shared lock on every disk file of the catalog,
// through the very files it reads (the source's identity, not a name that
// could have been replaced since): a merge takes an exclusive lock on what
// it changes, so a mounted catalog and a merge exclude each other. Files a
// source cannot lock (remote objects) are checked by identity instead.
// It fails, wrapping ErrLocked, while a merge holds one; release drops the
// locks (closing the catalog drops them too) and may be called more than
// once.
func (c *Catalog) LockShared() (release func(), err error) {
	var held []Locker
	release = func() {
		for _, l := range held {
			l.Unlock()
		}
		held = nil
	}
	for _, d := range c.files {
		l, ok := d.file.(Locker)
		if !ok {
			continue
		}
		if err := l.LockShared(); err != nil {
			release()
			return nil, err
		}
		held = append(held, l)
	}
	return release, nil
}
