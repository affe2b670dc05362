package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ckptfs/ckptfs/vhdx"
)

// rangesOf prints the byte ranges of each layer file of the chain whose
// top is top that a reader of its whole raw image needs ("FILE OFF LEN",
// by layer, in file order): the data extents of the image mapped to
// their layer's file. Ranges of one layer at most gap apart are joined
// (0: only those that touch).
func rangesOf(top string, gap int64) error {
	c, err := vhdx.OpenChain(top, vhdx.ChainOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	exts, err := c.Extents(0, c.Size())
	if err != nil {
		return err
	}
	per := make([][][2]int64, len(c.Layers))
	for _, e := range exts {
		if e.Kind != vhdx.ExtentData {
			continue
		}
		d := c.Layers[e.Layer]
		for pos := e.Off; pos < e.End(); {
			b := pos / d.BlockSize
			n := min(e.End(), (b+1)*d.BlockSize) - pos
			st, foff := d.BlockInfo(b)
			if st != vhdx.BlockPresent && st != vhdx.BlockPartial {
				return fmt.Errorf("%s: block %d of a data extent is %v", d.Name, b, st)
			}
			o := foff + pos - b*d.BlockSize
			per[e.Layer] = append(per[e.Layer], [2]int64{o, o + n})
			pos += n
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for l, rs := range per {
		sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
		var out [][2]int64
		for _, r := range rs {
			if k := len(out); k > 0 && r[0]-out[k-1][1] <= gap {
				out[k-1][1] = max(out[k-1][1], r[1])
				continue
			}
			out = append(out, r)
		}
		for _, r := range out {
			fmt.Fprintf(w, "%s %d %d\n", filepath.Base(c.Layers[l].Name), r[0], r[1]-r[0])
		}
	}
	return nil
}

// keepConns keeps as many idle connections per host as ckptfs does (the
// SDKs keep 10), so that a reference with 16 requests in flight does not
// pay for new connections ckptfs does not open.
func keepConns(tr *http.Transport) { tr.MaxIdleConnsPerHost = 64 }

// getRanges downloads the ranges a `ranges` listing names (FILE OFF LEN
// lines; FILE is under prefix) with the SDK: each range in requests of at
// most maxReq bytes, perObj requests of one object in flight at once, in
// file order, every object at once. It prints the seconds it took and the
// requests it sent: what fetching exactly those bytes costs, with no
// reader between the requests.
func getRanges(kind, endpoint, prefix, list string, perObj int, maxReq int64) error {
	ctx := context.Background()
	bucket, keyPrefix, _ := strings.Cut(prefix, "/")
	data, err := os.ReadFile(list)
	if err != nil {
		return err
	}
	type req struct {
		key    string
		off, n int64
	}
	byObj := map[string][]req{}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return fmt.Errorf("bad line %q", line)
		}
		off, err1 := strconv.ParseInt(f[1], 10, 64)
		n, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || off < 0 || n <= 0 {
			return fmt.Errorf("bad line %q", line)
		}
		key := keyPrefix + "/" + f[0]
		if _, ok := byObj[key]; !ok {
			order = append(order, key)
		}
		for o := off; o < off+n; o += maxReq {
			byObj[key] = append(byObj[key], req{key, o, min(maxReq, off+n-o)})
		}
	}
	var fetch func(r req, buf []byte) (int64, error)
	start := time.Now()
	switch kind {
	case "s3":
		c, err := s3Client(ctx, endpoint, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(keepConns)))
		if err != nil {
			return err
		}
		fetch = func(r req, buf []byte) (int64, error) {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String(r.key),
				Range: aws.String(fmt.Sprintf("bytes=%d-%d", r.off, r.off+r.n-1))})
			if err != nil {
				return 0, err
			}
			defer out.Body.Close()
			return drain(out.Body, buf)
		}
	case "azure":
		tr := http.DefaultTransport.(*http.Transport).Clone()
		keepConns(tr)
		c, err := azblob.NewClientFromConnectionString(endpoint, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: &http.Client{Transport: tr}}})
		if err != nil {
			return err
		}
		fetch = func(r req, buf []byte) (int64, error) {
			out, err := c.DownloadStream(ctx, bucket, r.key, &azblob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: r.off, Count: r.n}})
			if err != nil {
				return 0, err
			}
			defer out.Body.Close()
			return drain(out.Body, buf)
		}
	default:
		return fmt.Errorf("getranges: unknown store %q", kind)
	}
	var wg sync.WaitGroup
	var reqs, got atomic.Int64
	var first error
	var mu sync.Mutex
	for _, key := range order {
		rs := byObj[key]
		var next atomic.Int64
		for range min(perObj, len(rs)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 1<<20)
				for {
					i := next.Add(1) - 1
					if i >= int64(len(rs)) {
						return
					}
					n, err := fetch(rs[i], buf)
					reqs.Add(1)
					got.Add(n)
					if err == nil && n != rs[i].n {
						err = fmt.Errorf("%s: got %d of %d bytes at %d: %w", rs[i].key, n, rs[i].n, rs[i].off, io.ErrUnexpectedEOF)
					}
					if err != nil {
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if first != nil {
		return first
	}
	fmt.Printf("%.3f %d %d\n", time.Since(start).Seconds(), reqs.Load(), got.Load())
	return nil
}
