//go:build linux

package mount

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// SetReadAhead sets the read-ahead window of the mount's backing device
// (/sys/class/bdi/MAJOR:MINOR/read_ahead_kb). Only root may write it; for
// anyone else the mount keeps the kernel's window and works as before.
func SetReadAhead(mountpoint string, kb int) error {
	var st unix.Stat_t
	if err := unix.Stat(mountpoint, &st); err != nil {
		return err
	}
	path := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	return os.WriteFile(path, []byte(strconv.Itoa(kb)), 0)
}
