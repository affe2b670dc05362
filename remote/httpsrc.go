package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// httpBackend reads files of a web server with range requests (RFC 9110):
// one disk file, or a chain whose parents lie beside it (found by name:
// a web server cannot list a folder). The query string of the URL (a
// presigned signature) is sent with every request and never shown.
type httpBackend struct {
	scheme, host string
	query        string
	client       *http.Client
}

// statusError is a response other than the one asked for; s3code is the
// error code an S3 store gave in its body.
type statusError struct {
	code   int
	s3code string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.code, http.StatusText(e.code))
}

func newHTTP(u *url.URL, query string) (*httpBackend, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tuneTransport(tr)
	return &httpBackend{scheme: strings.ToLower(u.Scheme), host: u.Host, query: query,
		client: &http.Client{Transport: tr}}, nil
}

func (h *httpBackend) base() string  { return h.scheme + "://" + h.host }
func (h *httpBackend) canList() bool { return false }

func (h *httpBackend) url(key string) string {
	u := url.URL{Scheme: h.scheme, Host: h.host, Path: "/" + key, RawQuery: h.query}
	return u.String()
}

func (h *httpBackend) status(err error) (int, string) {
	var se *statusError
	if errors.As(err, &se) {
		return se.code, ""
	}
	return 0, ""
}

// send does one request, with the query string kept out of any error.
func (h *httpBackend) send(req *http.Request) (*http.Response, error) {
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("%s: %w", ue.Op, ue.Err) // ue.URL holds the query
		}
		return nil, err
	}
	return resp, nil
}

func (h *httpBackend) open(ctx context.Context, key string, n int64) (objInfo, io.ReadCloser, error) {
	// A range GET, not HEAD: it also proves that ranges work, presigned
	// URLs are signed for GET, and the first bytes come with it.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url(key), nil)
	if err != nil {
		return objInfo{}, nil, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", n-1))
	resp, err := h.send(req)
	if err != nil {
		return objInfo{}, nil, err
	}
	o := objInfo{key: key, etag: resp.Header.Get("ETag")}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		o.mod = t
	}
	if strings.HasPrefix(o.etag, "W/") {
		o.etag = "" // a weak ETag cannot guard byte ranges
	}
	fail := func(err error) (objInfo, io.ReadCloser, error) {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return o, nil, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range")
		if o.size, err = firstRange(cr, n); err != nil {
			return fail(fmt.Errorf("%w: %v", ErrNoRanges, err))
		}
		return o, resp.Body, nil
	case http.StatusRequestedRangeNotSatisfiable: // an empty file
		return fail(nil)
	case http.StatusOK:
		return fail(ErrNoRanges)
	}
	return fail(&statusError{code: resp.StatusCode})
}

// firstRange checks the Content-Range of a response to a request for the
// first n bytes of an object ("bytes 0-END/SIZE") and returns the
// object's size.
func firstRange(cr string, n int64) (int64, error) {
	bad := fmt.Errorf("Content-Range %q is not the first %d bytes of the object with its length", cr, n)
	rest, ok := strings.CutPrefix(cr, "bytes 0-")
	e, sz, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return 0, bad
	}
	end, err1 := digits(e)
	size, err2 := digits(sz)
	if err1 != nil || err2 != nil || size <= 0 || end != min(n, size)-1 {
		return 0, bad
	}
	return size, nil
}

// digits reads a decimal number of only digits (no sign, no spaces).
func digits(s string) (int64, error) {
	if s == "" || len(s) > 18 || strings.Trim(s, "0123456789") != "" {
		return 0, errors.New("not a number")
	}
	return strconv.ParseInt(s, 10, 64)
}

func (h *httpBackend) list(ctx context.Context, prefix string, page func()) ([]objInfo, error) {
	return nil, errors.ErrUnsupported
}

func (h *httpBackend) get(ctx context.Context, key, etag string, off, n int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url(key), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := h.send(req)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (io.ReadCloser, error) {
		resp.Body.Close()
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK:
		return fail(ErrNoRanges)
	default:
		return fail(&statusError{code: resp.StatusCode})
	}
	if etag != "" && resp.Header.Get("ETag") != "" && resp.Header.Get("ETag") != etag {
		return fail(ErrChanged) // a server that ignores If-Match
	}
	want := fmt.Sprintf("bytes %d-%d/", off, off+n-1)
	if !strings.HasPrefix(resp.Header.Get("Content-Range"), want) {
		return fail(fmt.Errorf("%w: asked for %s, got %q", ErrChanged, want, resp.Header.Get("Content-Range")))
	}
	return resp.Body, nil
}
