package xfs

import "encoding/binary"

const (
	symlinkMagic  = 0x58534c4d // "XSLM"
	maxSymlinkLen = 1024       // XFS_SYMLINK_MAXLEN
)

// readLink returns a symbolic link's target: inline in the inode, or in
// blocks that on v5 each start with a header (magic, offset, bytes, CRC).
func (v *FS) readLink(b *budget, in *inode) (string, error) {
	if in.size <= 0 || in.size > maxSymlinkLen {
		return "", formatErr(in.off, "symbolic link inode %d of %d bytes", in.ino, in.size)
	}
	n := int(in.size)
	if in.format == fmtLocal {
		return string(in.dfork[:n]), nil
	}
	exts, err := v.forkExtents(b, in, false)
	if err != nil {
		return "", err
	}
	bs := int(v.sb.blockSize)
	if !v.sb.hasCRC() {
		buf, at, ok, err := v.readBlocks(b, exts, 0, (n+bs-1)/bs*bs)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", formatErr(at, "symbolic link inode %d: target in a hole", in.ino)
		}
		return string(buf[:n]), nil
	}
	// On v5 each extent (one disk buffer when the link was written) starts
	// with one header, and its CRC covers the whole extent.
	const hdr = 56
	out := make([]byte, 0, n)
	for _, e := range exts {
		if len(out) >= n {
			break
		}
		if e.n > 4 {
			return "", formatErr(in.off, "symbolic link inode %d: extent of %d blocks", in.ino, e.n)
		}
		buf, at, ok, err := v.readBlocks(b, exts, e.off, int(e.n)*bs)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", formatErr(at, "symbolic link inode %d: target in a hole", in.ino)
		}
		be := binary.BigEndian
		if be.Uint32(buf) != symlinkMagic {
			return "", formatErr(at, "symbolic link inode %d: no symlink block magic", in.ino)
		}
		if err := v.checkCRC(buf, 12, at); err != nil {
			return "", err
		}
		off, cnt := int(be.Uint32(buf[4:])), int(be.Uint32(buf[8:]))
		if off != len(out) || cnt == 0 || cnt > len(buf)-hdr || cnt > n-len(out) {
			return "", formatErr(at, "symbolic link inode %d: block of %d bytes at offset %d", in.ino, cnt, off)
		}
		if owner := be.Uint64(buf[32:]); owner != in.ino {
			return "", formatErr(at, "symbolic link inode %d: block owned by inode %d", in.ino, owner)
		}
		out = append(out, buf[hdr:hdr+cnt]...)
	}
	if len(out) != n {
		return "", formatErr(in.off, "symbolic link inode %d: %d of %d target bytes in its blocks", in.ino, len(out), n)
	}
	return string(out), nil
}
