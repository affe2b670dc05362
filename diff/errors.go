package diff

import "errors"

// ErrInput means the checkpoints cannot be compared as given (a disk
// without an opened chain, a nil checkpoint).
var ErrInput = errors.New("diff: bad input")
