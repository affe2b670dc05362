package catalog

// The entries of a checkpoint directory, as the mount shows them and as
// `ckptfs cat/cp SRC CHECKPOINT PATH` and `ckptfs serve` take them:
//
//	disks/<disk>.raw         each disk at the checkpoint
//	<volume>/...             the files of each readable volume
//	volumes/<volume>.raw     each volume's own bytes
//	shadows/<volume>/...     the files of each shadow copy
//	checkpoint.json          what the checkpoint is and holds
//
// <disk> is the disk's name and <volume> the volume's (package guest makes
// volume names from disk names: "<disk>-p2"), each made safe and unique
// by a CheckpointNamer, the one rule every command follows.
const (
	DisksDir       = "disks"
	VolumesDir     = "volumes"
	ShadowsDir     = "shadows"
	CheckpointJSON = "checkpoint.json"
	RawSuffix      = ".raw"
)

// CheckpointNamer names the disks and volumes of one checkpoint. Disk
// names are unique among the disks; volume names among the volumes and
// the fixed entries above, so that a volume directory never hides one of
// them. Name the disks, and each disk's volumes, in catalog order (the
// order of Checkpoint.Disks, then of guest.Volumes): the " (2)" suffix of
// a clash goes to the later one.
type CheckpointNamer struct {
	disks, volumes Namer
}

// NewCheckpointNamer returns a namer for one checkpoint directory.
func NewCheckpointNamer() *CheckpointNamer {
	n := &CheckpointNamer{}
	for _, r := range []string{DisksDir, VolumesDir, ShadowsDir, CheckpointJSON} {
		n.volumes.Reserve(r)
	}
	return n
}

// Disk returns the name of a disk: disks/<name>.raw, and the prefix of its
// volumes' names.
func (n *CheckpointNamer) Disk(name string) string { return n.disks.Name(name) }

// Volume returns the name of a volume (guest.Volume.Name): its directory
// (or shadows/ directory) and volumes/<name>.raw.
func (n *CheckpointNamer) Volume(name string) string { return n.volumes.Name(name) }
