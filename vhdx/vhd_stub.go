package vhdx

import "io"

func newVHD(r io.ReaderAt, size int64) (*Disk, error) { return nil, ErrUnsupported }
