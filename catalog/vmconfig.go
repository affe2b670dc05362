package catalog

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ckptfs/ckptfs/vhdx"
)

// VMConfig is what ckptfs takes from one VM or checkpoint configuration
// file, whichever its format.
type VMConfig struct {
	File string // path as read
	Name string // properties/name
	// ID is the VM's id: settings/global/logical_id, else properties/global_id,
	// else the file stem when it is a GUID. A checkpoint's configuration
	// carries the id of its VM here (see SnapshotID).
	ID string
	// IsSnapshot is set for a checkpoint's configuration.
	IsSnapshot bool
	// SnapshotID is a checkpoint configuration's own id (the file stem when
	// it is a GUID, else properties/global_id); "" for a VM configuration.
	SnapshotID string
	// ParentSnapshotID names the checkpoint this state was taken from: for
	// a VM configuration its current checkpoint, for a checkpoint its parent.
	// "" when none or unknown.
	ParentSnapshotID string
	// SnapshotIDs lists the checkpoint ids the VM configuration names.
	SnapshotIDs []string
	Generation  int       // 1 or 2; 0 when unknown
	Created     time.Time // properties/creation_time; zero when absent
	Disks       []DiskAttachment
}

// DiskAttachment is one virtual hard disk attached to a VM.
type DiskAttachment struct {
	Controller       string // "IDE" or "SCSI"
	ControllerNumber int    // IDE channel, or index of the SCSI controller
	Location         int    // drive number on the controller
	Path             string // the disk file as the host wrote it (Windows path)
}

// Device class GUIDs of the disk controllers, as the manifest and the
// per-device keys ("_<instance>_") name them.
const (
	ideControllerGUID  = "83f8638b-8dca-4152-9eda-2ca8b33039b4"
	scsiControllerGUID = "d422512d-2bf2-4752-809d-7b82b5fcb1b4"
)

// The keys that name a checkpoint's parent are not in the samples we have
// (none holds a checkpoint). These are GUESSES after the naming of the keys
// that are known (global_id, logical_id, creation_time, snapshots/list):
// the first one present with a GUID value wins.
var parentSnapshotKeys = [][]string{
	{"properties", "parent_snapshot_id"},
	{"properties", "parent_id"},
	{"properties", "parent"},
	{"global_settings", "snapshots", "parent_snapshot_id"},
	{"global_settings", "snapshots", "parent_id"},
	{"global_settings", "snapshots", "parent"},
	{"global_settings", "snapshots", "current_snapshot"},
	{"global_settings", "snapshots", "current"},
}

// ReadVMConfig reads a .vmcx or .xml configuration file and extracts it.
func ReadVMConfig(path string) (*VMConfig, error) { return readVMConfig(Local{}, path) }

// readVMConfig reads a configuration file through src.
func readVMConfig(src Source, path string) (*VMConfig, error) {
	f, err := src.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var root *ConfigNode
	if strings.EqualFold(filepath.Ext(path), ".xml") {
		root, err = ParseVMXML(f, f.Size())
	} else {
		root, err = ParseVMCX(f, f.Size())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, err := ExtractVMConfig(root, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ExtractVMConfig reads the VM facts out of a parsed configuration tree.
// file is the configuration's path: its stem is the id of old-style files,
// and a parent folder named "Snapshots" marks a checkpoint.
func ExtractVMConfig(root *ConfigNode, file string) (*VMConfig, error) {
	cfg := root.Child("configuration")
	props := cfg.Child("properties")
	if props.Child("name") == nil && props.Child("global_id") == nil {
		// A runtime state file (.vmrs) has properties/version only.
		return nil, configErr(0, "no configuration/properties/name: not a VM configuration")
	}
	c := &VMConfig{File: file, Name: props.Child("name").Text()}
	stem := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	stemID := ""
	if _, err := vhdx.ParseGUID(stem); err == nil {
		stemID = strings.ToUpper(stem)
	}
	globalID := cleanGUID(props.Child("global_id").Text())
	logicalID := cleanGUID(cfg.Path("settings", "global", "logical_id").Text())
	c.ID = firstNonEmpty(logicalID, globalID, stemID)
	typeID := props.Child("type_id").Text()
	inSnapshots := strings.EqualFold(filepath.Base(filepath.Dir(file)), "Snapshots")
	// A checkpoint is told apart by a type other than "Virtual Machines"
	// (guessed: no sample), an own id differing from the VM's logical id,
	// or its place in a Snapshots folder.
	c.IsSnapshot = (typeID != "" && !strings.EqualFold(typeID, "Virtual Machines")) ||
		(logicalID != "" && globalID != "" && logicalID != globalID) || inSnapshots
	if c.IsSnapshot {
		c.SnapshotID = firstNonEmpty(stemID, globalID)
		if c.SnapshotID == c.ID && logicalID == "" {
			c.ID = "" // unknown: the VM's id is not in the file
		}
	}
	for _, p := range parentSnapshotKeys {
		if id := cleanGUID(cfg.Path(p...).Text()); id != "" && id != c.SnapshotID {
			c.ParentSnapshotID = id
			break
		}
	}
	for _, n := range cfg.Path("global_settings", "snapshots", "list").List() {
		if id := cleanGUID(n.Text()); id != "" && strings.HasPrefix(strings.ToLower(n.Key), "guid") {
			c.SnapshotIDs = append(c.SnapshotIDs, id)
		}
	}
	if st, ok := props.Child("subtype").Integer(); ok && st >= 0 && st <= 1 {
		c.Generation = int(st) + 1
	}
	c.Created = configTime(props.Child("creation_time"))
	c.Disks = diskAttachments(cfg)
	return c, nil
}

// diskAttachments lists the hard disks in controller order: IDE channels
// first, then SCSI controllers in manifest order, each by drive number.
func diskAttachments(cfg *ConfigNode) []DiskAttachment {
	type ctrl struct {
		kind     string
		instance string
	}
	var ctrls []ctrl
	seen := map[string]bool{}
	add := func(kind, inst string) {
		inst = strings.ToLower(strings.Trim(inst, "{}_"))
		if inst != "" && !seen[inst] {
			seen[inst] = true
			ctrls = append(ctrls, ctrl{kind, inst})
		}
	}
	// The IDE controller's instance is its class GUID on every host seen.
	add("IDE", ideControllerGUID)
	for _, v := range cfg.Child("manifest").List() {
		switch strings.ToLower(v.Child("device").Text()) {
		case ideControllerGUID:
			add("IDE", v.Child("instance").Text())
		case scsiControllerGUID:
			add("SCSI", v.Child("instance").Text())
		}
	}
	var out []DiskAttachment
	scsi := 0
	for _, c := range ctrls {
		dev := cfg.Child("_" + c.instance + "_")
		if dev == nil {
			continue
		}
		for _, cn := range dev.Children {
			num, ok := numberedKey(cn.Key, "controller")
			if !ok {
				continue
			}
			for _, dn := range cn.Children {
				loc, ok := numberedKey(dn.Key, "drive")
				path := dn.Child("pathname").Text()
				if !ok || path == "" || !strings.EqualFold(dn.Child("type").Text(), "VHD") {
					continue
				}
				a := DiskAttachment{Controller: c.kind, ControllerNumber: num, Location: loc, Path: path}
				if c.kind == "SCSI" {
					// Each SCSI controller is its own device with one
					// "controller0"; number them in manifest order.
					a.ControllerNumber = scsi + num
				}
				out = append(out, a)
			}
		}
		if c.kind == "SCSI" {
			scsi++
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Controller != b.Controller {
			return a.Controller == "IDE"
		}
		if a.ControllerNumber != b.ControllerNumber {
			return a.ControllerNumber < b.ControllerNumber
		}
		return a.Location < b.Location
	})
	return out
}

// numberedKey parses keys like "controller1" or "drive0".
func numberedKey(key, prefix string) (int, bool) {
	if len(key) <= len(prefix) || !strings.EqualFold(key[:len(prefix)], prefix) {
		return 0, false
	}
	n, err := strconv.Atoi(key[len(prefix):])
	return n, err == nil && n >= 0 && n < 1<<16
}

// configTime reads a Windows FILETIME (100 ns ticks since 1601), stored as
// 8 little-endian bytes in the samples, or as an integer.
func configTime(n *ConfigNode) time.Time {
	var ticks int64
	switch {
	case n == nil:
		return time.Time{}
	case n.Kind == KindBytes && len(n.Bytes) == 8:
		ticks = int64(binary.LittleEndian.Uint64(n.Bytes))
	default:
		v, ok := n.Integer()
		if !ok {
			return time.Time{}
		}
		ticks = v
	}
	return filetime(ticks)
}

// filetime converts FILETIME ticks; zero and out-of-range values give the
// zero time.
func filetime(ticks int64) time.Time {
	const epochDiff = 116444736000000000                   // ticks from 1601 to 1970
	if ticks <= epochDiff || ticks > 2650467743990000000 { // after year 9999
		return time.Time{}
	}
	t := ticks - epochDiff
	return time.Unix(t/1e7, (t%1e7)*100).UTC()
}

// cleanGUID returns the upper-case GUID text of s, or "" when s is not a
// non-zero GUID.
func cleanGUID(s string) string {
	g, err := vhdx.ParseGUID(s)
	if err != nil || g.IsZero() {
		return ""
	}
	return strings.ToUpper(g.String())
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
