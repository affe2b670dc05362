package luks

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// On-disk layout (cryptsetup's "LUKS On-Disk Format Specification" 1.2.3
// for LUKS1, "LUKS2 On-Disk Format Specification" 1.1.x for LUKS2). Both
// start with the same magic and a big-endian version; LUKS2 keeps a
// second copy of its header right after the first, its magic reversed.
var (
	magic1 = []byte("LUKS\xba\xbe")
	magic2 = []byte("SKUL\xba\xbe") // the secondary LUKS2 header
)

const (
	luks1HeaderSize = 592
	luks1SlotActive = 0x00AC71F3
	luks1Slots      = 8
	sectorSize      = 512

	bin2Size = 4096 // LUKS2 binary header, before its JSON area
	// hdr_size (binary header + JSON) is a power of two from 16 KiB to 4 MiB.
	minHdr2, maxHdr2 = 16 << 10, 4 << 20

	maxKeyBytes = 128     // 1024-bit keys are cryptsetup's largest
	maxStripes  = 1 << 16 // cryptsetup always writes 4000
)

// Detect reports whether the volume starts with a LUKS header (either
// version, or a LUKS2 secondary header left where the primary was lost).
func Detect(r io.ReaderAt, size int64) bool {
	b := make([]byte, 8)
	if size < 8 {
		return false
	}
	if _, err := r.ReadAt(b, 0); err != nil {
		return false
	}
	v := binary.BigEndian.Uint16(b[6:])
	return bytes.Equal(b[:6], magic1) && (v == 1 || v == 2)
}

// parse1 reads a LUKS1 header.
func (v *Volume) parse1(h []byte) error {
	str := func(b []byte) string { return string(bytes.TrimRight(b, "\x00")) }
	v.Version = 1
	v.UUID = str(h[168:208])
	v.Cipher = str(h[8:40]) + "-" + str(h[40:72])
	hash := strings.ToLower(str(h[72:104]))
	payload := int64(binary.BigEndian.Uint32(h[104:])) * sectorSize
	keyBytes := int(binary.BigEndian.Uint32(h[108:]))
	if keyBytes <= 0 || keyBytes > maxKeyBytes {
		return formatErr(108, "volume key of %d bytes", keyBytes)
	}
	if payload < luks1HeaderSize || payload > v.size {
		return formatErr(104, "data at byte %d of a %d-byte volume", payload, v.size)
	}
	v.keyBytes, v.sectorSize = keyBytes, sectorSize
	v.dataOff, v.dataSize = payload, (v.size-payload)&^(sectorSize-1)
	v.digests = []*digest{{hash: hash, iterations: int64(binary.BigEndian.Uint32(h[164:])),
		salt: slices.Clone(h[132:164]), value: slices.Clone(h[112:132])}}
	for i := range luks1Slots {
		s := h[208+48*i:][:48]
		if binary.BigEndian.Uint32(s) != luks1SlotActive {
			continue
		}
		ks := &KeySlot{ID: i, KDF: "pbkdf2-" + hash, Priority: 1, keyBytes: keyBytes,
			kdf:        kdf{typ: "pbkdf2", hash: hash, iterations: int64(binary.BigEndian.Uint32(s[4:])), salt: slices.Clone(s[8:40])},
			areaOff:    int64(binary.BigEndian.Uint32(s[40:])) * sectorSize,
			stripes:    int(binary.BigEndian.Uint32(s[44:])),
			areaCipher: v.Cipher, areaKeyBytes: keyBytes, afHash: hash, digest: v.digests[0]}
		ks.areaSize = roundUp(int64(keyBytes)*int64(ks.stripes), sectorSize)
		if err := v.checkSlot(ks, int64(208+48*i)); err != nil {
			return err
		}
		v.KeySlots = append(v.KeySlots, ks)
	}
	v.Header = "LUKS1"
	return nil
}

// header2 is one LUKS2 header copy as read: its sequence number orders
// two valid copies (the higher was written last).
type header2 struct {
	off   int64
	seqid uint64
	label string
	uuid  string
	json  []byte
}

// readHeader2 reads and checks the LUKS2 header copy at off.
func (v *Volume) readHeader2(off int64, want []byte) (*header2, error) {
	bin := make([]byte, bin2Size)
	if off < 0 || off+bin2Size > v.size {
		return nil, formatErr(off, "header copy lies past the volume's end")
	}
	if _, err := v.r.ReadAt(bin, off); err != nil {
		return nil, fmt.Errorf("luks: reading the header at byte 0x%x: %w", off, err)
	}
	if !bytes.Equal(bin[:6], want) || binary.BigEndian.Uint16(bin[6:]) != 2 {
		return nil, formatErr(off, "no LUKS2 header here")
	}
	hdrSize := int64(binary.BigEndian.Uint64(bin[8:]))
	if hdrSize < minHdr2 || hdrSize > maxHdr2 || hdrSize&(hdrSize-1) != 0 || off+hdrSize > v.size {
		return nil, formatErr(off+8, "header size %d", hdrSize)
	}
	if at := int64(binary.BigEndian.Uint64(bin[256:])); at != off {
		return nil, formatErr(off+256, "header says it lies at byte %d, found at %d", at, off)
	}
	all := make([]byte, hdrSize)
	copy(all, bin)
	if _, err := v.r.ReadAt(all[bin2Size:], off+bin2Size); err != nil {
		return nil, fmt.Errorf("luks: reading the header at byte 0x%x: %w", off, err)
	}
	if alg := string(bytes.TrimRight(bin[72:104], "\x00")); alg != "sha256" {
		return nil, &FormatError{Off: off + 72, What: fmt.Sprintf("header checksum %q", alg), Err: ErrUnsupported}
	}
	stored := slices.Clone(all[448 : 448+sha256.Size])
	clear(all[448:512])
	sum := sha256.Sum256(all)
	if subtle.ConstantTimeCompare(sum[:], stored) != 1 {
		return nil, &FormatError{Off: off + 448, What: "header checksum does not match", Err: ErrChecksum}
	}
	js := all[bin2Size:]
	if i := bytes.IndexByte(js, 0); i >= 0 {
		js = js[:i]
	}
	str := func(b []byte) string { return string(bytes.TrimRight(b, "\x00")) }
	return &header2{off: off, seqid: binary.BigEndian.Uint64(bin[16:]), label: str(bin[24:72]),
		uuid: str(bin[168:208]), json: js}, nil
}

// secondaryOffsets are where a LUKS2 secondary header may lie: right
// after a primary of each allowed size.
func secondaryOffsets() []int64 {
	var out []int64
	for s := int64(minHdr2); s <= maxHdr2; s *= 2 {
		out = append(out, s)
	}
	return out
}

// parse2 reads the newer valid LUKS2 header copy and its JSON metadata.
func (v *Volume) parse2() error {
	var best *header2
	var firstErr error
	try := func(off int64, want []byte, name string) {
		h, err := v.readHeader2(off, want)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		if best == nil || h.seqid > best.seqid {
			best, v.Header = h, name
		}
	}
	try(0, magic1, "LUKS2, primary header")
	for _, off := range secondaryOffsets() {
		if off+bin2Size > v.size {
			break
		}
		try(off, magic2, "LUKS2, secondary header")
	}
	if best == nil {
		return firstErr
	}
	v.Version, v.Label, v.UUID = 2, best.label, best.uuid
	return v.parseJSON(best)
}

// The JSON metadata, as far as reading needs it. Sizes and offsets are
// strings of decimal digits (JSON numbers cannot hold every uint64).
type json2 struct {
	Keyslots map[string]jsonKeyslot `json:"keyslots"`
	Segments map[string]jsonSegment `json:"segments"`
	Digests  map[string]jsonDigest  `json:"digests"`
	Config   struct {
		Requirements struct {
			Mandatory []string `json:"mandatory"`
		} `json:"requirements"`
	} `json:"config"`
}

type jsonKeyslot struct {
	Type     string `json:"type"`
	KeySize  int    `json:"key_size"`
	Priority *int   `json:"priority"`
	AF       struct {
		Type    string `json:"type"`
		Stripes int    `json:"stripes"`
		Hash    string `json:"hash"`
	} `json:"af"`
	Area struct {
		Type       string `json:"type"`
		Offset     string `json:"offset"`
		Size       string `json:"size"`
		Encryption string `json:"encryption"`
		KeySize    int    `json:"key_size"`
	} `json:"area"`
	KDF struct {
		Type       string `json:"type"`
		Hash       string `json:"hash"`
		Iterations int64  `json:"iterations"`
		Time       int64  `json:"time"`
		Memory     int64  `json:"memory"`
		CPUs       int64  `json:"cpus"`
		Salt       string `json:"salt"`
	} `json:"kdf"`
}

type jsonSegment struct {
	Type       string          `json:"type"`
	Offset     string          `json:"offset"`
	Size       string          `json:"size"`
	IVTweak    string          `json:"iv_tweak"`
	Encryption string          `json:"encryption"`
	SectorSize int             `json:"sector_size"`
	Integrity  json.RawMessage `json:"integrity"`
}

type jsonDigest struct {
	Type       string   `json:"type"`
	Keyslots   []string `json:"keyslots"`
	Segments   []string `json:"segments"`
	Hash       string   `json:"hash"`
	Iterations int64    `json:"iterations"`
	Salt       string   `json:"salt"`
	Digest     string   `json:"digest"`
}

func (v *Volume) parseJSON(h *header2) error {
	at := h.off + bin2Size
	var m json2
	if err := json.Unmarshal(h.json, &m); err != nil {
		return formatErr(at, "metadata: %v", err)
	}
	if req := m.Config.Requirements.Mandatory; len(req) > 0 {
		return unsupported("luks: volume requires %q (an interrupted re-encryption?)", req)
	}
	if len(m.Segments) != 1 {
		return unsupported("luks: %d data segments (only one is read: a re-encryption in progress?)", len(m.Segments))
	}
	var segID string
	var seg jsonSegment
	for segID, seg = range m.Segments {
	}
	if seg.Type != "crypt" {
		return unsupported("luks: data segment of type %q", seg.Type)
	}
	if len(seg.Integrity) > 0 && string(seg.Integrity) != "null" {
		return unsupported("luks: authenticated (dm-integrity) segment")
	}
	off, err1 := strconv.ParseInt(seg.Offset, 10, 64)
	tweak, err2 := strconv.ParseUint(cmp(seg.IVTweak, "0"), 10, 64)
	if err1 != nil || err2 != nil || off < 0 || off > v.size {
		return formatErr(at, "data segment offset %q, iv_tweak %q", seg.Offset, seg.IVTweak)
	}
	ss := seg.SectorSize
	if ss < 512 || ss > 4096 || ss&(ss-1) != 0 || off%int64(ss) != 0 {
		return formatErr(at, "data segment sector size %d at byte %d", ss, off)
	}
	size := v.size - off
	if seg.Size != "dynamic" {
		n, err := strconv.ParseInt(seg.Size, 10, 64)
		if err != nil || n < 0 || n > size {
			return formatErr(at, "data segment of %q bytes at byte %d of a %d-byte volume", seg.Size, off, v.size)
		}
		size = n
	}
	v.Cipher, v.sectorSize, v.ivTweak = seg.Encryption, ss, tweak
	v.dataOff, v.dataSize = off, size&^int64(ss-1)

	// The digests that verify a volume key for this segment, and the
	// key slots each covers.
	slotDigest := map[string]*digest{}
	for _, id := range sortedKeys(m.Digests) {
		d := m.Digests[id]
		if d.Type != "pbkdf2" || !slices.Contains(d.Segments, segID) {
			continue
		}
		salt, err1 := base64.StdEncoding.DecodeString(d.Salt)
		val, err2 := base64.StdEncoding.DecodeString(d.Digest)
		if err1 != nil || err2 != nil || len(val) == 0 || len(val) > 64 {
			return formatErr(at, "digest %s: salt or value not base64", id)
		}
		dg := &digest{hash: d.Hash, iterations: d.Iterations, salt: salt, value: val}
		v.digests = append(v.digests, dg)
		for _, ks := range d.Keyslots {
			slotDigest[ks] = dg
		}
	}
	if len(v.digests) == 0 {
		return formatErr(at, "no pbkdf2 digest covers data segment %s", segID)
	}
	for _, id := range sortedKeys(m.Keyslots) {
		js := m.Keyslots[id]
		n, err := strconv.Atoi(id)
		if err != nil || n < 0 {
			return formatErr(at, "key slot %q", id)
		}
		ks := &KeySlot{ID: n, Priority: 1, digest: slotDigest[id]}
		if js.Priority != nil {
			ks.Priority = *js.Priority
		}
		if js.Type != "luks2" || js.AF.Type != "luks1" || js.Area.Type != "raw" {
			ks.Unusable = fmt.Sprintf("key slot of type %q, splitter %q, area %q", js.Type, js.AF.Type, js.Area.Type)
			v.KeySlots = append(v.KeySlots, ks)
			continue
		}
		if ks.digest == nil {
			ks.Unusable = "no digest of the data segment covers it"
			v.KeySlots = append(v.KeySlots, ks)
			continue
		}
		salt, err := base64.StdEncoding.DecodeString(js.KDF.Salt)
		if err != nil {
			return formatErr(at, "key slot %s: salt not base64", id)
		}
		ks.kdf = kdf{typ: js.KDF.Type, hash: js.KDF.Hash, iterations: js.KDF.Iterations, time: js.KDF.Time,
			memory: js.KDF.Memory, threads: js.KDF.CPUs, salt: salt}
		ks.KDF = js.KDF.Type
		if js.KDF.Type == "pbkdf2" {
			ks.KDF += "-" + js.KDF.Hash
		}
		ks.keyBytes, ks.stripes, ks.afHash = js.KeySize, js.AF.Stripes, js.AF.Hash
		ks.areaCipher, ks.areaKeyBytes = js.Area.Encryption, js.Area.KeySize
		a, err1 := strconv.ParseInt(js.Area.Offset, 10, 64)
		s, err2 := strconv.ParseInt(js.Area.Size, 10, 64)
		if err1 != nil || err2 != nil {
			return formatErr(at, "key slot %s: area %q+%q", id, js.Area.Offset, js.Area.Size)
		}
		ks.areaOff, ks.areaSize = a, s
		if err := v.checkSlot(ks, at); err != nil {
			return err
		}
		v.KeySlots = append(v.KeySlots, ks)
	}
	// cryptsetup tries high-priority slots first and "ignore" (0) ones
	// only when asked for by number; here they come last.
	sort.SliceStable(v.KeySlots, func(i, j int) bool {
		return rank(v.KeySlots[i].Priority) > rank(v.KeySlots[j].Priority)
	})
	return nil
}

func rank(p int) int {
	if p == 0 {
		return -1
	}
	return p
}

// checkSlot bounds what a key slot makes the unlocking allocate and read.
func (v *Volume) checkSlot(ks *KeySlot, at int64) error {
	switch {
	case ks.keyBytes <= 0 || ks.keyBytes > maxKeyBytes:
		return formatErr(at, "key slot %d: key of %d bytes", ks.ID, ks.keyBytes)
	case ks.stripes <= 0 || ks.stripes > maxStripes:
		return formatErr(at, "key slot %d: %d stripes", ks.ID, ks.stripes)
	case ks.areaOff < 0 || ks.areaOff > v.size:
		return formatErr(at, "key slot %d: key material at byte %d", ks.ID, ks.areaOff)
	}
	if need := int64(ks.keyBytes) * int64(ks.stripes); ks.areaSize < need || ks.areaSize > v.size-ks.areaOff {
		return formatErr(at, "key slot %d: area of %d bytes at byte %d, the key material needs %d", ks.ID, ks.areaSize, ks.areaOff, need)
	}
	return nil
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(keys[i])
		b, _ := strconv.Atoi(keys[j])
		return a < b || (a == b && keys[i] < keys[j])
	})
	return keys
}

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }
