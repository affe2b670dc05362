package catalog

import (
	"fmt"
	"path/filepath"
	"strings"
)

// diskExts and configExts are the file name extensions looked at, compared
// case-insensitively (copies from Windows keep any case).
var (
	diskExts   = map[string]bool{".vhdx": true, ".avhdx": true, ".vhd": true, ".avhd": true}
	configExts = map[string]bool{".vmcx": true, ".xml": true}
)

func isDiskFile(name string) bool   { return diskExts[strings.ToLower(filepath.Ext(name))] }
func isConfigFile(name string) bool { return configExts[strings.ToLower(filepath.Ext(name))] }

// maxScanDepth bounds how deep the scan descends: VM folders are a few
// levels deep; a deeper tree is a mistake or hostile.
const maxScanDepth = 64

// scanFolder walks root and returns the disk files and candidate
// configuration files under it, in lexical order (a folder's entries in
// name order, each subfolder where it sorts). Symbolic links to folders
// are not followed, so a link cannot make the walk loop; disk files
// reached through a link come after the real files, so a file keeps its
// own name; names that are not regular files (FIFOs, devices, sockets)
// are skipped; at most maxFiles files are taken.
func scanFolder(src Source, root string, maxFiles int) (disks, configs []string, err error) {
	n := 0
	var linked []string
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		ents, err := src.ReadDir(dir)
		if err != nil {
			if depth == 0 {
				return err
			}
			return nil // an unreadable subfolder hides only what is in it
		}
		for _, e := range ents {
			switch {
			case e.IsDir && !e.Link && depth < maxScanDepth:
				if err := walk(e.Name, depth+1); err != nil {
					return err
				}
				continue
			case e.IsDir || !e.Usable:
				continue
			case isDiskFile(e.Name) && e.Link:
				linked = append(linked, e.Name)
			case isDiskFile(e.Name):
				disks = append(disks, e.Name)
			case isConfigFile(e.Name):
				configs = append(configs, e.Name)
			default:
				continue
			}
			if n++; n > maxFiles {
				return fmt.Errorf("%s: more than %d disk and configuration files", root, maxFiles)
			}
		}
		return nil
	}
	err = walk(root, 0)
	return append(disks, linked...), configs, err
}

// stem is a file's base name without its extension.
func stem(path string) string {
	b := filepath.Base(path)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// winBase returns the last element of a Windows or POSIX path.
func winBase(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	return p
}
