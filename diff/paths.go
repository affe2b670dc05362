package diff

import (
	"fmt"
	"sort"

	"github.com/ckptfs/ckptfs/ntfs"
)

// maxDepth bounds the walk from a file up to the root, against loops in
// damaged parent references.
const maxDepth = 1024

// pathCache builds the paths of files from their $FILE_NAME parent
// references, remembering each directory's path.
type pathCache struct {
	vol  *ntfs.Volume
	dirs map[ntfs.Ref]dirPath
}

// dirPath is a directory's path, or hidden for metadata directories
// ($Extend) and directories that are gone.
type dirPath struct {
	path   string
	hidden bool
}

func newPathCache(v *ntfs.Volume) *pathCache {
	return &pathCache{vol: v, dirs: map[ntfs.Ref]dirPath{}}
}

// pathsOf returns the visible paths of a file, one per hard link (DOS 8.3
// names left out), sorted. Metadata files have none.
func (pc *pathCache) pathsOf(fi *ntfs.FileRecordInfo) ([]string, error) {
	if fi.Ref.Record < firstUserRecord {
		return nil, nil
	}
	var out []string
	for _, n := range fi.Names {
		if n.Namespace == ntfs.NamespaceDOS {
			continue
		}
		dir, err := pc.dir(n.Parent, 0)
		if err != nil {
			return nil, err
		}
		if dir.hidden {
			continue
		}
		out = append(out, join(dir.path, n.Name))
	}
	sort.Strings(out)
	return out, nil
}

// dir resolves the path of directory ref.
func (pc *pathCache) dir(ref ntfs.Ref, depth int) (dirPath, error) {
	if ref.Record == rootRecord {
		return dirPath{}, nil
	}
	if ref.Record < firstUserRecord {
		return dirPath{hidden: true}, nil
	}
	if d, ok := pc.dirs[ref]; ok {
		return d, nil
	}
	if depth > maxDepth {
		return dirPath{}, fmt.Errorf("directory %s: parent references nest deeper than %d", ref, maxDepth)
	}
	fi, err := pc.vol.Record(ref.Record)
	if err != nil {
		return dirPath{}, err
	}
	d := dirPath{hidden: true}
	if fi.InUse && fi.Dir && (ref.Seq == 0 || ref.Seq == fi.Ref.Seq) {
		for _, n := range fi.Names {
			if n.Namespace == ntfs.NamespaceDOS {
				continue
			}
			parent, err := pc.dir(n.Parent, depth+1)
			if err != nil {
				return dirPath{}, err
			}
			d = dirPath{path: join(parent.path, n.Name), hidden: parent.hidden}
			break
		}
	}
	pc.dirs[ref] = d
	return d, nil
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
