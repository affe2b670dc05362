package remote

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

const (
	testKeyID  = "AKIDCKPTFSTEST"
	testSecret = "ckptfsTestSecretKeyNeverShown"
)

// s3Identities: the test key may do anything; unsigned requests may read
// and list the bucket "public" only.
const s3Identities = `{"identities": [
	{"name": "admin", "credentials": [{"accessKey": "` + testKeyID + `", "secretKey": "` + testSecret + `"}],
	 "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
	{"name": "anonymous", "actions": ["Read:public", "List:public"]}
]}`

// seaweed starts SeaweedFS's S3 gateway with s3Identities, makes bucket,
// and points the AWS SDK's default chain at it with the test key.
func seaweed(t *testing.T, bucket string) (*testutil.Server, *s3.Client, string) {
	t.Helper()
	srv, endpoint := testutil.SeaweedS3(t, s3Identities)
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(endpoint); o.UsePathStyle = true })
	// The gateway answers a moment after it listens.
	var cerr error
	for i := 0; i < 60; i++ {
		if _, cerr = c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket}); cerr == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if cerr != nil {
		t.Fatal(cerr)
	}
	return srv, c, endpoint
}

// put uploads a fixture. SeaweedFS on a machine loaded past 12 answered
// uploads 500 through the SDK's three attempts, and once never answered
// one: a few more tries, a second apart, each bounded (the uploads are
// the test's setup, not what it tests).
func put(t *testing.T, c *s3.Client, bucket, key string, data []byte) {
	t.Helper()
	var err error
	for try := 0; try < 4; try++ {
		if try > 0 {
			time.Sleep(time.Second)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data)})
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatal(err)
}

// TestS3VMFolder uploads the 4-layer VM folder to SeaweedFS and reads
// every checkpoint as the local copy reads; then a replaced object, a
// missing one, and the server stopped.
func TestS3VMFolder(t *testing.T) {
	vm := testutil.RemoteVM(t)
	srv, c, endpoint := seaweed(t, "backups")
	err := filepath.Walk(vm, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(vm), p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		put(t, c, "backups", "hyperv/"+filepath.ToSlash(rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	local := localCatalog(t, vm)
	o := testOptions()
	o.Endpoint = endpoint
	Configure(o)
	// The folder of VMs, and the VM folder.
	before := Counters()
	pre0 := presignedGets.Load()
	rem := openRemote(t, "s3://backups/hyperv")
	checkOpenCost(t, rem, before, 2, 10)
	sameCheckpoints(t, local, rem, 4, "")
	logLayers(t, rem)
	if n := presignedGets.Load() - pre0; n == 0 {
		t.Errorf("no read went through a presigned URL")
	} else {
		t.Logf("%d presigned GETs of %d requests", n, Counters().Requests-before.Requests)
	}

	// A base disk opened alone asks nothing about the chain's other
	// files beside it: it has no parents to open.
	disks := "s3://backups/hyperv/web02/Virtual Hard Disks"
	_, s, err := Resolve(disks)
	if err != nil {
		t.Fatal(err)
	}
	sibs, err := s.ReadDir(disks)
	if err != nil {
		t.Fatal(err)
	}
	was := map[string]int64{}
	for _, e := range sibs {
		was[e.Name] = RequestsFor(e.Name)
	}
	baseCat, err := catalog.Open(disks+"/web02.vhdx", catalog.Options{Source: s})
	if err != nil {
		t.Fatal(err)
	}
	baseCat.Close()
	time.Sleep(200 * time.Millisecond) // what a warm-up would send, it sends at once
	for _, e := range sibs {
		if n := RequestsFor(e.Name) - was[e.Name]; n != 0 && !strings.HasSuffix(e.Name, "/web02.vhdx") {
			t.Errorf("opening the base alone sent %d requests about %s", n, e.Name)
		}
	}
	// The disk as the source itself, nothing listed: no HEAD, the GET of
	// its head describes it (2 requests: the head, then the metadata and
	// BAT; and the listing of its folder, where the catalog looks for a
	// merge journal). It took 4 with a HEAD first.
	before = Counters()
	checkOpenCost(t, openRemote(t, disks+"/web02.vhdx"), before, 2, 1)

	// Replaced while open.
	data := bytes.Repeat([]byte("s3 object "), 800000) // beyond the first read (firstRead)
	put(t, c, "backups", "x/a.bin", data)
	name, s, err := Resolve("s3://backups/x")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Open(name + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 10)
	if _, err := f.ReadAt(p, 0); err != nil || string(p) != "s3 object " {
		t.Fatalf("read: %q %v", p, err)
	}
	put(t, c, "backups", "x/a.bin", bytes.ToUpper(data))
	if _, err := f.ReadAt(p, 6<<20); !errors.Is(err, ErrChanged) {
		t.Errorf("replaced: %v", err)
	}
	// Deleted while open: ErrChanged too (EIO in a mount), not "not found".
	fd, err := s.Open(name + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("backups"), Key: aws.String("x/a.bin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fd.ReadAt(p, 1<<20); !errors.Is(err, ErrChanged) || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("deleted: %v", err)
	}
	put(t, c, "backups", "x/a.bin", data)

	// A presigned URL the store refuses (its credentials replaced since
	// it was signed; here its signature spoiled) is signed anew, and
	// presigning goes on.
	gname, gs, err := Resolve("s3://backups/x")
	if err != nil {
		t.Fatal(err)
	}
	gf, err := gs.Open(gname + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gf.ReadAt(p, 5<<20); err != nil || !bytes.Equal(p, data[5<<20:5<<20+10]) {
		t.Fatalf("read: %q %v", p, err)
	}
	pre := presignerOf(t, gs)
	pre.mu.Lock()
	u, ok := pre.m["x/a.bin"]
	spoilt := regexp.MustCompile(`X-Amz-Signature=[0-9a-f]+`).ReplaceAllString(u.url, "X-Amz-Signature="+strings.Repeat("0", 64))
	u.url = spoilt
	pre.m["x/a.bin"] = u
	pre.mu.Unlock()
	if !ok || !strings.Contains(spoilt, strings.Repeat("0", 64)) {
		t.Fatalf("no presigned URL to spoil (%v)", ok)
	}
	g0 := presignedGets.Load()
	if _, err := gf.ReadAt(p, 7<<20); err != nil || !bytes.Equal(p, data[7<<20:7<<20+10]) {
		t.Errorf("read on a spoilt URL: %q %v", p, err)
	}
	pre.mu.Lock()
	again := pre.m["x/a.bin"].url
	pre.mu.Unlock()
	if pre.off.Load() || presignedGets.Load() == g0 || again == spoilt {
		t.Errorf("a refused presigned URL was not signed anew (off %v, %d presigned GETs)", pre.off.Load(), presignedGets.Load()-g0)
	}

	_, err = s.Stat(name + "/missing.vhdx")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "s3://backups/x/missing.vhdx") {
		t.Errorf("missing: %v", err)
	}

	// A public bucket, no credentials anywhere: read unsigned; a private
	// bucket's 403 says the requests were unsigned.
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("public")}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "public", "vm/a.bin", data)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	start := time.Now()
	pname, ps, err := Resolve("s3://public/vm")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("no credentials: open took %v", time.Since(start).Round(time.Millisecond))
	ents, err := ps.ReadDir(pname)
	if err != nil || len(ents) != 1 {
		t.Fatalf("public listing: %v %v", ents, err)
	}
	pf, err := ps.Open(pname + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pf.ReadAt(p, 12345); err != nil || !bytes.Equal(p, data[12345:12355]) {
		t.Errorf("public read: %q %v", p, err)
	}
	// Past the first read: a ranged GET, through the SDK (it presigns
	// nothing without credentials).
	if _, err := pf.ReadAt(p, 7<<20); err != nil || !bytes.Equal(p, data[7<<20:7<<20+10]) {
		t.Errorf("public read: %q %v", p, err)
	}
	pname, ps, err = Resolve("s3://backups/x")
	if err == nil {
		_, err = ps.Stat(pname + "/a.bin")
	}
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("private bucket unsigned: %v", err)
	}
	t.Logf("private bucket unsigned: %v", err)
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)

	// A slow link in front of the store (nginx passing SeaweedFS's
	// answers on at 4 KB/s): the SDK's bodies are bound by the same rules
	// as a web server's, a trickle fails below the rate floor in bounded
	// time.
	proxy := testutil.Nginx(t, t.TempDir(), `location / { proxy_pass `+endpoint+`; proxy_set_header Host $http_host; limit_rate 4k; }`)
	so := o
	so.Endpoint = "http://127.0.0.1:" + itoa(proxy.Port)
	so.Timeout = 2 * time.Second
	so.Retries = 1
	Configure(so)
	sname, ss, err := Resolve("s3://backups/x")
	if err != nil {
		t.Fatal(err)
	}
	sf, err := ss.Open(sname + "/a.bin") // its first block trickles: dropped, the description stands
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = sf.ReadAt(p, 3<<20)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "below the floor") {
		t.Errorf("slow link: %v", err)
	}
	if d, b := time.Since(start), time.Duration(so.Retries+1)*so.Timeout+3*time.Second; d > b {
		t.Errorf("slow link took %v (bound %v)", d, b)
	}
	t.Logf("slow link: %v", err)
	Configure(o)

	// A store that refuses presigned URLs (nginx in front of SeaweedFS
	// answers 403 to any): the read goes again through the SDK, and so do
	// the later ones.
	refuse := testutil.Nginx(t, t.TempDir(), `location / { if ($args ~* "X-Amz-Signature") { return 403; } proxy_pass `+endpoint+`; proxy_set_header Host $http_host; }`)
	ro := o
	ro.Endpoint = "http://127.0.0.1:" + itoa(refuse.Port)
	Configure(ro)
	rname, rs, err := Resolve("s3://backups/x")
	if err != nil {
		t.Fatal(err)
	}
	rf, err := rs.Open(rname + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{5 << 20, 6 << 20} {
		if _, err := rf.ReadAt(p, off); err != nil || !bytes.Equal(p, data[off:off+10]) {
			t.Errorf("presigned refused, read at %d: %q %v", off, p, err)
		}
	}
	if !presignerOf(t, rs).off.Load() {
		t.Errorf("a store refusing presigned GETs still gets them")
	}
	Configure(o)

	// The server stopped mid-read: the reads fail within the retries.
	f, err = s.Open(name + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	start = time.Now()
	_, err = f.ReadAt(p, 2<<20)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("stopped: %v", err)
	}
	if d := time.Since(start); d > time.Duration(o.Retries+1)*o.Timeout+5*time.Second {
		t.Errorf("stopped: took %v", d)
	}
	for _, e := range []error{err} {
		if e != nil && (strings.Contains(e.Error(), testSecret) || strings.Contains(e.Error(), testKeyID) || strings.Contains(e.Error(), "X-Amz-")) {
			t.Errorf("error shows the credentials: %v", e)
		}
	}
}

// presignerOf returns the presigned GETs of an S3 source.
func presignerOf(t *testing.T, s catalog.Source) *s3Presigner {
	t.Helper()
	src, ok := s.(*source)
	if !ok {
		t.Fatalf("%T is not a remote source", s)
	}
	b, ok := src.b.(*s3Backend)
	if !ok || b.pre == nil {
		t.Fatalf("%s: no presigned GETs", src.name)
	}
	return b.pre
}
