package bitlocker

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"
)

// volSpec is one built volume of the tests: BuildTestVolume's options
// around noise with an NTFS-like boot sector (Vista needs its fields).
type volSpec struct {
	kind       Kind
	method     Method
	sectorSize int
	size       int64 // 4 MiB when zero
	encrypted  int64
	state      State
	convert    int64
	clearKey   bool
	password   string
	recovery   bool
	startup    bool
	seed       uint64
}

type builtVol struct {
	spec     volSpec
	img      []byte
	want     []byte
	bek      []byte
	recovery string
	vmk      []byte
	offsets  [3]int64
	block    []byte
}

func buildVolume(t testing.TB, spec volSpec) *builtVol {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	if bv, ok := built.m[spec]; ok {
		return bv
	}
	bv := buildVolumeOnce(t, spec)
	built.m[spec] = bv
	return bv
}

// built keeps the volumes built so far: several tests read the same
// specs, and building (sector by sector, block by block) is much of the
// package's test time under the race detector. Nobody writes to them.
var built = struct {
	sync.Mutex
	m map[volSpec]*builtVol
}{m: map[volSpec]*builtVol{}}

func buildVolumeOnce(t testing.TB, spec volSpec) *builtVol {
	if spec.size == 0 {
		spec.size = 4 << 20
	}
	ss := int64(spec.sectorSize)
	rng := rand.New(rand.NewPCG(spec.seed, 99))
	plain := make([]byte, spec.size)
	fill(rng, plain)
	copy(plain, "\xeb\x52\x90NTFS    ")
	clear(plain[0x0b:0x40])
	binary.LittleEndian.PutUint16(plain[hdrSectorSize:], uint16(ss))
	plain[hdrCluster] = 8
	plain[0x15] = 0xf8
	binary.LittleEndian.PutUint64(plain[0x28:], uint64(spec.size/ss-1)) // sectors, backup boot sector excluded
	binary.LittleEndian.PutUint64(plain[0x30:], 4)
	binary.LittleEndian.PutUint64(plain[hdrVistaLCN:], vistaMFTMirror)
	plain[510], plain[511] = 0x55, 0xaa
	enc := spec.encrypted
	if enc == 0 {
		enc = spec.size
	}
	if spec.kind == KindVista {
		last := (enc/ss - 1) * ss
		copy(plain[last:last+ss], plain[:ss]) // NTFS's backup boot sector
	}
	offs := [3]int64{1 << 20, 2 << 20, 3 << 20}
	bv, err := BuildTestVolume(plain, BuildOptions{Kind: spec.kind, Method: spec.method, SectorSize: spec.sectorSize,
		EncryptedSize: spec.encrypted, State: spec.state, ConvertSize: spec.convert, ClearKey: spec.clearKey,
		Password: spec.password, RecoveryPassword: spec.recovery, StartupKey: spec.startup,
		MetadataOffsets: offs, Seed: spec.seed})
	if err != nil {
		t.Fatal(err)
	}
	return &builtVol{spec: spec, img: bv.Image, want: bv.View, bek: bv.StartupKeyFile, recovery: bv.RecoveryPassword,
		vmk: bv.vmk, offsets: offs, block: bv.block}
}

func (bv *builtVol) keys(t testing.TB) map[string]Key {
	t.Helper()
	keys := map[string]Key{}
	if bv.spec.clearKey {
		keys["clear key"] = Key{}
	}
	if bv.spec.password != "" {
		keys["password"] = Password(bv.spec.password)
	}
	if bv.recovery != "" {
		k, err := RecoveryPassword(bv.recovery)
		if err != nil {
			t.Fatal(err)
		}
		keys["recovery password"] = k
	}
	if bv.bek != nil {
		k, err := StartupKey(bv.bek)
		if err != nil {
			t.Fatal(err)
		}
		keys["startup key"] = k
	}
	return keys
}
