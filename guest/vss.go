package guest

import (
	"errors"
	"fmt"

	"github.com/ckptfs/ckptfs/vss"
)

// Volume Shadow Copies: every store of an NTFS volume becomes a sibling
// volume named ShadowName(volume, created), read through package vss.

func init() {
	registerLayer(Layer{Name: "vss", Siblings: shadowSiblings})
}

// ShadowSource says where a stretch of a shadow copy's bytes comes from.
type ShadowSource uint8

const (
	// ShadowLive: the live volume's bytes at the same offset.
	ShadowLive ShadowSource = iota
	// ShadowCopied: bytes a store kept; they may differ from the live
	// volume's.
	ShadowCopied
	// ShadowZero: a block the copy did not use; it reads as zeros.
	ShadowZero
)

// ShadowExtent is a stretch of a shadow copy's volume and where its bytes
// come from.
type ShadowExtent struct {
	Off, Len int64
	Source   ShadowSource
}

// ShadowExtents describes [off, off+n) of a shadow copy as sorted,
// adjacent extents, so that a diff against the live volume reads only what
// the stores hold and a raw image shows unused blocks as holes. Its cost
// follows the number of blocks the stores list, not n. ok is false when v
// is not a readable shadow copy.
func (v *Volume) ShadowExtents(off, n int64) (exts []ShadowExtent, ok bool) {
	r, ok := v.Reader.(*vss.Reader)
	if !ok {
		return nil, false
	}
	for _, e := range r.Extents(off, n) {
		src := ShadowCopied
		switch e.Source {
		case vss.Live:
			src = ShadowLive
		case vss.Zero:
			src = ShadowZero
		}
		exts = append(exts, ShadowExtent{Off: e.Off, Len: e.Len, Source: src})
	}
	return exts, true
}

// shadowSiblings lists the stores of an NTFS volume as volumes. A volume
// whose stores keep their data on another volume is resolved once every
// volume of the disk is open (see resolveShadowStorage).
func shadowSiblings(v *Volume, _ *Options) ([]*Volume, error) {
	if v.FSType != fsNTFS || v.IsShadow() || v.Reader == nil {
		return nil, nil
	}
	sv, err := vss.NewVolume(v.Reader, v.Size)
	if errors.Is(err, vss.ErrNoShadows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(sv.Stores()) == 0 {
		return nil, nil
	}
	if sv.External() {
		v.pendingShadows = func(peers []*Volume) ([]*Volume, error) {
			return externalShadows(v, sv, peers)
		}
		return nil, nil
	}
	return shadowVolumes(v, sv)
}

// shadowVolumes opens every store of sv, a volume's catalog.
func shadowVolumes(v *Volume, sv *vss.Volume) ([]*Volume, error) {
	var out []*Volume
	for _, s := range sv.Stores() {
		sh := &Volume{Name: ShadowName(v.Name, s.Created), ShadowOf: v.Name, Created: s.Created,
			ShadowID: s.ID.String(), ShadowOffline: s.Offline()}
		r, err := s.Open()
		if err != nil {
			sh.Err = fmt.Errorf("%s: store %s: %w", sh.Name, s.ID, err)
			sh.Size = s.VolumeSize
			out = append(out, sh)
			continue
		}
		sh.Reader, sh.Size = r, r.Size()
		out = append(out, sh)
	}
	return out, nil
}

// externalShadows finds, among the other volumes of the disk, the one
// whose shadow copy header names it v's storage volume, and opens v's
// stores with their data there.
func externalShadows(v *Volume, sv *vss.Volume, peers []*Volume) ([]*Volume, error) {
	for _, p := range peers {
		if p == v || p.Reader == nil || p.IsShadow() {
			continue
		}
		if id, err := vss.VolumeID(p.Reader, p.Size); err != nil || id != sv.StorageID() {
			continue
		}
		if err := sv.AttachStorage(p.Reader, p.Size); err != nil {
			return nil, fmt.Errorf("store data on %s: %w", p.Name, err)
		}
		return shadowVolumes(v, sv)
	}
	return nil, fmt.Errorf("the shadow copies keep their data on volume %s, which is not on this disk: %w",
		sv.StorageID(), ErrUnsupported)
}

// resolveShadowStorage opens the shadow copies left pending by volumes
// whose stores live on another volume of the same disk, and returns vols
// with them added after their volume.
func resolveShadowStorage(vols []*Volume, o *Options) []*Volume {
	var out []*Volume
	for _, v := range vols {
		out = append(out, v)
		if v.pendingShadows == nil {
			continue
		}
		found, err := v.pendingShadows(vols)
		v.pendingShadows = nil
		out = append(out, addSiblings(v, "vss", found, err, o)...)
	}
	return out
}
