package remote

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
	"github.com/ckptfs/ckptfs/vhdx"
)

// TestAzurePageBlobHoles: a fixed VHD stored as a page blob with
// unwritten ranges, as Azure keeps VM disks: Get Page Ranges tells the
// holes, which read as zeros without a request and show as zero extents
// of the chain (SEEK_HOLE, sparse copies); the written bytes equal the
// local file's. Then credentials: with none given, the Entra ID chain is
// tried, finds nothing within the bound, and a public container is read
// without credentials while a private one's 403 says none were used.
func TestAzurePageBlobHoles(t *testing.T) {
	qemu := testutil.NeedTool(t, "qemu-img")
	dir := t.TempDir()
	raw := filepath.Join(dir, "d.raw")
	img := make([]byte, 64<<20)
	for i := 8 << 20; i < 8<<20+100000; i++ {
		img[i] = byte(i*31 + 1)
	}
	for i := 40 << 20; i < 41<<20; i++ {
		img[i] = byte(i*7 + 3)
	}
	os.WriteFile(raw, img, 0o644)
	vhd := filepath.Join(dir, "disks", "d.vhd")
	os.MkdirAll(filepath.Dir(vhd), 0o755)
	testutil.Run(t, qemu, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, vhd)

	_, endpoint, conn := testutil.Azurite(t)
	client, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	uploadAzure(t, client, "pages", "vm", filepath.Join(dir, "disks"), true)
	o := testOptions()
	o.Endpoint = endpoint
	Configure(o)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
	name, s, err := Resolve("azblob://" + testutil.AzuriteAccount + "/pages/vm/d.vhd")
	if err != nil {
		t.Fatal(err)
	}
	before := Counters()
	c, err := catalog.Open(name, catalog.Options{Source: s})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch := c.VMs[0].Checkpoints[len(c.VMs[0].Checkpoints)-1].Disks[0].Chain
	exts, err := ch.Extents(0, ch.Size())
	if err != nil {
		t.Fatal(err)
	}
	var data int64
	for _, e := range exts {
		if e.Kind == vhdx.ExtentData {
			data += e.Len
		}
	}
	// The written 4 MiB pieces of the upload: 8-12 MiB and 40-44 MiB.
	if data != 8<<20 {
		t.Errorf("%d bytes of data extents, want 8 MiB (the pieces written): %+v", data, exts)
	}
	got := make([]byte, ch.Size())
	if _, err := ch.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, img) {
		t.Error("page blob reads differ from the disk")
	}
	after := Counters()
	if fetched := after.Bytes - before.Bytes; fetched > 10<<20 {
		t.Errorf("fetched %d bytes of a 64 MiB disk with 1.1 MiB written", fetched)
	}
	t.Logf("64 MiB page blob, 1.1 MiB written: %d requests, %d bytes fetched", after.Requests-before.Requests, after.Bytes-before.Bytes)

	// No credentials at all: the default chain finds none, quickly.
	ctx := context.Background()
	if _, err := client.CreateContainer(ctx, "public", &container.CreateOptions{Access: toPtr(container.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "public", "x/a.bin", img[8<<20:9<<20], nil); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "IDENTITY_ENDPOINT", "MSI_ENDPOINT"} {
		t.Setenv(k, "")
	}
	t.Setenv("PATH", t.TempDir()) // no az, no azd
	start := time.Now()
	name, s, err = Resolve("azblob://" + testutil.AzuriteAccount + "/public/x")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > credTimeout+time.Second {
		t.Errorf("opening without credentials took %v", d)
	}
	t.Logf("credential chain tried in %v: %s", time.Since(start).Round(time.Millisecond), s.(*source).b.(*azureBackend).anon)
	f, err := s.Open(name + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 1000)
	if _, err := f.ReadAt(p, 5); err != nil || !bytes.Equal(p, img[8<<20+5:8<<20+1005]) {
		t.Errorf("public container: %v", err)
	}
	name, s, err = Resolve("azblob://" + testutil.AzuriteAccount + "/pages/vm")
	if err == nil {
		_, err = s.Stat(name + "/d.vhd")
	}
	if err == nil || !strings.Contains(err.Error(), "without credentials") || !strings.Contains(err.Error(), "pages/vm/d.vhd") {
		t.Errorf("private container without credentials: %v", err)
	}
	t.Logf("private container: %v", err)
}

func toPtr[T any](v T) *T { return &v }
