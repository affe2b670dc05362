package vhdx

import "io"

func newVHDX(r io.ReaderAt, size int64) (*Disk, error) { return nil, ErrUnsupported }
