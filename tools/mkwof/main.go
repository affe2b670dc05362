// Command mkwof writes an NTFS volume of Windows Overlay Filter ("system
// compression") files for benchmarks: every regular file at the top of
// SRC, compressed by wimlib's wimcapture in each WOF format and laid out
// as Windows does (testdata/ntfs/wof.sh, with mkntfs and ntfs-3g), under
// <format>/<name> on the volume. With -wim-dir it keeps the WIM files,
// whose resources are the same compressed chunks, for wimlib to extract.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ckptfs/ckptfs/internal/wim"
)

func main() {
	out := flag.String("o", "", "output image (required)")
	size := flag.Int64("size", 1<<30, "volume size in bytes")
	formats := flag.String("formats", "xpress4k,xpress8k,xpress16k,lzx", "WOF formats, comma-separated")
	script := flag.String("script", "testdata/ntfs/wof.sh", "the script writing the volume")
	wimDir := flag.String("wim-dir", "", "keep the WIM files here, as <format>.wim")
	flag.Parse()
	if flag.NArg() != 1 || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: mkwof -o IMG [-size BYTES] [-formats xpress4k,lzx] [-wim-dir DIR] SRC")
		os.Exit(2)
	}
	var fs []wim.WOFFormat
	for _, name := range strings.Split(*formats, ",") {
		found := false
		for _, f := range wim.WOFFormats {
			if f.Dir == name {
				fs, found = append(fs, f), true
			}
		}
		if !found {
			fail(fmt.Errorf("unknown WOF format %q", name))
		}
	}
	work := *wimDir
	if work == "" {
		tmp, err := os.MkdirTemp("", "mkwof")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(tmp)
		work = tmp
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		fail(err)
	}
	if err := wim.BuildWOFVolume(flag.Arg(0), *out, work, *script, *size, fs); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mkwof:", err)
	os.Exit(1)
}
