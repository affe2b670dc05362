package vhdx

import "io"

// Chain is a differencing chain resolved in memory: Layers[0] is the top
// file (the checkpoint's own disk), the last is the base.
type Chain struct {
	Layers []*Disk
}

// ChainOptions tunes OpenChain.
type ChainOptions struct {
	// SearchDirs are folders searched by file name when the locator's paths
	// do not lead to the parent.
	SearchDirs []string
	// IgnoreLinkage accepts a parent whose identity does not match.
	IgnoreLinkage bool
	// MaxDepth bounds the chain (default 256).
	MaxDepth int
}

// OpenChain opens a disk file and every parent it names.
func OpenChain(name string, opt ChainOptions) (*Chain, error) { return nil, ErrUnsupported }

// NewChain resolves already opened layers (top first).
func NewChain(layers []*Disk, opt ChainOptions) (*Chain, error) { return nil, ErrUnsupported }

// Size returns the virtual size of the top layer.
func (c *Chain) Size() int64 { return 0 }

// ReadAt reads the virtual disk.
func (c *Chain) ReadAt(p []byte, off int64) (int, error) { return 0, io.EOF }

// Extents describes [off, off+n).
func (c *Chain) Extents(off, n int64) ([]Extent, error) { return nil, ErrUnsupported }

// Close closes every layer.
func (c *Chain) Close() error { return nil }

var _ Image = (*Chain)(nil)
