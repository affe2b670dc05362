package catalog

import (
	"fmt"
	"io/fs"
	"os"
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

// scanFolder walks root and returns the disk files and candidate
// configuration files under it, in lexical order. Symbolic links to
// folders are not followed (WalkDir never does), so a link cannot make
// the walk loop; at most maxFiles files are taken.
func scanFolder(root string, maxFiles int) (disks, configs []string, err error) {
	n := 0
	var linked []string // after real files, so a file keeps its own name
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // an unreadable subfolder hides only what is in it
		}
		if d.IsDir() || !isRegular(path, d) {
			return nil
		}
		switch {
		case isDiskFile(path) && d.Type()&fs.ModeSymlink != 0:
			linked = append(linked, path)
		case isDiskFile(path):
			disks = append(disks, path)
		case isConfigFile(path):
			configs = append(configs, path)
		default:
			return nil
		}
		if n++; n > maxFiles {
			return fmt.Errorf("%s: more than %d disk and configuration files", root, maxFiles)
		}
		return nil
	})
	return append(disks, linked...), configs, err
}

// isRegular accepts regular files and symbolic links to them (copies of
// VM folders use links); devices, sockets and links to folders are skipped.
func isRegular(path string, d fs.DirEntry) bool {
	if d.Type().IsRegular() {
		return true
	}
	if d.Type()&fs.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
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
