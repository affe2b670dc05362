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
	VMs    []*VM
	// Warnings lists what was tolerated: unreadable configuration files,
	// configured disks that are not there, checkpoint parents that could
	// not be placed.
	Warnings []string

	files []*diskFile // every disk file opened, each once; Close closes them
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
}

// Disk is one virtual disk of a VM as it is at one checkpoint.
type Disk struct {
	// Name is what the mount calls it: disks/<Name>.raw, <Name>-p<N>/.
	Name string
	// File is the disk file holding this checkpoint's state (top of Chain).
	File string
	// Chain resolves the disk's content at this checkpoint; shared layers
	// are opened once per catalog.
	Chain *vhdx.Chain
}
