package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a real server process started for a test on the loopback
// interface; Stop kills it (also done at cleanup).
type Server struct {
	cmd  *exec.Cmd
	Port int
	log  string
	wait time.Duration
}

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
	}
}

// startServer runs cmd, kills it at cleanup, and waits until port
// accepts connections.
func startServer(t testing.TB, cmd *exec.Cmd, port int, log string, wait time.Duration) *Server {
	t.Helper()
	lf, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &Server{cmd: cmd, Port: port, log: log, wait: wait}
	t.Cleanup(func() { s.Stop(); lf.Close() })
	s.waitListen(t)
	return s
}

// Restart starts a stopped server again, with the same command, ports and
// data (the log file is appended to).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	lf, err := os.OpenFile(s.log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.cmd.Path, s.cmd.Args[1:]...)
	cmd.Dir, cmd.Env = s.cmd.Dir, s.cmd.Env
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	t.Cleanup(func() { s.Stop(); lf.Close() })
	s.waitListen(t)
}

func (s *Server) waitListen(t testing.TB) {
	t.Helper()
	cmd, port, log, wait := s.cmd, s.Port, s.log, s.wait
	deadline := time.Now().Add(wait)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log)
			t.Fatalf("%s did not listen on %d within %v:\n%s", cmd.Path, port, wait, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Nginx serves root over HTTP on a free loopback port (byte ranges, ETags
// and If-Match as for any static file). Extra is added to the server
// block (e.g. "location /slow/ { limit_rate 2k; }").
func Nginx(t testing.TB, root, extra string) *Server {
	t.Helper()
	bin := NeedTool(t, "nginx")
	dir := t.TempDir()
	port := FreePort(t)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	types { application/octet-stream vhdx; }
	server {
		listen 127.0.0.1:%[2]d;
		root %[3]s;
		%[4]s
	}
}
`, dir, port, root, extra)
	p := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return startServer(t, exec.Command(bin, "-p", dir, "-c", p), port, filepath.Join(dir, "out.log"), 10*time.Second)
}

// AzuriteAccount and AzuriteKey are the emulator's well-known development
// account (documented by Microsoft; not a secret).
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite starts Microsoft's Azure Storage emulator (blob service) on a
// free loopback port with its data in a temp folder; the endpoint is
// http://127.0.0.1:PORT/devstoreaccount1. Extra arguments are Azurite's
// (with --cert and --key it serves HTTPS, and the endpoint says so).
func Azurite(t testing.TB, extra ...string) (s *Server, endpoint, connString string) {
	t.Helper()
	bin := NeedTool(t, "azurite-blob")
	dir := t.TempDir()
	port := FreePort(t)
	cmd := exec.Command(bin, append([]string{"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--location", dir, "--skipApiVersionCheck", "--silent", "--loose"}, extra...)...)
	s = startServer(t, cmd, port, filepath.Join(dir, "out.log"), 30*time.Second)
	scheme := "http"
	for _, a := range extra {
		if a == "--cert" {
			scheme = "https"
		}
	}
	endpoint = fmt.Sprintf("%s://127.0.0.1:%d/%s", scheme, port, AzuriteAccount)
	connString = fmt.Sprintf("DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;",
		scheme, AzuriteAccount, AzuriteKey, endpoint)
	return s, endpoint, connString
}

// WeedVersion is the SeaweedFS version scripts/build-seaweedfs.sh builds.
const WeedVersion = "v0.0.0-20261109003541-7506e5f91cd6"

// WeedBinary returns the weed binary scripts/build-seaweedfs.sh cached
// (CKPTFS_WEED overrides), or reports it unavailable.
func WeedBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CKPTFS_WEED"); p != "" {
		return p
	}
	cache := os.Getenv("CKPTFS_WEED_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "ckptfs")
	}
	p := filepath.Join(cache, "weed-"+WeedVersion)
	if _, err := os.Stat(p); err != nil {
		Unavailable(t, "SeaweedFS not built: run scripts/build-seaweedfs.sh")
	}
	return p
}

// SeaweedS3 starts a SeaweedFS server (master, volume, filer and S3
// gateway in one process) on free loopback ports; the S3 endpoint is
// http://127.0.0.1:PORT. s3config is the gateway's identities file (JSON:
// keys, actions, an "anonymous" identity for unsigned requests); empty,
// none is configured and any signature is accepted. SIGKILL stops it: it
// ignores SIGTERM for long.
func SeaweedS3(t testing.TB, s3config string) (s *Server, endpoint string) {
	t.Helper()
	bin := WeedBinary(t)
	dir := t.TempDir()
	// gRPC ports are the HTTP ports + 10000: keep both free.
	port := func() int {
		for {
			p := FreePort(t)
			if p+10000 < 65536 {
				if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000)); err == nil {
					l.Close()
					return p
				}
			}
		}
	}
	master, volume, filer, s3 := port(), port(), port(), port()
	cmd := exec.Command(bin, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir="+dir,
		"-master.port="+strconv.Itoa(master), "-volume.port="+strconv.Itoa(volume),
		"-filer", "-filer.port="+strconv.Itoa(filer), "-s3", "-s3.port="+strconv.Itoa(s3),
		"-volume.max=10", "-master.volumeSizeLimitMB=64")
	if s3config != "" {
		p := filepath.Join(dir, "s3.json")
		if err := os.WriteFile(p, []byte(s3config), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd.Args = append(cmd.Args, "-s3.config="+p)
	}
	s = startServer(t, cmd, s3, filepath.Join(dir, "out.log"), 60*time.Second)
	return s, fmt.Sprintf("http://127.0.0.1:%d", s3)
}

// RemoteVM returns testdata/out/remote/web02, the VM folder the remote
// source tests upload (a 4-layer NTFS chain with XML configuration),
// building it with testdata/remote/gen.sh when missing.
func RemoteVM(t testing.TB) string {
	t.Helper()
	NeedFUSE(t)
	for _, tool := range []string{"mkntfs", "ntfs-3g", "sgdisk", "iconv"} {
		NeedTool(t, tool)
	}
	out := OutDir("remote")
	vm := filepath.Join(out, "web02")
	if _, err := os.Stat(filepath.Join(vm, "Virtual Machines")); err == nil {
		return vm
	}
	defer LockFixtures(t)()
	if _, err := os.Stat(filepath.Join(vm, "Virtual Machines")); err == nil {
		return vm
	}
	mk := filepath.Join(t.TempDir(), "mkchain")
	Run(t, "go", "build", "-o", mk, filepath.Join(RepoRoot(), "tools", "mkchain"))
	cmd := exec.Command("bash", filepath.Join(RepoRoot(), "testdata", "remote", "gen.sh"), out)
	cmd.Env = append(os.Environ(), "MKCHAIN="+mk)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testdata/remote/gen.sh: %v\n%s", err, b)
	}
	return vm
}
