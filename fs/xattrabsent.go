//go:build linux

package fs

import (
	iofs "io/fs"
	"strings"
	"sync"
	"syscall"

	"github.com/ckptfs/ckptfs/guest"
)

// What a getxattr of a name a file does not carry answers. ENODATA says
// "this file has none"; EOPNOTSUPP says "this filesystem keeps none of
// these", and is what programs that ask every file take as a cue to stop
// asking. `ls -l` asks for security.selinux and system.posix_acl_access of
// every name it lists and remembers, per device, a namespace answered
// EOPNOTSUPP (coreutils' getfilecon_cache and file_has_acl_cache): through
// FUSE each question is a round trip of about 30 µs here, two per entry,
// which in an `ls -l` of 100,000 files is 6 s the kernel's own ext4 spends
// nowhere.

// linuxOnlyXattr reports whether name is in a namespace only Linux
// filesystems carry: SELinux and other security labels, trusted, POSIX
// ACLs. On an NTFS, FAT or ISO volume such a name gets EOPNOTSUPP, which
// is what the kernel answers for a namespace a filesystem has no handler
// for, rather than ENODATA. (The mount is one device: an `ls -lR` that
// goes on into a Linux volume of the same mount shows no '.' or '+' marks
// there; the xattrs still read.)
func linuxOnlyXattr(name string) bool {
	return strings.HasPrefix(name, "security.") || strings.HasPrefix(name, "trusted.") ||
		isACLXattr(name)
}

// isACLXattr reports whether name is one of the POSIX ACLs.
func isACLXattr(name string) bool {
	return strings.HasPrefix(name, "system.posix_acl_")
}

// absentXattr is the error for name on a file of v that does not carry it.
//
// A POSIX ACL is never EOPNOTSUPP while the kernel checks ACLs itself
// (FUSE_POSIX_ACL, on with -o default_permissions): it fetches a file's
// ACL to decide an access and would refuse the access with that error.
// It caches the answer, ENODATA included, for the life of the inode, so
// only the first question about a file is a round trip.
//
// A security label (security.selinux, security.SMACK64, ...) the volume's
// root does not carry answers EOPNOTSUPP: a Linux installation that labels
// its files labels its root too (an installer's relabel, restorecon), and
// a volume whose root has no label is one written without that security
// module, as Debian's and Ubuntu's are. Every label a file has is still
// listed and read; only the answer for a missing one differs from the
// kernel's ENODATA, as it would on a filesystem mounted without labels.
// The one visible difference: in a folder where unlabelled files come
// before labelled ones, `ls -l` stops showing the '.' mark of a label
// after the first unlabelled file.
func (v *volume) absentXattr(name string) error {
	posix := guest.LinksArePOSIX(v.fsys)
	switch {
	case isACLXattr(name) && v.kernelACLs():
		return syscall.ENODATA
	case linuxOnlyXattr(name) && !posix:
		return syscall.EOPNOTSUPP
	case strings.HasPrefix(name, "security.") && v.rootLacks(name):
		return syscall.EOPNOTSUPP
	}
	return syscall.ENODATA
}

// kernelACLs reports whether the kernel checks and caches POSIX ACLs.
func (v *volume) kernelACLs() bool {
	return v.kernelACL != nil && v.kernelACL.Load()
}

// rootLacks reports whether the volume's root is known not to carry the
// security label name. Its labels are read once; a root that cannot be
// read is not known to lack anything (the answer stays ENODATA).
func (v *volume) rootLacks(name string) bool {
	v.labelsOnce.Do(func() {
		fi := v.rootInfo
		if fi == nil {
			var err error
			if fi, err = iofs.Stat(v.fsys, "."); err != nil {
				return
			}
		}
		xs, err := guest.ReadXattrs(fi)
		if err != nil {
			return
		}
		v.labels = map[string]bool{}
		for name := range xs {
			if strings.HasPrefix(name, "security.") {
				v.labels[name] = true
			}
		}
	})
	return v.labels != nil && !v.labels[name]
}

// volumeLabels is the part of a volume that remembers its root's labels
// (rootLacks); labels is nil until read, and when they could not be.
type volumeLabels struct {
	rootInfo   iofs.FileInfo
	labelsOnce sync.Once
	labels     map[string]bool
}
