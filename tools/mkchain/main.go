// Command mkchain turns a series of raw disk states into a Hyper-V style
// differencing chain: a base VHDX holding the first state and one .avhdx
// per later state holding only the sectors that changed. It is how the
// test and demo data are made; GUIDs come from a seed so the files are the
// same on every run.
package main

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ckptfs/ckptfs/vhdx"
)

func main() {
	out := flag.String("o", ".", "output folder")
	name := flag.String("name", "disk", "base name: NAME.vhdx and NAME_<GUID>.avhdx")
	blockSize := flag.Int64("block-size", 0, "block size of the base disk (default 32 MiB)")
	diffBlock := flag.Int64("diff-block-size", 0, "block size of the differencing disks (default 2 MiB)")
	sector := flag.Int64("sector-size", 512, "logical sector size")
	seed := flag.String("seed", "ckptfs", "seed for the GUIDs")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: mkchain [-o DIR] [-name NAME] RAW0 [RAW1 ...]")
		os.Exit(2)
	}
	files, err := build(*out, *name, *seed, *blockSize, *diffBlock, *sector, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkchain:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}

// guid derives a GUID from the seed and a label.
func guid(seed, label string) vhdx.GUID {
	var g vhdx.GUID
	sum := sha256.Sum256([]byte(seed + "\x00" + label))
	copy(g[:], sum[:16])
	g[7] = g[7]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return g
}

func build(dir, name, seed string, bs, dbs, sector int64, raws []string) ([]string, error) {
	var files []string
	var prev []byte
	var parent *vhdx.Disk
	for i, raw := range raws {
		cur, err := os.ReadFile(raw)
		if err != nil {
			return nil, err
		}
		label := fmt.Sprint(i)
		opt := vhdx.CreateOptions{VirtualSize: int64(len(cur)), BlockSize: bs, LogicalSectorSize: sector,
			DiskID: guid(seed, "disk"), DataWriteGUID: guid(seed, "data"+label), FileWriteGUID: guid(seed, "file"+label)}
		path := filepath.Join(dir, name+".vhdx")
		if parent != nil {
			if int64(len(cur)) != parent.VirtualSize {
				return nil, fmt.Errorf("%s: size %d differs from the first state's %d", raw, len(cur), parent.VirtualSize)
			}
			opt.VirtualSize, opt.BlockSize, opt.LogicalSectorSize = 0, dbs, 0
			opt.Parent, opt.ParentPath = parent, parent.Name
			path = filepath.Join(dir, fmt.Sprintf("%s_%s.avhdx", name, guidUpper(guid(seed, "name"+label))))
		}
		if err := writeChanges(path, opt, prev, cur, sector); err != nil {
			return nil, err
		}
		if parent != nil {
			parent.Close()
		}
		if parent, err = vhdx.OpenDisk(path); err != nil {
			return nil, err
		}
		files = append(files, path)
		prev = cur
	}
	parent.Close()
	return files, nil
}

// guidUpper is how Hyper-V writes GUIDs into checkpoint file names.
func guidUpper(g vhdx.GUID) string {
	return string(bytes.ToUpper([]byte(g.String())))
}

// writeChanges writes the sectors of cur that differ from prev (from
// zeros when prev is nil), coalescing neighbours into one write.
func writeChanges(path string, opt vhdx.CreateOptions, prev, cur []byte, sector int64) error {
	w, err := vhdx.Create(path, opt)
	if err != nil {
		return err
	}
	zero := make([]byte, sector)
	changed := func(off int64) bool {
		if prev == nil {
			return !bytes.Equal(cur[off:off+sector], zero)
		}
		return !bytes.Equal(cur[off:off+sector], prev[off:off+sector])
	}
	size := int64(len(cur))
	for off := int64(0); off < size; {
		if !changed(off) {
			off += sector
			continue
		}
		end := off + sector
		for end < size && changed(end) {
			end += sector
		}
		if _, err := w.WriteAt(cur[off:end], off); err != nil {
			w.Close()
			return err
		}
		off = end
	}
	return w.Close()
}
