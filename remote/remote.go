// Package remote reads disk files and VM folders from object stores and
// web servers without downloading them: S3 and S3-compatible stores
// (s3://BUCKET/PREFIX), Azure Blob Storage (azblob://ACCOUNT/CONTAINER/PREFIX
// or an https://ACCOUNT.blob.core.windows.net/... URL with a SAS), and any
// http(s):// URL of one file served with range requests.
//
// Each is a catalog.Source: the catalog lists, stats and opens names in it
// as it does local files, and every read is a ranged request. Reads go
// through a bounded cache of 64 KiB blocks (optionally also on disk), a
// sequential reader gets the next stretch fetched ahead by several
// requests in flight, and every
// request names the version of the object that was opened (If-Match), so an
// object replaced while it is read fails with ErrChanged instead of mixing
// old and new bytes.
//
// Credentials come from the store's usual places (the AWS SDK's default
// chain; a SAS in the URL or AZURE_STORAGE_CONNECTION_STRING for Azure) and
// never appear in names, messages or errors: a URL's query string (a SAS, a
// presigned signature) is held apart from the name the catalog sees.
package remote

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
)

// Options tunes every remote source of the process (see Configure).
type Options struct {
	// Endpoint is the service URL of an S3-compatible store or of an Azure
	// emulator (Azurite: http://127.0.0.1:10000/devstoreaccount1). Empty:
	// AWS_ENDPOINT_URL, else the provider's own.
	Endpoint string
	// CacheDir, when set, keeps read blocks on disk between runs, at most
	// CacheSize bytes (default 1 GiB).
	CacheDir  string
	CacheSize int64
	// MemCache bounds the in-memory block cache (default 128 MiB).
	MemCache int64
	// Timeout bounds the wait for a response and any stall of its body:
	// no byte for Timeout fails the request (default 30 s). A body may
	// take longer as long as it keeps coming at MinRate (deadline.go).
	Timeout time.Duration
	// MinRate is the least rate, in bytes per second, one request's body
	// must keep up, averaged over each stretch of Timeout (default
	// 16 KiB/s; negative: no floor, only the stall bound).
	MinRate int64
	// Retries is how many times a request failing with a 5xx, a 429 or a
	// network error is retried, with exponential backoff (default 4).
	Retries int
	// ReadAhead is how many bytes ahead of a sequential reader are
	// fetched (default 64 MiB: on a loaded machine a request may wait
	// tens of milliseconds for the server, and the reader must not).
	ReadAhead int64
	// Anonymous sends S3 requests unsigned (a public bucket), without
	// looking for credentials; they are also unsigned when the AWS chain
	// finds none.
	Anonymous bool
	// InFlight bounds the read-ahead requests one object has in flight at
	// once (default 4); reads that wait are not bounded by it.
	InFlight int
}

// BlockSize is the unit of the caches. A request covers a run of blocks:
// the ones a read or a read-ahead hint needs, up to MaxRequest, so that a
// child layer's scattered sector runs cost what they hold, not a large
// block each, and a sequential read costs few requests.
const BlockSize = 64 << 10

// MaxRequest bounds the bytes one request asks for. Blocks are readable
// as their bytes arrive, so a large request costs a reader no latency and
// saves the store's per-request work (SeaweedFS: 16 MiB requests read a
// 512 MiB disk about 20% faster than 4 MiB ones; 32 MiB against 16,
// medians of 9 interleaved at load 7: Azurite 0.63 -> 0.83 of a plain
// download, its CPU 0.95 -> 0.86 s, nginx 0.67 -> 0.77, SeaweedFS
// unchanged; 64 MiB, with a read-ahead of 128 MiB, no better). A
// sequential reader's read-ahead (half of ReadAhead at a time) so costs
// one request per refill. The rate floor, not a bound on the whole body,
// ends a request that stops coming (deadline.go), so a long request is
// safe on a slow link; and read-ahead fills its blocks only near the
// reader (throttle.go), so it costs no more memory than a short one.
const MaxRequest = 32 << 20

// readAround is the least a read that misses the caches fetches: the
// aligned stretch around it, as the kernel reads around a page fault.
// Opening a disk reads its header, region tables and metadata, close
// together: one request serves them all.
const readAround = 1 << 20

// firstRead is what a read at offset 0 of an object that is not a disk
// file (a VM configuration) fetches when it misses; a disk file's first
// read fetches its head and what opening it reads (openplan.go).
const firstRead = 4 << 20

var (
	cfgMu sync.Mutex
	cfg   = Options{}
)

// Configure sets the options of the sources opened from now on.
func Configure(o Options) {
	cfgMu.Lock()
	defer cfgMu.Unlock()
	cfg = o
	resetCaches()
}

func options() Options {
	cfgMu.Lock()
	o := cfg
	cfgMu.Unlock()
	if o.MemCache <= 0 {
		o.MemCache = 128 << 20
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 1 << 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MinRate == 0 {
		o.MinRate = defaultMinRate
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 4
	}
	if o.ReadAhead <= 0 {
		o.ReadAhead = 64 << 20
	}
	if o.InFlight <= 0 {
		o.InFlight = 4
	}

	return o
}

// Stats counts what the sources of the process did.
type Stats struct {
	Requests int64 // requests sent, retries included
	Retries  int64 // of which retries
	Bytes    int64 // payload bytes received
	Hits     int64 // blocks served from a cache
	// Fresh is the block memory allocated, not taken from the pool: each
	// 4 KiB of it costs a page fault when first filled.
	Fresh int64
}

var stats struct{ requests, retries, bytes, hits, fresh atomic.Int64 }

// Counters returns the process-wide counts so far.
func Counters() Stats {
	return Stats{stats.requests.Load(), stats.retries.Load(), stats.bytes.Load(), stats.hits.Load(), stats.fresh.Load() * BlockSize}
}

// Register makes catalog.Open read s3://, azblob://, https:// and http://
// names. A SRC whose URL carries credentials in its query string should go
// through Resolve instead, so that the catalog never holds them.
func Register() {
	for _, s := range []string{"s3", "azblob", "http", "https"} {
		catalog.RegisterScheme(s, func(src string) (catalog.Source, error) {
			_, s, err := Resolve(src)
			return s, err
		})
	}
}

// IsRemote reports whether src names something this package reads.
func IsRemote(src string) bool {
	u, err := url.Parse(src)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "s3", "azblob", "http", "https":
		return u.Host != ""
	}
	return false
}

// Resolve opens the source that reads src and returns the name to give
// catalog.Open with it: src without its query string (a SAS or a presigned
// signature), which the source keeps and sends but never shows. A src that
// is not remote returns (src, nil, nil).
func Resolve(src string) (string, catalog.Source, error) {
	if !IsRemote(src) {
		return src, nil, nil
	}
	u, err := url.Parse(src)
	if err != nil {
		return "", nil, &Error{Op: "open", Name: Redact(src), Err: ErrBadURL}
	}
	query := u.RawQuery
	u.RawQuery, u.ForceQuery, u.Fragment = "", false, ""
	opt := options()
	ctx := context.Background()
	var b backend
	key := strings.Trim(u.Path, "/")
	switch strings.ToLower(u.Scheme) {
	case "s3":
		b, err = newS3(ctx, u, opt)
	case "azblob":
		b, key, err = newAzure(ctx, u, "", opt)
	default:
		if isAzureURL(u, query) {
			b, key, err = newAzure(ctx, u, query, opt)
		} else {
			b, err = newHTTP(u, query)
		}
	}
	if err != nil {
		return "", nil, err
	}
	name := b.base()
	if key != "" {
		name += "/" + key
	}
	return name, newSource(name, b, opt), nil
}

var perObject sync.Map // name -> *atomic.Int64

func countFor(name string) {
	c, ok := perObject.Load(name)
	if !ok {
		c, _ = perObject.LoadOrStore(name, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
}

// RequestsFor returns how many requests (stat, list, reads, retries) were
// sent about one name (an object, or a folder's listing) so far.
func RequestsFor(name string) int64 {
	if c, ok := perObject.Load(name); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// maxIdle is the pool of idle connections kept per host: enough for the
// read-ahead of a chain's layers and the reads waiting on them.
const maxIdle = 64

// WriteStats writes the process's counts to w: totals, then the requests
// sent about each object or folder, by name (never with a query string).
func WriteStats(w io.Writer) {
	c := Counters()
	fmt.Fprintf(w, "remote: %d requests (%d retries), %d bytes received, %d blocks from a cache, %d MiB of fresh block memory\n",
		c.Requests, c.Retries, c.Bytes, c.Hits, c.Fresh>>20)
	var names []string
	perObject.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "remote: %6d  %s\n", RequestsFor(n), Redact(n))
	}
}
