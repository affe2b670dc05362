// Command objput puts a folder into an object store and times a plain
// ranged download, for the object-storage section of scripts/bench.sh:
//
//	objput put s3 ENDPOINT BUCKET/PREFIX DIR          (credentials: the AWS chain)
//	objput put azure CONNSTR CONTAINER/PREFIX DIR [pages]
//	objput get s3 ENDPOINT BUCKET/KEY BYTES           (prints seconds)
//	objput get azure CONNSTR CONTAINER/KEY BYTES
//	objput get http BASEURL PATH BYTES                (Go's net/http, no SDK)
//	objput ranges TOP GAP                             (the ranges of each layer a raw image needs)
//	objput getranges s3|azure ENDPOINT|CONNSTR BUCKET/PREFIX LIST PEROBJ MAXREQ
//
// A get is one ranged request for the first BYTES bytes of the object,
// streamed and dropped, with the official SDK: the plain download the
// bench compares ckptfs's reads with. The http get is the same with a
// bare net/http client: what a Go reader gets from a web server that curl
// reads from faster.
//
// ranges prints, for the chain whose top layer is the local file TOP, the
// byte ranges of each layer file that its raw image reads, joined when at
// most GAP bytes apart; getranges downloads such a list with the SDK (see
// getRanges): the bench's second reference for a chain, the requests a
// chain needs without ckptfs around them.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "objput:", err)
		os.Exit(1)
	}
}

func run(a []string) error {
	if len(a) < 3 || len(a) < 5 && a[0] != "ranges" {
		return fmt.Errorf("usage: objput put|get s3|azure ENDPOINT|CONNSTR BUCKET/KEY DIR|BYTES")
	}
	switch a[0] {
	case "ranges": // objput ranges TOP GAP
		gap, err := strconv.ParseInt(a[2], 10, 64)
		if err != nil {
			return err
		}
		return rangesOf(a[1], gap)
	case "getranges": // objput getranges s3|azure ENDPOINT BUCKET/PREFIX LIST PEROBJ MAXREQ
		if len(a) < 7 {
			return fmt.Errorf("usage: objput getranges s3|azure ENDPOINT|CONNSTR BUCKET/PREFIX LIST PEROBJ MAXREQ")
		}
		per, err1 := strconv.Atoi(a[5])
		maxReq, err2 := strconv.ParseInt(a[6], 10, 64)
		if err1 != nil || err2 != nil || per < 1 || maxReq < 1 {
			return fmt.Errorf("getranges: bad PEROBJ or MAXREQ")
		}
		return getRanges(a[1], a[2], a[3], a[4], per, maxReq)
	}
	ctx := context.Background()
	bucket, key, _ := strings.Cut(a[3], "/")
	switch a[0] + " " + a[1] {
	case "put s3":
		c, err := s3Client(ctx, a[2])
		if err != nil {
			return err
		}
		var berr error
		for i := 0; i < 60; i++ { // the gateway answers a moment after it listens
			if _, berr = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); berr == nil || strings.Contains(berr.Error(), "BucketAlready") {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		return walk(a[4], func(rel string, data []byte) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key + "/" + rel), Body: bytes.NewReader(data)})
			return err
		})
	case "put azure":
		c, err := azblob.NewClientFromConnectionString(a[2], nil)
		if err != nil {
			return err
		}
		c.CreateContainer(ctx, bucket, nil)
		pages := len(a) > 5 && a[5] == "pages"
		return walk(a[4], func(rel string, data []byte) error {
			name := key + "/" + rel
			if !pages || len(data)%512 != 0 {
				_, err := c.UploadBuffer(ctx, bucket, name, data, nil)
				return err
			}
			pb := c.ServiceClient().NewContainerClient(bucket).NewPageBlobClient(name)
			if _, err := pb.Create(ctx, int64(len(data)), nil); err != nil {
				return err
			}
			for off := 0; off < len(data); off += 4 << 20 {
				end := min(off+4<<20, len(data))
				if bytes.Count(data[off:end], []byte{0}) == end-off {
					continue
				}
				if _, err := pb.UploadPages(ctx, nopCloser{bytes.NewReader(data[off:end])},
					blob.HTTPRange{Offset: int64(off), Count: int64(end - off)}, nil); err != nil {
					return err
				}
			}
			return nil
		})
	case "get s3", "get azure", "get http":
		n, err := strconv.ParseInt(a[4], 10, 64)
		if err != nil {
			return err
		}
		var body io.ReadCloser
		start := time.Now()
		switch a[1] {
		case "http":
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a[2], "/")+"/"+a[3], nil)
			if err != nil {
				return err
			}
			req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", n-1))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusPartialContent {
				resp.Body.Close()
				return fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			body = resp.Body
		case "s3":
			c, err := s3Client(ctx, a[2])
			if err != nil {
				return err
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1))})
			if err != nil {
				return err
			}
			body = out.Body
		default:
			c, err := azblob.NewClientFromConnectionString(a[2], nil)
			if err != nil {
				return err
			}
			out, err := c.DownloadStream(ctx, bucket, key, &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Count: n}})
			if err != nil {
				return err
			}
			body = out.Body
		}
		// Read in 1 MiB pieces, as a downloader would: io.Copy into
		// io.Discard reads 8 KiB at a time, a system call each, which
		// slowed the plain download the bench compares ckptfs with.
		got, err := drain(body, make([]byte, 1<<20))
		body.Close()
		if err != nil || got != n {
			return fmt.Errorf("got %d of %d bytes: %v", got, n, err)
		}
		fmt.Printf("%.3f\n", time.Since(start).Seconds())
		return nil
	}
	return fmt.Errorf("unknown command %q", a[0]+" "+a[1])
}

func s3Client(ctx context.Context, endpoint string, opts ...func(*config.LoadOptions) error) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, append([]func(*config.LoadOptions) error{
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired)}, opts...)...)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(endpoint); o.UsePathStyle = true }), nil
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// walk calls put with each file under dir, by its slash-separated path
// relative to dir.
func walk(dir string, put func(rel string, data []byte) error) error {
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := put(filepath.ToSlash(rel), data); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		return nil
	})
}

// drain reads r to its end into buf, dropping the bytes.
func drain(r io.Reader, buf []byte) (int64, error) {
	var got int64
	for {
		n, err := r.Read(buf)
		got += int64(n)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}
