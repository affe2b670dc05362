package ntfs

import (
	"fmt"
	"io"
	"sort"
	"sync"
)

// stream reads the value of one attribute (usually a $DATA stream) as a
// byte range: resident bytes, or clusters through the runlist, with holes
// and the bytes past the initialized size reading as zeros, and LZNT1
// compression units decompressed on demand. It never loads the whole value.
type stream struct {
	r       io.ReaderAt
	cs      int64 // cluster size
	size    int64 // data size: the stream's length
	init    int64 // initialized size: bytes past it read as zeros
	alloc   int64
	res     []byte // resident value, when runs is nil and resident is set
	isRes   bool
	runs    []run
	vcns    uint64     // VCNs described by the runlist pieces
	cuShift uint8      // log2 clusters per compression unit; 0 = not compressed
	refuse  error      // non-nil: the data cannot be decoded, reads fail with it
	wof     *wofReader // set: the content of a WOF-compressed file

	mu    sync.Mutex // guards the decompressed-unit cache below
	cuIdx int64
	cuBuf []byte
}

// maxCompressionUnit bounds the buffer of one compression unit. NTFS uses
// 16 clusters of at most 4 KiB.
const maxCompressionUnit = 1 << 20

// newStream builds a stream from the pieces of one attribute (one piece
// unless an $ATTRIBUTE_LIST split its runlist over several records).
func newStream(r io.ReaderAt, cs int64, pieces []*attribute) (*stream, error) {
	return buildStream(r, cs, pieces, false)
}

// buildStream is newStream; partial allows the runlist to map less than
// the data size, for the first pieces of $MFT while bootstrapping.
func buildStream(r io.ReaderAt, cs int64, pieces []*attribute, partial bool) (*stream, error) {
	first := pieces[0]
	s := &stream{r: r, cs: cs, cuIdx: -1}
	if !first.NonResident {
		if len(pieces) > 1 {
			return nil, formatErr(first.Off, "resident attribute %#x appears %d times", first.Type, len(pieces))
		}
		s.isRes, s.res = true, first.Value
		s.size, s.init, s.alloc = int64(len(first.Value)), int64(len(first.Value)), int64(len(first.Value))
		return s, nil
	}
	runs, vcns, err := mergeRuns(pieces)
	if err != nil {
		return nil, err
	}
	first = pieces[0] // mergeRuns sorted them: this one holds the sizes
	s.runs, s.vcns = runs, vcns
	s.size, s.init, s.alloc = first.DataSize, first.InitSize, first.AllocSize
	if s.init > s.size {
		s.init = s.size
	}
	if !partial && vcns < uint64(1<<62)/uint64(cs) && s.size > int64(vcns)*cs {
		return nil, kindErr(ErrRange, first.Off+0x30, "data size %d exceeds the %d clusters mapped", s.size, vcns)
	}
	if first.Flags&attrFlagCompressed != 0 && first.CompUnit != 0 {
		if cs<<first.CompUnit > maxCompressionUnit {
			return nil, kindErr(ErrUnsupported, first.Off+0x22, "compression unit of 2^%d clusters of %d bytes", first.CompUnit, cs)
		}
		s.cuShift = first.CompUnit
	}
	if first.Flags&attrFlagEncrypted != 0 {
		s.refuse = kindErr(ErrUnsupported, first.Off, "attribute is EFS-encrypted")
	}
	return s, nil
}

// Size returns the length of the stream in bytes.
func (s *stream) Size() int64 { return s.size }

// ReadAt reads len(p) bytes at off, as io.ReaderAt.
func (s *stream) ReadAt(p []byte, off int64) (int, error) {
	if s.refuse != nil {
		return 0, s.refuse
	}
	if off < 0 {
		return 0, fmt.Errorf("ntfs: negative read offset %d", off)
	}
	if off >= s.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > s.size-off {
		n = int(s.size - off)
	}
	q := p[:n]
	var err error
	switch {
	case s.wof != nil:
		err = s.wof.readAt(q, off)
	case s.isRes:
		copy(q, s.res[off:])
	case s.cuShift != 0:
		err = s.readCompressed(q, off)
	default:
		err = s.readPlain(q, off)
	}
	if err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readPlain reads from an uncompressed non-resident stream; q lies within
// the data size.
func (s *stream) readPlain(q []byte, off int64) error {
	if end := off + int64(len(q)); end > s.init {
		z := s.init - off
		if z < 0 {
			z = 0
		}
		clear(q[z:])
		q = q[:z]
	}
	return s.readRuns(q, off)
}

// readRuns fills q from the clusters mapped at byte offset off, merging
// physically adjacent runs into one ReadAt so large files are read in big
// requests.
func (s *stream) readRuns(q []byte, off int64) error {
	for len(q) > 0 {
		vcn := uint64(off / s.cs)
		i := s.findRun(vcn)
		if i < 0 {
			return formatErr(-1, "VCN %d of a stream is not mapped by its runlist", vcn)
		}
		r := s.runs[i]
		inRun := int64(vcn-r.VCN)*s.cs + off%s.cs
		// Extend over following runs that continue on disk.
		span := r.Len
		for j := i + 1; j < len(s.runs) && uint64(len(q))/uint64(s.cs)+2 > span-(vcn-r.VCN); j++ {
			n := s.runs[j]
			if n.Sparse != r.Sparse || (!r.Sparse && n.LCN != r.LCN+span) {
				break
			}
			span += n.Len
		}
		left := span - (vcn - r.VCN)
		chunk := int64(len(q))
		if left < uint64(chunk)/uint64(s.cs)+2 {
			if c := int64(left)*s.cs - off%s.cs; c < chunk {
				chunk = c
			}
		}
		if r.Sparse {
			clear(q[:chunk])
		} else if _, err := s.r.ReadAt(q[:chunk], int64(r.LCN)*s.cs+inRun); err != nil {
			return fmt.Errorf("ntfs: reading cluster %d: %w", r.LCN+uint64(inRun/s.cs), err)
		}
		q = q[chunk:]
		off += chunk
	}
	return nil
}

// findRun returns the index of the run holding vcn, or -1.
func (s *stream) findRun(vcn uint64) int {
	i := sort.Search(len(s.runs), func(i int) bool { return s.runs[i].VCN+s.runs[i].Len > vcn })
	if i == len(s.runs) || s.runs[i].VCN > vcn {
		return -1
	}
	return i
}

// volOffset maps a stream offset to a volume byte offset, for error
// messages; -1 when it is not on disk.
func (s *stream) volOffset(off int64) int64 {
	if s.isRes {
		return -1
	}
	i := s.findRun(uint64(off / s.cs))
	if i < 0 || s.runs[i].Sparse {
		return -1
	}
	r := s.runs[i]
	return int64(r.LCN)*s.cs + int64(uint64(off/s.cs)-r.VCN)*s.cs + off%s.cs
}

// readCompressed reads from an LZNT1-compressed stream, one compression
// unit at a time, through a one-unit cache so sequential small reads do
// not decompress a unit again.
func (s *stream) readCompressed(q []byte, off int64) error {
	cuBytes := s.cs << s.cuShift
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(q) > 0 {
		idx := off / cuBytes
		if idx != s.cuIdx {
			if err := s.loadUnit(idx); err != nil {
				s.cuIdx = -1
				return err
			}
		}
		in := off % cuBytes
		n := copy(q, s.cuBuf[in:])
		if end := off + int64(n); end > s.init {
			z := s.init - off
			if z < 0 {
				z = 0
			}
			clear(q[z:n])
		}
		q = q[n:]
		off += int64(n)
	}
	return nil
}

// loadUnit decodes compression unit idx into s.cuBuf. A unit whose clusters
// are all allocated is stored raw; one that ends in a hole is compressed
// (its allocated clusters hold LZNT1 data); one that is all hole is zeros.
func (s *stream) loadUnit(idx int64) error {
	n := uint64(1) << s.cuShift
	cuBytes := s.cs << s.cuShift
	if s.cuBuf == nil {
		s.cuBuf = make([]byte, cuBytes)
	}
	start := uint64(idx) * n
	var allocated uint64
	var segs []run
	for vcn := start; vcn < start+n; {
		i := s.findRun(vcn)
		if i < 0 {
			if vcn >= s.vcns {
				break // the last unit may be short
			}
			return formatErr(-1, "VCN %d of a compressed stream is not mapped", vcn)
		}
		r := s.runs[i]
		take := r.VCN + r.Len - vcn
		if take > start+n-vcn {
			take = start + n - vcn
		}
		if !r.Sparse {
			segs = append(segs, run{VCN: vcn, LCN: r.LCN + (vcn - r.VCN), Len: take})
			allocated += take
		}
		vcn += take
	}
	buf := s.cuBuf
	switch {
	case allocated == 0:
		clear(buf)
	case allocated == n:
		if err := s.readSegs(buf, segs); err != nil {
			return err
		}
	default:
		src := make([]byte, int64(allocated)*s.cs)
		if err := s.readSegs(src, segs); err != nil {
			return err
		}
		got, err := lznt1Decompress(buf, src)
		if err != nil {
			return fmt.Errorf("compression unit %d: %w", idx, err)
		}
		clear(buf[got:])
	}
	s.cuIdx = idx
	return nil
}

func (s *stream) readSegs(dst []byte, segs []run) error {
	pos := int64(0)
	for _, g := range segs {
		n := int64(g.Len) * s.cs
		if pos+n > int64(len(dst)) {
			n = int64(len(dst)) - pos
		}
		if _, err := s.r.ReadAt(dst[pos:pos+n], int64(g.LCN)*s.cs); err != nil {
			return fmt.Errorf("ntfs: reading cluster %d: %w", g.LCN, err)
		}
		pos += n
	}
	clear(dst[pos:])
	return nil
}
