//go:build !unix

package export

import "os"

// allocated returns the file size where the allocation is not known.
func allocated(st os.FileInfo) int64 { return st.Size() }
