package remote

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Ranged GETs of S3 objects through presigned URLs.
//
// The SDK runs every request through its middleware stack (endpoint
// resolution, signing, retries, user agent, response deserialization):
// about 0.2 ms of CPU and some 200 allocations a request, a sixth of what
// ckptfs's reader spent on the 170 requests of a 4-layer chain, on two
// cores the S3 server shares. A presigned URL of the object (signed once,
// as the SDK signs it, good for presignTTL) is a plain GET: the range and
// If-Match go as unsigned headers, which S3 and compatible stores accept
// with a presigned URL, and net/http sends it on the SDK's own HTTP client
// (its connection pool, proxy and CA settings). Opening, listing and the
// first read of an object stay with the SDK.
//
// A presigned GET the store refuses (401, 403 or 400: credentials that
// expired or were replaced since it was signed, a store or bucket kind
// that takes no presigned URLs) is sent once more on a URL signed anew,
// then through the SDK; when the SDK's passes where both presigned ones
// failed, the backend stops presigning.

const (
	// presignTTL is how long a presigned URL is valid; one is used for at
	// most presignReuse, so that a request never starts on a URL about to
	// expire (S3 checks the expiry when a request starts).
	presignTTL   = 15 * time.Minute
	presignReuse = 5 * time.Minute
)

type presignedURL struct {
	url   string
	hdr   http.Header // headers the signature covers, besides Host
	until time.Time   // when to sign again
}

// s3Presigner keeps the presigned URLs of one backend, by key.
type s3Presigner struct {
	pc    *s3.PresignClient
	creds aws.CredentialsProvider
	hc    aws.HTTPClient
	off   atomic.Bool // the store refused presigned GETs the SDK's did not
	mu    sync.Mutex
	m     map[string]presignedURL
}

func newS3Presigner(c *s3.Client, hc aws.HTTPClient) *s3Presigner {
	if hc == nil {
		return nil
	}
	return &s3Presigner{pc: s3.NewPresignClient(c), creds: c.Options().Credentials, hc: hc, m: map[string]presignedURL{}}
}

// url returns a presigned URL of key, signing one when there is none
// young enough. A URL signed with temporary credentials is used until a
// minute before they expire at most: S3 refuses it after.
func (p *s3Presigner) url(ctx context.Context, bucket, key string) (presignedURL, error) {
	p.mu.Lock()
	u, ok := p.m[key]
	p.mu.Unlock()
	if ok && time.Now().Before(u.until) {
		return u, nil
	}
	r, err := p.pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key}, s3.WithPresignExpires(presignTTL))
	if err != nil {
		return presignedURL{}, err
	}
	u = presignedURL{url: r.URL, hdr: r.SignedHeader, until: time.Now().Add(presignReuse)}
	if p.creds != nil {
		// (The SDK's cache answers: presigning just asked it.)
		if c, err := p.creds.Retrieve(ctx); err == nil && c.CanExpire && c.Expires.Add(-time.Minute).Before(u.until) {
			u.until = c.Expires.Add(-time.Minute)
		}
	}
	p.mu.Lock()
	if len(p.m) >= maxPresigned {
		clear(p.m) // a walk over many objects: sign again as needed
	}
	p.m[key] = u
	p.mu.Unlock()
	return u, nil
}

// maxPresigned bounds the URLs kept.
const maxPresigned = 4096

func (p *s3Presigner) forget(key string) {
	p.mu.Lock()
	delete(p.m, key)
	p.mu.Unlock()
}

// get sends a presigned GET for n bytes at off of key, which must still
// have etag (when not empty), and checks that the answer is that range of
// that version. A failure that the SDK's own request might not have
// (refused) says so.
func (p *s3Presigner) get(ctx context.Context, bucket, key, etag string, off, n int64) (body io.ReadCloser, refused bool, err error) {
	u, err := p.url(ctx, bucket, key)
	if err != nil {
		return nil, true, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
	if err != nil {
		return nil, true, err
	}
	for k, v := range u.hdr {
		if !strings.EqualFold(k, "Host") {
			req.Header[k] = v
		}
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s: %w", ue.Op, ue.Err) // ue.URL holds the signature
		}
		return nil, false, err
	}
	fail := func(err error) (io.ReadCloser, bool, error) {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return nil, false, err
	}
	switch st := resp.StatusCode; {
	case st == http.StatusPartialContent:
	case st == http.StatusOK:
		return fail(ErrNoRanges)
	default:
		se := &statusError{code: st, s3code: s3ErrorCode(resp.Body)}
		_, _, err := fail(se)
		return nil, st == 400 || st == 401 || st == 403, err
	}
	if e := resp.Header.Get("ETag"); etag != "" && e != "" && e != etag {
		return fail(ErrChanged) // a store that ignores If-Match
	}
	want := fmt.Sprintf("bytes %d-%d/", off, off+n-1)
	if !strings.HasPrefix(resp.Header.Get("Content-Range"), want) {
		return fail(fmt.Errorf("%w: asked for %s, got %q", ErrChanged, want, resp.Header.Get("Content-Range")))
	}
	presignedGets.Add(1)
	return resp.Body, false, nil
}

// presignedGets counts the presigned GETs answered (for the tests).
var presignedGets atomic.Int64

// s3ErrorCode reads the Code of an S3 error document (at most 4 KiB of
// it), "" when there is none.
func s3ErrorCode(r io.Reader) string {
	var doc struct {
		Code string `xml:"Code"`
	}
	if xml.NewDecoder(io.LimitReader(r, 4<<10)).Decode(&doc) != nil {
		return ""
	}
	if len(doc.Code) > 64 || strings.Trim(doc.Code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.") != "" {
		return "" // not a code: never show a server's text as one
	}
	return doc.Code
}
