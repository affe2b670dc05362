package remote

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

type nopSeekCloser struct{ io.ReadSeeker }

func (nopSeekCloser) Close() error { return nil }

// uploadAzure copies the files under dir to container/prefix, as block
// blobs, or as page blobs (the kind Azure keeps VM disks in) when pages.
func uploadAzure(t *testing.T, client *azblob.Client, container, prefix, dir string, pages bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := client.CreateContainer(ctx, container, nil); err != nil {
		t.Fatal(err)
	}
	cc := client.ServiceClient().NewContainerClient(container)
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := prefix + "/" + filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !pages || len(data)%512 != 0 {
			_, err = client.UploadBuffer(ctx, container, name, data, nil)
			return err
		}
		pb := cc.NewPageBlobClient(name)
		if _, err := pb.Create(ctx, int64(len(data)), nil); err != nil {
			return err
		}
		for off := 0; off < len(data); off += 4 << 20 {
			end := min(off+4<<20, len(data))
			if bytes.Count(data[off:end], []byte{0}) == end-off {
				continue // a hole: never written
			}
			if _, err := pb.UploadPages(ctx, nopSeekCloser{bytes.NewReader(data[off:end])},
				blob.HTTPRange{Offset: int64(off), Count: int64(end - off)}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAzureVMFolder uploads the 4-layer VM folder to Azurite as block
// blobs and as page blobs, opens it by azblob:// with a connection string
// and by a container SAS URL, and reads every checkpoint as the local
// copy reads.
func TestAzureVMFolder(t *testing.T) {
	vm := testutil.RemoteVM(t)
	_, endpoint, conn := testutil.Azurite(t)
	client, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	uploadAzure(t, client, "vms", "web02", vm, false)
	uploadAzure(t, client, "pages", "web02", vm, true)
	local := localCatalog(t, vm)

	o := testOptions()
	o.Endpoint = endpoint
	Configure(o)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
	for _, c := range []string{"vms", "pages"} {
		rem := openRemote(t, "azblob://"+testutil.AzuriteAccount+"/"+c+"/web02")
		only := "" // every checkpoint of block blobs, the live state of page blobs
		if c == "pages" {
			only = "/Now/"
		}
		sameCheckpoints(t, local, rem, 4, only)
		logLayers(t, rem)
		// A disk as the source itself: its head and its metadata, no
		// Get Properties; the listing of its folder (the catalog looks
		// for a merge journal), and a page blob's Get Page Ranges.
		before := Counters()
		extra := int64(1)
		if c == "pages" {
			extra = 2
		}
		checkOpenCost(t, openRemote(t, "azblob://"+testutil.AzuriteAccount+"/"+c+"/web02/Virtual Hard Disks/web02.vhdx"), before, 2, extra)
	}

	// A container SAS, the way a user hands one out: read and list only.
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	cred, err := azblob.NewSharedKeyCredential(testutil.AzuriteAccount, testutil.AzuriteKey)
	if err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String(), ContainerName: "vms"}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	sasURL := endpoint + "/vms/web02?" + qp.Encode()
	name, _, err := Resolve(sasURL)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(name, "sig=") || name != endpoint+"/vms/web02" {
		t.Errorf("name %q", name)
	}
	rem := openRemote(t, sasURL)
	sameCheckpoints(t, local, rem, 4, "/Booted twice/")

	// A SAS that does not allow reading: 403 names the object, not the SAS.
	bad := endpoint + "/vms/web02?" + strings.Replace(qp.Encode(), "sp=rl", "sp=c", 1)
	name, s, err := Resolve(bad)
	if err == nil {
		_, err = s.Stat(name)
	}
	if err == nil || strings.Contains(err.Error(), qp.Signature()) || strings.Contains(err.Error(), "sig=") {
		t.Errorf("bad SAS: %v", err)
	}
	t.Logf("bad SAS: %v", err)
}

// TestAzureReplacedWhileOpen: a blob overwritten after it was opened
// fails the next read with ErrChanged; a deleted one too.
func TestAzureReplacedWhileOpen(t *testing.T) {
	_, endpoint, conn := testutil.Azurite(t)
	client, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client.CreateContainer(ctx, "ccc", nil)
	data := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16) // beyond the first read (firstRead)
	for _, n := range []string{"a.bin", "b.bin"} {
		if _, err := client.UploadBuffer(ctx, "ccc", n, data, nil); err != nil {
			t.Fatal(err)
		}
	}
	o := testOptions()
	o.Endpoint = endpoint
	Configure(o)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
	name, s, err := Resolve("azblob://" + testutil.AzuriteAccount + "/ccc")
	if err != nil {
		t.Fatal(err)
	}
	fa, err := s.Open(name + "/a.bin")
	if err != nil {
		t.Fatal(err)
	}
	fb, err := s.Open(name + "/b.bin")
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 100)
	if _, err := fa.ReadAt(p, 0); err != nil || !bytes.Equal(p, data[:100]) {
		t.Fatal(err)
	}
	client.UploadBuffer(ctx, "ccc", "a.bin", bytes.ToUpper(data), nil)
	client.DeleteBlob(ctx, "ccc", "b.bin", nil)
	if _, err := fa.ReadAt(p, 6<<20); !errors.Is(err, ErrChanged) {
		t.Errorf("replaced: %v", err)
	}
	if _, err := fb.ReadAt(p, 6<<20); err == nil {
		t.Errorf("deleted: no error")
	} else {
		t.Logf("deleted: %v", err)
	}
}
