package errclass_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/ckptfs/ckptfs/btrfs"
	"go/ast"
	"go/parser"
	"go/token"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ckptfs/ckptfs/bitlocker"
	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/diff"
	"github.com/ckptfs/ckptfs/exfat"
	"github.com/ckptfs/ckptfs/export"
	"github.com/ckptfs/ckptfs/ext"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/internal/errclass"
	"github.com/ckptfs/ckptfs/internal/jbd2"
	"github.com/ckptfs/ckptfs/internal/lzx"
	"github.com/ckptfs/ckptfs/internal/srcfile"
	"github.com/ckptfs/ckptfs/internal/xpress"
	"github.com/ckptfs/ckptfs/ldm"
	"github.com/ckptfs/ckptfs/luks"
	"github.com/ckptfs/ckptfs/merge"
	"github.com/ckptfs/ckptfs/mount"
	"github.com/ckptfs/ckptfs/nbd"
	"github.com/ckptfs/ckptfs/ntfs"
	"github.com/ckptfs/ckptfs/regf"
	"github.com/ckptfs/ckptfs/remote"
	"github.com/ckptfs/ckptfs/vhdx"
	"github.com/ckptfs/ckptfs/vss"
	"github.com/ckptfs/ckptfs/xfs"
)

// sentinels is every exported Err* variable of the module with the class
// it must have. TestEverySentinelListed finds them in the sources, so a
// new sentinel fails the test until it is given a class here and in the
// table of errclass.go (or is made with errclass.New).
var sentinels = map[string]struct {
	err   error
	class errclass.Class
}{
	"catalog.ErrConfig":         {catalog.ErrConfig, errclass.BadImage},
	"catalog.ErrNotFound":       {catalog.ErrNotFound, errclass.NotFound},
	"catalog.ErrAmbiguous":      {catalog.ErrAmbiguous, errclass.Usage},
	"catalog.ErrNoDisks":        {catalog.ErrNoDisks, errclass.NotFound},
	"catalog.ErrNotDisk":        {catalog.ErrNotDisk, errclass.BadImage},
	"catalog.ErrNotFile":        {catalog.ErrNotFile, errclass.BadImage},
	"catalog.ErrLocked":         {catalog.ErrLocked, errclass.Refused},
	"catalog.ErrJournal":        {catalog.ErrJournal, errclass.BadImage},
	"catalog.ErrMerging":        {catalog.ErrMerging, errclass.Refused},
	"srcfile.ErrNotFile":        {srcfile.ErrNotFile, errclass.BadImage},
	"diff.ErrInput":             {diff.ErrInput, errclass.Usage},
	"export.ErrExists":          {export.ErrExists, errclass.Refused},
	"export.ErrVerify":          {export.ErrVerify, errclass.BadImage},
	"export.ErrOptions":         {export.ErrOptions, errclass.Usage},
	"btrfs.ErrFormat":           {btrfs.ErrFormat, errclass.BadImage},
	"btrfs.ErrChecksum":         {btrfs.ErrChecksum, errclass.BadImage},
	"btrfs.ErrLoop":             {btrfs.ErrLoop, errclass.BadImage},
	"btrfs.ErrRange":            {btrfs.ErrRange, errclass.BadImage},
	"btrfs.ErrUnsupported":      {btrfs.ErrUnsupported, errclass.Unsupported},
	"btrfs.ErrDevices":          {btrfs.ErrDevices, errclass.Unsupported},
	"guest.ErrFormat":           {guest.ErrFormat, errclass.BadImage},
	"guest.ErrUnsupported":      {guest.ErrUnsupported, errclass.Unsupported},
	"guest.ErrOutOfRange":       {guest.ErrOutOfRange, errclass.BadImage},
	"merge.ErrRefused":          {merge.ErrRefused, errclass.Refused},
	"merge.ErrLocked":           {merge.ErrLocked, errclass.Refused},
	"mount.ErrInsideSource":     {mount.ErrInsideSource, errclass.Refused},
	"mount.ErrLocked":           {mount.ErrLocked, errclass.Refused},
	"mount.ErrOption":           {mount.ErrOption, errclass.Usage},
	"mount.ErrNotEmpty":         {mount.ErrNotEmpty, errclass.Refused},
	"ntfs.ErrFormat":            {ntfs.ErrFormat, errclass.BadImage},
	"ntfs.ErrFixup":             {ntfs.ErrFixup, errclass.BadImage},
	"ntfs.ErrUnsupported":       {ntfs.ErrUnsupported, errclass.Unsupported},
	"ntfs.ErrLoop":              {ntfs.ErrLoop, errclass.BadImage},
	"ntfs.ErrRange":             {ntfs.ErrRange, errclass.BadImage},
	"ntfs.ErrDeduplicated":      {ntfs.ErrDeduplicated, errclass.Unsupported},
	"xpress.ErrFormat":          {xpress.ErrFormat, errclass.BadImage},
	"lzx.ErrFormat":             {lzx.ErrFormat, errclass.BadImage},
	"guest.ErrLocked":           {guest.ErrLocked, errclass.Unsupported},
	"guest.ErrMissingPV":        {guest.ErrMissingPV, errclass.Unsupported},
	"remote.ErrBadURL":          {remote.ErrBadURL, errclass.Usage},
	"remote.ErrNoRanges":        {remote.ErrNoRanges, errclass.Unsupported},
	"remote.ErrChanged":         {remote.ErrChanged, errclass.Failure},
	"remote.ErrUnavailable":     {remote.ErrUnavailable, errclass.Failure},
	"guest.ErrBadKey":           {guest.ErrBadKey, errclass.Usage},
	"bitlocker.ErrNotBitLocker": {bitlocker.ErrNotBitLocker, errclass.BadImage},
	"bitlocker.ErrFormat":       {bitlocker.ErrFormat, errclass.BadImage},
	"bitlocker.ErrChecksum":     {bitlocker.ErrChecksum, errclass.BadImage},
	"bitlocker.ErrUnsupported":  {bitlocker.ErrUnsupported, errclass.Unsupported},
	"bitlocker.ErrBadKey":       {bitlocker.ErrBadKey, errclass.Usage},
	"bitlocker.ErrWrongKey":     {bitlocker.ErrWrongKey, errclass.Usage},
	"luks.ErrNotLUKS":           {luks.ErrNotLUKS, errclass.BadImage},
	"luks.ErrFormat":            {luks.ErrFormat, errclass.BadImage},
	"luks.ErrChecksum":          {luks.ErrChecksum, errclass.BadImage},
	"luks.ErrUnsupported":       {luks.ErrUnsupported, errclass.Unsupported},
	"luks.ErrWrongKey":          {luks.ErrWrongKey, errclass.Usage},
	"regf.ErrFormat":            {regf.ErrFormat, errclass.BadImage},
	"regf.ErrNotFound":          {regf.ErrNotFound, errclass.NotFound},
	"vss.ErrNoShadows":          {vss.ErrNoShadows, errclass.NotFound},
	"vss.ErrFormat":             {vss.ErrFormat, errclass.BadImage},
	"vss.ErrLoop":               {vss.ErrLoop, errclass.BadImage},
	"vss.ErrUnsupported":        {vss.ErrUnsupported, errclass.Unsupported},
	"vss.ErrNotStorage":         {vss.ErrNotStorage, errclass.Usage},
	"jbd2.ErrFormat":            {jbd2.ErrFormat, errclass.BadImage},
	"jbd2.ErrChecksum":          {jbd2.ErrChecksum, errclass.BadImage},
	"jbd2.ErrUnsupported":       {jbd2.ErrUnsupported, errclass.Unsupported},
	"xfs.ErrFormat":             {xfs.ErrFormat, errclass.BadImage},
	"exfat.ErrFormat":           {exfat.ErrFormat, errclass.BadImage},
	"exfat.ErrChecksum":         {exfat.ErrChecksum, errclass.BadImage},
	"exfat.ErrUnsupported":      {exfat.ErrUnsupported, errclass.Unsupported},
	"ldm.ErrFormat":             {ldm.ErrFormat, errclass.BadImage},
	"ldm.ErrNotLDM":             {ldm.ErrNotLDM, errclass.BadImage},
	"ldm.ErrUnsupported":        {ldm.ErrUnsupported, errclass.Unsupported},
	"ldm.ErrMissingDisk":        {ldm.ErrMissingDisk, errclass.Unsupported},
	"ext.ErrFormat":             {ext.ErrFormat, errclass.BadImage},
	"ext.ErrUnsupported":        {ext.ErrUnsupported, errclass.Unsupported},
	"xfs.ErrChecksum":           {xfs.ErrChecksum, errclass.BadImage},
	"xfs.ErrUnsupported":        {xfs.ErrUnsupported, errclass.Unsupported},
	"xfs.ErrLoop":               {xfs.ErrLoop, errclass.BadImage},
	"xfs.ErrRange":              {xfs.ErrRange, errclass.BadImage},
	"nbd.ErrConfig":             {nbd.ErrConfig, errclass.Failure},
	"vhdx.ErrFormat":            {vhdx.ErrFormat, errclass.BadImage},
	"vhdx.ErrChecksum":          {vhdx.ErrChecksum, errclass.BadImage},
	"vhdx.ErrUnsupported":       {vhdx.ErrUnsupported, errclass.Unsupported},
	"vhdx.ErrParent":            {vhdx.ErrParent, errclass.Chain},
	"vhdx.ErrLog":               {vhdx.ErrLog, errclass.BadImage},
	"vhdx.ErrReadOnly":          {vhdx.ErrReadOnly, errclass.Failure},
	"vhdx.ErrHeld":              {vhdx.ErrHeld, errclass.Failure},
}

// exportedSentinels reads every non-test Go file of the module and
// returns "pkg.ErrX" for each exported package-level variable named Err*.
func exportedSentinels(t *testing.T) []string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	var found []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == "testdata" || strings.HasPrefix(n, ".") || n == "tools") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, name := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(name.Name, "Err") && name.IsExported() {
						found = append(found, f.Name.Name+"."+name.Name)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(found)
	return slices.Compact(found)
}

func TestEverySentinelListed(t *testing.T) {
	found := exportedSentinels(t)
	if len(found) < 20 {
		t.Fatalf("only %d sentinels found: %q", len(found), found)
	}
	for _, name := range found {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("%s has no class: add it to errclass.go's table (or make it with errclass.New) and to this test", name)
		}
	}
	for name := range sentinels {
		if !slices.Contains(found, name) {
			t.Errorf("%s is listed here but not in the sources", name)
		}
	}
}

func TestClasses(t *testing.T) {
	for name, s := range sentinels {
		wrapped := fmt.Errorf("disk x.vhdx: reading: %w", s.err)
		if got := errclass.Of(wrapped); got != s.class {
			t.Errorf("%s: class %v, want %v", name, got, s.class)
		}
		if got := errclass.ExitCode(wrapped); got != int(s.class) {
			t.Errorf("%s: exit %d, want %d", name, got, s.class)
		}
		if strings.HasSuffix(name, ".ErrUnsupported") {
			if !errors.Is(s.err, errors.ErrUnsupported) {
				t.Errorf("%s does not wrap errors.ErrUnsupported", name)
			}
			if got := errclass.Errno(wrapped); got != syscall.EOPNOTSUPP {
				t.Errorf("%s: errno %v", name, got)
			}
		}
	}
	for _, c := range []struct {
		err   error
		exit  int
		errno syscall.Errno
	}{
		{nil, 0, 0},
		{iofs.ErrNotExist, 6, syscall.ENOENT},
		{iofs.ErrPermission, 1, syscall.EACCES},
		{iofs.ErrInvalid, 2, syscall.EINVAL},
		{iofs.ErrExist, 8, syscall.EPERM},
		{context.Canceled, 130, syscall.EINTR},
		{errors.ErrUnsupported, 7, syscall.EOPNOTSUPP},
		{syscall.ENXIO, 1, syscall.ENXIO},
		{errors.New("disk on fire"), 1, syscall.EIO},
		{&ntfs.FormatError{Off: 4096, What: "torn record", Err: ntfs.ErrFixup}, 4, syscall.EIO},
		{&ntfs.FormatError{Off: -1, What: "EFS-encrypted", Err: ntfs.ErrUnsupported}, 7, syscall.EOPNOTSUPP},
		{&vhdx.FormatError{Off: 0, What: "no signature"}, 4, syscall.EIO},
		{fmt.Errorf("%w: %w", vhdx.ErrParent, vhdx.ErrFormat), 5, syscall.EIO},
		{fmt.Errorf("%w: %w", export.ErrExists, iofs.ErrExist), 8, syscall.EPERM},
	} {
		if got := errclass.ExitCode(c.err); got != c.exit {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.exit)
		}
		if got := errclass.Errno(c.err); got != c.errno {
			t.Errorf("Errno(%v) = %v, want %v", c.err, got, c.errno)
		}
	}
}
