//go:build linux

package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/ckptfs/ckptfs/internal/testutil"
)

// TestAzureDefaultCredential: with no SAS, connection string or key, an
// azblob:// source takes its token from the Azure SDK's default chain.
// Azurite accepts OAuth over HTTPS only (a self-signed certificate here,
// trusted through SSL_CERT_FILE) and checks a token's issuer, audience and
// lifetime, not its signature; the chain's Azure CLI step runs `az`, which
// here is a script printing such a token, as `az account get-access-token`
// does. The token never appears in the output; without the script the
// chain finds nothing and the private container's 403 says so.
func TestAzureDefaultCredential(t *testing.T) {
	openssl := testutil.NeedTool(t, "openssl")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	testutil.Run(t, openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
	_, endpoint, conn := testutil.Azurite(t, "--cert", cert, "--key", key, "--oauth", "basic")

	pem, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	client, err := azblob.NewClientFromConnectionString(conn, &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: &http.Client{Transport: tr}}})
	if err != nil {
		t.Fatal(err)
	}
	disk, _ := smallChain(t)
	ctx := context.Background()
	if _, err := client.CreateContainer(ctx, "vms", nil); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(disk, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if _, err := client.UploadBuffer(ctx, "vms", "small/"+filepath.Base(f), b, nil); err != nil {
			t.Fatal(err)
		}
	}

	// The token: unsigned, as Azurite's basic OAuth mode allows.
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	now := time.Now().Unix()
	token := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(map[string]any{
		"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
		"iat": now - 60, "nbf": now - 60, "exp": now + 3600, "oid": "ckptfs-test"}) + ".c2lnbmF0dXJl"
	azDir := filepath.Join(dir, "azbin")
	os.MkdirAll(azDir, 0o755)
	script := fmt.Sprintf("#!/bin/sh\necho '{\"accessToken\": \"%s\", \"expires_on\": %d, \"tokenType\": \"Bearer\"}'\n", token, now+3600)
	if err := os.WriteFile(filepath.Join(azDir, "az"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	bin := ckptfsBinary(t)
	ls := func(path string) (string, error) {
		cmd := exec.Command(bin, "ls", "--endpoint", endpoint, "azblob://"+testutil.AzuriteAccount+"/vms/small")
		// AZURE_TOKEN_CREDENTIALS (the SDK's own setting) narrows the chain
		// to its Azure CLI step: where the instance metadata address
		// answers (a proxy refusing it with 403, as here), the managed
		// identity step fails rather than steps aside, and ends the chain.
		cmd.Env = []string{"PATH=" + path, "HOME=" + dir, "SSL_CERT_FILE=" + cert, "AZURE_STORAGE_CONNECTION_STRING=",
			"AZURE_TOKEN_CREDENTIALS=AzureCLICredential"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	start := time.Now()
	out, err := ls(azDir + ":/usr/bin:/bin")
	if err != nil || !strings.Contains(out, "Now") {
		t.Fatalf("ls with the default chain's token: %v\n%s", err, out)
	}
	if strings.Contains(out, token[:40]) {
		t.Errorf("the token is shown: %s", out)
	}
	t.Logf("ls through the Azure CLI credential: %v", time.Since(start).Round(time.Millisecond))

	out, err = ls("/usr/bin:/bin") // no az: the chain has nothing
	if err == nil || !strings.Contains(out, "403") || !strings.Contains(out, "no Azure credential") {
		t.Errorf("without a credential: %v\n%s", err, out)
	}
	t.Logf("without a credential: %s", strings.TrimSpace(out))
}
