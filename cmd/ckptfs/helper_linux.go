//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ckptfs/ckptfs/remote"
)

// The mount(8) helper: `mount -t fuse.ckptfs SRC MNT -o OPTS` (or an fstab
// line with type fuse.ckptfs) makes mount.fuse3 run `ckptfs SRC MNT -o OPTS`
// and wait for it. In that form ckptfs starts `ckptfs mount` detached, waits
// until the tree answers, and exits 0, or exits with the mount's error.

// detachedEnv marks the detached child: once mounted it stops writing to
// the stderr its parent reads, since that pipe closes when the parent exits.
const detachedEnv = "CKPTFS_DETACHED"

// mountHelperArgs recognises the helper form: SRC MNT [-o OPTS].
func mountHelperArgs(argv []string) (src, mnt string, opts []string, ok bool) {
	if len(argv) < 2 || strings.HasPrefix(argv[0], "-") {
		return "", "", nil, false
	}
	if _, err := os.Stat(argv[0]); err != nil && !remote.IsRemote(argv[0]) {
		return "", "", nil, false // a mistyped command, not a source
	}
	if st, err := os.Stat(argv[1]); err != nil || !st.IsDir() {
		return "", "", nil, false
	}
	src, mnt = argv[0], argv[1]
	rest := argv[2:]
	for i := 0; i < len(rest); i++ {
		switch {
		case rest[i] == "-o" && i+1 < len(rest):
			opts = append(opts, helperOptions(rest[i+1])...)
			i++
		case strings.HasPrefix(rest[i], "-o"):
			opts = append(opts, helperOptions(rest[i][2:])...)
		default:
			return "", "", nil, false
		}
	}
	return src, mnt, opts, true
}

// helperOptions drops the generic options mount(8) passes to every helper;
// the tree is read-only whatever they say.
func helperOptions(s string) []string {
	var keep []string
	for _, o := range strings.Split(s, ",") {
		switch {
		case o == "", o == "rw", o == "ro", o == "defaults", o == "auto", o == "noauto", o == "user", o == "nouser",
			o == "users", o == "dev", o == "nodev", o == "suid", o == "nosuid", o == "exec", o == "noexec",
			o == "atime", o == "noatime", o == "relatime", o == "_netdev", o == "nofail", strings.HasPrefix(o, "x-"):
		default:
			keep = append(keep, o)
		}
	}
	return keep
}

// remoteOption turns a mount option naming a remote source's setting
// (an fstab line has no other place for them) into the flag of `ckptfs
// mount`: endpoint=URL, remote-timeout=D, remote-min-rate=N, cache-dir=DIR, cache-size=N,
// no-sign-request. Credentials stay where the SDKs look for them (root's
// ~/.aws, the environment of the mount unit), never in fstab.
func remoteOption(o string) (string, bool) {
	k, _, _ := strings.Cut(o, "=")
	switch k {
	case "endpoint", "remote-timeout", "remote-min-rate", "cache-dir", "cache-size":
		return "--" + o, strings.Contains(o, "=")
	case "no-sign-request":
		return "--" + o, o == k
	}
	return "", false
}

// runMountHelper starts the detached mount and waits for its readiness line.
func runMountHelper(src, mnt string, opts []string, errw io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(errw, "ckptfs: %v\n", err)
		return exitFailure
	}
	args := []string{"mount", src, mnt}
	var fuseOpts []string
	for _, o := range opts {
		if f, ok := remoteOption(o); ok {
			args = append(args, f)
		} else {
			fuseOpts = append(fuseOpts, o)
		}
	}
	if len(fuseOpts) > 0 {
		args = append(args, "-o", strings.Join(fuseOpts, ","))
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), detachedEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(errw, "ckptfs: %v\n", err)
		return exitFailure
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(errw, "ckptfs: %v\n", err)
		return exitFailure
	}
	pw.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(2 * time.Minute)
	var last string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			if strings.Contains(l, " mounted on ") {
				return exitOK
			}
			last = l
			fmt.Fprintln(errw, l)
		case err := <-exited:
			if last == "" && err != nil {
				fmt.Fprintf(errw, "ckptfs: mount failed: %v\n", err)
			}
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			return exitFailure
		case <-timeout:
			fmt.Fprintln(errw, "ckptfs: the mount did not become ready within 2 minutes")
			cmd.Process.Signal(syscall.SIGTERM)
			return exitFailure
		}
	}
}

// quietAfterReady points stderr at /dev/null in a detached mount once its
// parent has seen the readiness line and gone.
func quietAfterReady() {
	if os.Getenv(detachedEnv) == "" {
		return
	}
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		syscall.Dup2(int(null.Fd()), 2)
	}
}
