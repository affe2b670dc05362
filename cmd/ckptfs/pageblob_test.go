//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

type nopSeekCloser struct{ io.ReadSeeker }

func (nopSeekCloser) Close() error { return nil }

// TestPageBlobHolesMount: a fixed VHD kept as an Azure page blob with
// only two 4 MiB stretches written (as Azure keeps VM disks), mounted from
// Azurite: SEEK_DATA and SEEK_HOLE on the raw image find the written
// stretches, which Get Page Ranges told, and the image reads as the disk.
func TestPageBlobHolesMount(t *testing.T) {
	testutil.NeedFUSE(t)
	qemu := testutil.NeedTool(t, "qemu-img")
	dir := t.TempDir()
	img := make([]byte, 64<<20)
	for i := 8 << 20; i < 8<<20+100000; i++ {
		img[i] = byte(i*31 + 1)
	}
	for i := 40 << 20; i < 41<<20; i++ {
		img[i] = byte(i*7 + 3)
	}
	raw, vhd := filepath.Join(dir, "d.raw"), filepath.Join(dir, "d.vhd")
	os.WriteFile(raw, img, 0o644)
	testutil.Run(t, qemu, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", raw, vhd)
	data, err := os.ReadFile(vhd)
	if err != nil {
		t.Fatal(err)
	}

	_, endpoint, conn := testutil.Azurite(t)
	client, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CreateContainer(ctx, "disks", nil); err != nil {
		t.Fatal(err)
	}
	pb := client.ServiceClient().NewContainerClient("disks").NewPageBlobClient("web/d.vhd")
	if _, err := pb.Create(ctx, int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 4 << 20 {
		end := min(off+4<<20, len(data))
		if bytes.Count(data[off:end], []byte{0}) == end-off {
			continue // never written: a hole of the page blob
		}
		if _, err := pb.UploadPages(ctx, nopSeekCloser{bytes.NewReader(data[off:end])},
			blob.HTTPRange{Offset: int64(off), Count: int64(end - off)}, nil); err != nil {
			t.Fatal(err)
		}
	}

	m := startMount(t, []string{"AZURE_STORAGE_CONNECTION_STRING=" + conn},
		"--endpoint", endpoint, "azblob://"+testutil.AzuriteAccount+"/disks/web/d.vhd")
	mnt := m.Dir
	f, err := os.Open(filepath.Join(mnt, "checkpoints", "Now", "disks", "Disk0.raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const seekData, seekHole = 3, 4
	for _, c := range []struct{ off, whence, want int64 }{
		{0, seekData, 8 << 20}, {8 << 20, seekHole, 12 << 20},
		{12 << 20, seekData, 40 << 20}, {40 << 20, seekHole, 44 << 20},
	} {
		got, err := syscall.Seek(int(f.Fd()), c.off, int(c.whence))
		if err != nil || got != c.want {
			t.Errorf("lseek(%d, %d) = %d %v, want %d", c.off, c.whence, got, err, c.want)
		}
	}
	got, err := io.ReadAll(io.NewSectionReader(f, 0, int64(len(img))))
	if err != nil || !bytes.Equal(got, img) {
		t.Errorf("raw image of the page blob differs from the disk: %v", err)
	}
}
