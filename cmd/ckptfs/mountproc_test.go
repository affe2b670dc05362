package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// runningMount is a `ckptfs mount` started by startMount.
type runningMount struct {
	Dir     string // the mount point
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	stderr  *syncBuffer
	stopped bool
}

// syncBuffer collects the mount's stderr, which the process writes while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startMount runs `ckptfs mount ARGS... MNT` on a new mount point, with
// env added to the environment, and returns once the tree answers (its
// `latest` link exists). The test fails when the mount exits first or
// does not answer within 30 s. The mount is stopped when the test ends,
// or earlier by Stop.
func startMount(t *testing.T, env []string, args ...string) *runningMount {
	t.Helper()
	m := &runningMount{Dir: t.TempDir(), stderr: &syncBuffer{}, done: make(chan struct{})}
	m.cmd = exec.Command(ckptfsBinary(t), append(append([]string{"mount"}, args...), m.Dir)...)
	m.cmd.Env = append(os.Environ(), env...)
	m.cmd.Stderr = m.stderr
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		m.cmd.Wait()
		close(m.done)
	}()
	t.Cleanup(func() { m.Stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Lstat(filepath.Join(m.Dir, "latest")); err == nil {
			return m
		}
		select {
		case <-m.done:
			t.Fatalf("ckptfs mount %s exited: %s", strings.Join(args, " "), m.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.Stop()
			t.Fatalf("ckptfs mount %s: no tree after 30 s: %s", strings.Join(args, " "), m.stderr.String())
		}
	}
}

// Stop unmounts, waits for the process (killing it when the unmount
// cannot happen) and returns what it wrote to stderr. Calling it again
// only returns that.
func (m *runningMount) Stop() string {
	if !m.stopped {
		m.stopped = true
		for i := 0; i < 50; i++ {
			if exec.Command("fusermount3", "-u", m.Dir).Run() == nil {
				break
			}
			select {
			case <-m.done:
				i = 50 // gone by itself
			case <-time.After(100 * time.Millisecond):
			}
		}
		select {
		case <-m.done:
		case <-time.After(10 * time.Second):
			m.cmd.Process.Kill()
			exec.Command("fusermount3", "-u", "-z", m.Dir).Run()
			<-m.done
		}
	}
	return m.stderr.String()
}

// Stderr is what the mount wrote to stderr so far.
func (m *runningMount) Stderr() string { return m.stderr.String() }
