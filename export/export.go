// Package export writes the content of a disk at one checkpoint into a new
// standalone file: a dynamic VHDX that allocates only blocks holding data,
// a sparse raw image, or (incremental) a differencing VHDX over the export
// of an earlier checkpoint holding only the ranges that differ.
//
// The output is written to a temporary file in the destination's folder,
// synced, optionally verified, and only then renamed into place, so OUT is
// either absent, its old self (with Force), or complete.
package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ckptfs/ckptfs/vhdx"
)

// Output formats.
const (
	FormatVHDX = "vhdx"
	FormatRaw  = "raw"
)

// Sentinel errors; every error Run returns for a refused request wraps one.
var (
	// ErrExists means OUT exists and Options.Force was not given.
	ErrExists = errors.New("export: output exists")
	// ErrVerify means the written file does not read back as the source.
	ErrVerify = errors.New("export: verification failed")
	// ErrOptions means the options contradict each other or the source.
	ErrOptions = errors.New("export: invalid options")
)

// Options tunes Run.
type Options struct {
	// Format is FormatVHDX (default) or FormatRaw.
	Format string
	// BlockSize of the VHDX written; 0 means 32 MiB for a standalone disk
	// (as Hyper-V) and 2 MiB for an incremental one (as Hyper-V's checkpoints).
	BlockSize int64
	// SectorSize is the logical sector size of the VHDX written; 0 keeps the
	// source's (when it tells it, see SectorSizer), else 512.
	SectorSize int64
	// Force allows replacing an existing OUT.
	Force bool
	// Verify re-reads the written file and compares its SHA-256 with the
	// source's before OUT is put in place.
	Verify bool
	// Base makes an incremental export: a differencing VHDX whose parent is
	// BaseFile, holding only what differs between Base and the source.
	// Base is the content BaseFile holds (the earlier checkpoint); BaseFile
	// must be a VHDX (an earlier export, or the checkpoint's own disk file).
	Base     vhdx.Image
	BaseFile string
	// Progress, when set, is called now and then with the virtual bytes
	// done so far and the virtual size.
	Progress func(done, total int64)
}

// SectorSizer is implemented by sources that know their logical sector
// size (*vhdx.Chain does).
type SectorSizer interface {
	SectorSize() int64
}

// Result says what Run wrote.
type Result struct {
	Path        string `json:"path"`
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual_size"`
	// DataBytes counts the virtual bytes written as data (holes and, for an
	// incremental export, unchanged ranges are not written).
	DataBytes int64 `json:"data_bytes"`
	// FileSize is the output's apparent size, Allocated the bytes the file
	// system holds for it (st_blocks × 512).
	FileSize  int64 `json:"file_size"`
	Allocated int64 `json:"allocated"`
	// Parent is the incremental export's parent file ("" otherwise).
	Parent string `json:"parent,omitempty"`
	// SHA256 of the virtual content, hex; set when verified.
	SHA256   string `json:"sha256,omitempty"`
	Verified bool   `json:"verified"`
}

// Run writes src to out as opt says.
func Run(ctx context.Context, src vhdx.Image, out string, opt Options) (Result, error) {
	res := Result{Path: out, Format: opt.Format, VirtualSize: src.Size()}
	if res.Format == "" {
		res.Format = FormatVHDX
	}
	if err := opt.check(res.Format); err != nil {
		return res, err
	}
	if !opt.Force {
		if _, err := os.Lstat(out); err == nil {
			return res, fmt.Errorf("%w: %s", ErrExists, out)
		}
	}
	tmp, err := tempName(out)
	if err != nil {
		return res, err
	}
	w := &job{ctx: ctx, src: src, opt: opt, res: &res, progress: opt.Progress}
	if err := w.write(tmp); err != nil {
		os.Remove(tmp)
		return res, err
	}
	if err := w.finish(tmp, out); err != nil {
		os.Remove(tmp)
		return res, err
	}
	return res, nil
}

func (o Options) check(format string) error {
	switch format {
	case FormatVHDX, FormatRaw:
	default:
		return fmt.Errorf("%w: format %q (want vhdx or raw)", ErrOptions, format)
	}
	if (o.Base == nil) != (o.BaseFile == "") {
		return fmt.Errorf("%w: an incremental export needs both the base content and its file", ErrOptions)
	}
	if o.Base != nil && format != FormatVHDX {
		return fmt.Errorf("%w: an incremental export is a differencing VHDX, not %s", ErrOptions, format)
	}
	return nil
}

// sectorSize is the logical sector size the output gets.
func (o Options) sectorSize(src vhdx.Image) int64 {
	if o.SectorSize > 0 {
		return o.SectorSize
	}
	if s, ok := src.(SectorSizer); ok && s.SectorSize() > 0 {
		return s.SectorSize()
	}
	return 512
}

// job is one Run in progress.
type job struct {
	ctx      context.Context
	src      vhdx.Image
	opt      Options
	res      *Result
	progress func(done, total int64)
}

func (j *job) write(tmp string) error {
	switch {
	case j.opt.Base != nil:
		return j.writeIncremental(tmp)
	case j.res.Format == FormatRaw:
		return j.writeRaw(tmp)
	}
	return j.writeVHDX(tmp)
}

// finish verifies the temporary file, puts it in place and syncs the folder.
func (j *job) finish(tmp, out string) error {
	if j.opt.Verify {
		if err := j.verify(tmp); err != nil {
			return err
		}
	}
	if err := place(tmp, out, j.opt.Force); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	j.res.FileSize = st.Size()
	j.res.Allocated = allocated(st)
	if j.opt.BaseFile != "" {
		j.res.Parent = j.opt.BaseFile
	}
	return syncDir(filepath.Dir(out))
}

func (j *job) report(done int64) {
	if j.progress != nil {
		j.progress(done, j.src.Size())
	}
}
