package mount

import (
	"sort"

	"github.com/ckptfs/ckptfs/catalog"
)

// DiskFiles lists every layer file of every disk of cat, once, sorted:
// the files a server of cat (mount, serve) holds shared locks on.
func DiskFiles(cat *catalog.Catalog) []string {
	seen := map[string]bool{}
	for _, vm := range cat.VMs {
		for _, c := range vm.Checkpoints {
			for _, d := range c.Disks {
				if d.Chain == nil {
					continue
				}
				for _, l := range d.Chain.Layers {
					if l != nil && l.Name != "" {
						seen[l.Name] = true
					}
				}
			}
		}
	}
	files := make([]string, 0, len(seen))
	for f := range seen {
		files = append(files, f)
	}
	sort.Strings(files)
	return files
}
