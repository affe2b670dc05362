package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/internal/testutil"
)

// uploadDir copies the files under dir to container/prefix of Azurite.
func uploadDir(t *testing.T, conn, container, prefix, dir string) {
	t.Helper()
	client, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CreateContainer(ctx, container, nil); err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = client.UploadFile(ctx, container, prefix+"/"+filepath.ToSlash(rel), f, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRemoteCommands runs the commands on the 4-layer VM folder uploaded
// to Azurite: ls, info, check, cat and cp read what they read locally,
// merge refuses, a real mount shows every checkpoint's raw image as the
// local chain reads it, and neither the account key nor a SAS appears in
// any output.
func TestRemoteCommands(t *testing.T) {
	vm := testutil.RemoteVM(t)
	_, endpoint, conn := testutil.Azurite(t)
	uploadDir(t, conn, "vms", "web02", vm)
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", conn)
	src := "azblob://" + testutil.AzuriteAccount + "/vms/web02"
	flags := []string{"--endpoint", endpoint, "--remote-timeout", "10s"}
	var outputs []string
	run := func(args ...string) (string, string, int) {
		t.Helper()
		args = append(args[:1:1], append(append([]string(nil), flags...), args[1:]...)...)
		out, errs, code := ckptfs(t, args...)
		outputs = append(outputs, out, errs)
		return out, errs, code
	}

	out, errs, code := run("ls", src)
	for _, cp := range []string{"Installed", "Booted once", "Booted twice", "Now"} {
		if code != exitOK || !strings.Contains(out, cp) {
			t.Fatalf("ls: %d %q %s", code, out, errs)
		}
	}
	if _, errs, code := run("info", src); code != exitOK {
		t.Errorf("info: %d %s", code, errs)
	}
	if _, errs, code := run("check", src); code != exitOK {
		t.Errorf("check: %d %s", code, errs)
	}
	for _, cp := range []string{"Installed", "Booted once", "Booted twice", "Now"} {
		for _, p := range []string{"Disk0-p1/data/a.txt", "Disk0-p1/data/big.bin", "Disk0-p1/logs/2.log"} {
			want, _, wcode := ckptfs(t, "cat", vm, cp, p)
			got, errs, code := run("cat", src, cp, p)
			if code != wcode || got != want {
				t.Errorf("cat %s %s: exit %d (local %d), %d bytes (local %d) %s", cp, p, code, wcode, len(got), len(want), errs)
			}
		}
	}
	dest := t.TempDir()
	if _, errs, code := run("cp", src, "Booted twice", "Disk0-p1/logs", dest); code != exitOK {
		t.Errorf("cp: %d %s", code, errs)
	} else if b, _ := os.ReadFile(filepath.Join(dest, "logs", "1.log")); string(b) != "boot 1\n" {
		t.Errorf("cp: 1.log %q", b)
	}
	if _, errs, code := run("merge", src, "Now"); code == exitOK || !strings.Contains(errs, "remote") {
		t.Errorf("merge: %d %s", code, errs)
	}

	// A container SAS URL.
	cred, _ := azblob.NewSharedKeyCredential(testutil.AzuriteAccount, testutil.AzuriteKey)
	qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String(), ContainerName: "vms"}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	sasURL := endpoint + "/vms/web02?" + qp.Encode()
	if out, errs, code := run("ls", sasURL); code != exitOK || !strings.Contains(out, "Booted twice") {
		t.Errorf("ls SAS: %d %s", code, errs)
	}
	run("ls", endpoint+"/vms/nothing-here?"+qp.Encode())
	run("cat", sasURL, "Now", "Disk0-p1/data/missing.txt")
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", conn)

	for _, o := range outputs {
		for _, secret := range []string{testutil.AzuriteKey, qp.Signature(), "sig=", "AccountKey"} {
			if strings.Contains(o, secret) {
				t.Errorf("output shows a credential (%.8s...): %.300q", secret, o)
			}
		}
	}
	remoteMount(t, src, vm, flags)
}

// remoteMount mounts the remote VM folder with FUSE and compares each
// checkpoint's raw image with the local chain's bytes.
func remoteMount(t *testing.T, src, vm string, flags []string) {
	testutil.NeedFUSE(t)
	m := startMount(t, nil, append(append([]string{}, flags...), src)...)
	mnt := m.Dir
	local, err := catalog.Open(vm, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	n := 0
	for _, v := range local.VMs {
		for _, cp := range v.Checkpoints {
			raws, _ := filepath.Glob(filepath.Join(mnt, "*", "*", "*", "disks", "Disk0.raw"))
			raws2, _ := filepath.Glob(filepath.Join(mnt, "*", "*", "disks", "Disk0.raw"))
			raws = append(raws, raws2...)
			var raw string
			for _, r := range raws {
				if filepath.Base(filepath.Dir(filepath.Dir(r))) == cp.Name {
					raw = r
				}
			}
			if raw == "" {
				t.Fatalf("no raw image of %s in the mount (%v): %s", cp.Name, raws, m.Stderr())
			}
			h := sha256.New()
			io.Copy(h, io.NewSectionReader(cp.Disks[0].Chain, 0, cp.Disks[0].Chain.Size()))
			f, err := os.Open(raw)
			if err != nil {
				t.Fatal(err)
			}
			g := sha256.New()
			_, err = io.Copy(g, f)
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if fmt.Sprintf("%x", h.Sum(nil)) != fmt.Sprintf("%x", g.Sum(nil)) {
				t.Errorf("%s: raw image differs from the local chain", raw)
			}
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d checkpoints compared", n)
	}
	b, err := os.ReadFile(filepath.Join(mnt, "latest", "Disk0-p1", "data", "a.txt"))
	if err != nil || string(b) != "one\ntwo\nthree\n" {
		t.Errorf("latest/Disk0-p1/data/a.txt: %q %v", b, err)
	}
}
