package diff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ckptfs/ckptfs/ntfs"
)

// Package ntfs does not (yet) tell where a file's clusters lie, which is
// what an incremental diff needs: which MFT records sit in changed
// clusters, and which parts of a file do. This file and rawrecord.go read
// just that much of the on-disk format: the $MFT runlist and the $DATA
// runlists of single records. Everything else (names, times, streams,
// attribute lists) comes from package ntfs.

// errNoMap means the $MFT layout could not be learned from record 0 alone
// (its runlist continues in extension records); the caller walks instead.
var errNoMap = errors.New("$MFT runlist continues outside record 0")

// clusterRun maps n clusters from VCN vcn to LCN lcn (a hole when sparse).
type clusterRun struct {
	vcn, lcn, n int64
	sparse      bool
}

// mftMap is where one state of a volume keeps its MFT records.
type mftMap struct {
	r       io.ReaderAt // the volume
	size    int64
	cs      int64 // cluster size
	recSize int64
	records int64 // records $MFT holds
	runs    []clusterRun
}

// newMFTMap reads $MFT's own record and decodes its $DATA runlist.
func newMFTMap(r io.ReaderAt, size int64, v *ntfs.Volume) (*mftMap, error) {
	g := v.Geometry()
	m := &mftMap{r: r, size: size, cs: int64(g.ClusterSize), recSize: int64(g.RecordSize), records: int64(v.Records())}
	off := int64(g.MFTCluster) * m.cs
	b := make([]byte, m.recSize)
	if _, err := r.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("reading $MFT record at 0x%x: %w", off, err)
	}
	rec, err := parseRaw(b, int64(g.Clusters()))
	if err != nil {
		return nil, fmt.Errorf("$MFT record at 0x%x: %w", off, err)
	}
	s := rec.streams[""]
	if s == nil || s.resident || !s.whole {
		return nil, errNoMap
	}
	m.runs = s.runs
	var mapped int64
	for _, x := range m.runs {
		mapped += x.n
	}
	if mapped*m.cs < m.records*m.recSize {
		return nil, errNoMap
	}
	return m, nil
}

// recordsIn returns the numbers of the records that have a byte in the
// sorted volume spans.
func (m *mftMap) recordsIn(changed []span) []int64 {
	var out []int64
	for _, x := range m.runs {
		if x.sparse {
			continue
		}
		base := x.lcn * m.cs
		for _, s := range clip(changed, base, base+x.n*m.cs) {
			first := (x.vcn*m.cs + s.off) / m.recSize
			last := (x.vcn*m.cs + s.end - 1) / m.recSize
			for n := first; n <= last && n < m.records; n++ {
				out = append(out, n)
			}
		}
	}
	return out
}

// record reads record num's raw bytes through the runlist and decodes
// the parts parseRaw knows. ok is false when the slot holds no record.
func (m *mftMap) record(num int64, clusters int64) (*rawRecord, bool, error) {
	if num < 0 || num >= m.records {
		return nil, false, nil
	}
	b := make([]byte, m.recSize)
	for done := int64(0); done < m.recSize; {
		pos := num*m.recSize + done
		voff, n := m.locate(pos)
		if n <= 0 {
			return nil, false, nil // a hole in $MFT holds no record
		}
		n = min(n, m.recSize-done)
		if _, err := m.r.ReadAt(b[done:done+n], voff); err != nil {
			return nil, false, fmt.Errorf("reading MFT record %d: %w", num, err)
		}
		done += n
	}
	if string(b[:4]) != "FILE" {
		return nil, false, nil
	}
	rec, err := parseRaw(b, clusters)
	if err != nil {
		return nil, false, fmt.Errorf("MFT record %d: %w", num, err)
	}
	return rec, true, nil
}

// locate maps a byte offset of $MFT to the volume: the offset and how many
// bytes follow contiguously (0 when unmapped).
func (m *mftMap) locate(pos int64) (int64, int64) {
	vcn := pos / m.cs
	for _, x := range m.runs {
		if vcn >= x.vcn && vcn < x.vcn+x.n {
			if x.sparse {
				return 0, 0
			}
			within := pos - x.vcn*m.cs
			return x.lcn*m.cs + within, x.n*m.cs - within
		}
	}
	return 0, 0
}

// decodeRunlist decodes mapping pairs starting at VCN vcn. Every run must
// lie in the volume's clusters; the list ends at a zero header byte.
func decodeRunlist(b []byte, vcn, clusters int64) ([]clusterRun, error) {
	var runs []clusterRun
	var lcn int64
	for pos := 0; pos < len(b) && b[pos] != 0; {
		ls, os := int(b[pos]&0x0f), int(b[pos]>>4)
		if ls == 0 || ls > 8 || os > 8 || pos+1+ls+os > len(b) {
			return nil, fmt.Errorf("bad mapping pair header %#x", b[pos])
		}
		n := int64(leUint(b[pos+1 : pos+1+ls]))
		if n <= 0 || n > clusters {
			return nil, fmt.Errorf("run of %d clusters", n)
		}
		r := clusterRun{vcn: vcn, n: n, sparse: os == 0}
		if os > 0 {
			lcn += leInt(b[pos+1+ls : pos+1+ls+os])
			if lcn < 0 || lcn > clusters-n {
				return nil, fmt.Errorf("run at LCN %d outside %d clusters", lcn, clusters)
			}
			r.lcn = lcn
		}
		runs = append(runs, r)
		vcn += n
		pos += 1 + ls + os
		if len(runs) > len(b) {
			break // cannot happen: each pair takes at least two bytes
		}
	}
	return runs, nil
}

func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// leInt sign-extends a little-endian integer of 1..8 bytes.
func leInt(b []byte) int64 {
	v := leUint(b)
	if n := uint(len(b)) * 8; n < 64 && v&(1<<(n-1)) != 0 {
		v |= ^uint64(0) << n
	}
	return int64(v)
}

func u16(b []byte, off int) int { return int(binary.LittleEndian.Uint16(b[off:])) }
func u32(b []byte, off int) int64 {
	return int64(binary.LittleEndian.Uint32(b[off:]))
}
