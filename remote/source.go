package remote

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ckptfs/ckptfs/catalog"
)

// objInfo describes one object, or one folder (a common prefix) of a
// listing.
type objInfo struct {
	key   string // full key, no leading or trailing "/"
	size  int64
	mod   time.Time
	etag  string
	dir   bool
	pages bool // an Azure page blob: its unwritten ranges are known
}

// backend is one kind of store: it speaks the store's protocol and says
// which HTTP status a failure had, so that source can retry and name it.
type backend interface {
	// base is what names start with: "s3://bucket", "azblob://acct/cont".
	base() string
	// open describes one object and returns the body of its first n
	// bytes (fewer when it is shorter; nil when it is empty), in one
	// ranged GET: the response says the object's size (Content-Range),
	// ETag and date as a HEAD does, and what the first read wants comes
	// with it.
	open(ctx context.Context, key string, n int64) (objInfo, io.ReadCloser, error)
	// list returns one level under prefix ("" or ending in "/"): objects
	// and folders. It calls page after each page of the listing came.
	list(ctx context.Context, prefix string, page func()) ([]objInfo, error)
	// get returns the body of n bytes from offset off of the object,
	// which must still have the ETag etag (when not empty); the caller
	// reads it as it arrives and closes it.
	get(ctx context.Context, key, etag string, off, n int64) (io.ReadCloser, error)
	// status returns the HTTP status and the store's error code of a
	// failure, 0 for a network error.
	status(err error) (int, string)
	// canList is false for a plain web server.
	canList() bool
}

// pageRanger is a backend whose page objects (Azure page blobs) say
// which of their ranges were ever written.
type pageRanger interface {
	written(ctx context.Context, key, etag string, alive func()) ([][2]int64, error)
}

// source is a catalog.Source over one backend. Names are base + "/" + key.
type source struct {
	name string // what the user named, without query
	b    backend
	opt  Options

	mu     sync.Mutex
	listed map[string][]catalog.FileInfo // by folder key, from ReadDir
	stated map[string]statResult         // by key, from Stat
	pages  sync.Map                      // keys of page blobs
	warmed map[string]bool               // keys whose first bytes were asked for ahead
	// warmFiles holds the opens warm made, by key: the next Open of the
	// key returns it.
	warmFiles map[string]*file
	listing   map[string]chan struct{} // folders being listed, closed when done
}

type statResult struct {
	fi  catalog.FileInfo
	err error
}

func newSource(name string, b backend, opt Options) *source {
	return &source{name: name, b: b, opt: opt, listed: map[string][]catalog.FileInfo{}, stated: map[string]statResult{},
		warmed: map[string]bool{}, warmFiles: map[string]*file{}, listing: map[string]chan struct{}{}}
}

func (s *source) String() string { return s.name }

// key returns the key a name stands for.
func (s *source) key(name string) (string, error) {
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	base := s.b.base()
	if name == base {
		return "", nil
	}
	if !strings.HasPrefix(name, base+"/") {
		return "", &Error{Op: "open", Name: Redact(name), Err: fmt.Errorf("not in %s: %w", base, fs.ErrNotExist)}
	}
	k := path.Clean("/" + name[len(base)+1:])
	return strings.TrimPrefix(k, "/"), nil
}

func (s *source) nameOf(key string) string {
	if key == "" {
		return s.b.base()
	}
	return s.b.base() + "/" + key
}

// do sends one request through fn, bounded by the rules of a watch
// (deadline.go), retrying failures that may pass (5xx, 429, network
// errors, a stalled or trickling body) with exponential backoff. fn
// reports the body bytes it reads to the watch.
func (s *source) do(op, key string, fn func(ctx context.Context, w *watch) error) error {
	for try := 0; ; try++ {
		ctx, w := startWatch(s.opt.Timeout, s.opt.MinRate)
		stats.requests.Add(1)
		countFor(s.nameOf(key))
		err := fn(ctx, w)
		if v := w.stop(); v != nil && err != nil {
			err = v // why it was cancelled, not "context canceled"
		}
		if err == nil {
			return nil
		}
		st, code := s.b.status(err)
		if try >= s.opt.Retries || !retryable(st, err) {
			e := &Error{Op: op, Name: s.nameOf(key), Status: st, Code: code}
			switch {
			case st == 404 && op == "read":
				// Opened, then deleted: EIO for a mount, not ENOENT.
				e.Err = fmt.Errorf("deleted since it was opened: %w", ErrChanged)
			case st != 0:
				e.Err = statusErr(st, err)
			case errors.Is(err, ErrChanged), errors.Is(err, ErrNoRanges), errors.Is(err, fs.ErrNotExist):
				e.Err = err
			default:
				e.Err = fmt.Errorf("%w after %d tries: %v", ErrUnavailable, try+1, err)
			}
			return e
		}
		stats.retries.Add(1)
		d := min(100*time.Millisecond<<try, 5*time.Second)
		time.Sleep(d/2 + rand.N(d/2+1))
	}
}

func (s *source) info(o objInfo) catalog.FileInfo {
	fi := catalog.FileInfo{Name: s.nameOf(o.key), Size: o.size, ModTime: o.mod, IsDir: o.dir}
	if o.dir {
		fi.Kind = "a folder"
		return fi
	}
	fi.Usable, fi.Kind = true, "an object"
	if o.pages {
		s.pages.Store(o.key, true)
	}
	h := fnv.New64a()
	h.Write([]byte(fi.Name))
	// The name is part of the identity: two objects with one content
	// share an ETag but are not one file.
	fi.ID = catalog.Identity{Ino: h.Sum64(), Version: o.etag}
	return fi
}

// cached returns what a listing of name's folder said about it.
func (s *source) cached(key string) (catalog.FileInfo, bool) {
	dir := path.Dir(key)
	if dir == "." {
		dir = ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ents, ok := s.listed[dir]
	if !ok {
		return catalog.FileInfo{}, false
	}
	name := s.nameOf(key)
	i := sort.Search(len(ents), func(i int) bool { return ents[i].Name >= name })
	if i < len(ents) && ents[i].Name == name {
		return ents[i], true
	}
	// Listed, absent: a sibling probed by the parent search.
	return catalog.FileInfo{Name: name}, true
}

// Stat answers from the folder's listing when there is one, else from
// what an earlier Stat of the name found (the catalog's parent search
// asks about one name several times), else with a request.
func (s *source) Stat(name string) (catalog.FileInfo, error) {
	key, err := s.key(name)
	if err != nil {
		return catalog.FileInfo{}, err
	}
	s.mu.Lock()
	r, ok := s.stated[key]
	s.mu.Unlock()
	if ok {
		return r.fi, r.err
	}
	fi, err := s.stat(key)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		s.mu.Lock()
		s.stated[key] = statResult{fi, err}
		s.mu.Unlock()
	}
	return fi, err
}

func (s *source) stat(key string) (catalog.FileInfo, error) {
	var err error
	if fi, ok := s.cached(key); ok {
		if fi.Kind == "" {
			return fi, &Error{Op: "stat", Name: s.nameOf(key), Status: 404, Err: statusErr(404, nil)}
		}
		return fi, nil
	}
	if key == "" && s.b.canList() {
		return catalog.FileInfo{Name: s.nameOf(key), IsDir: true, Kind: "a folder"}, nil
	}
	s.listAhead(key)
	// One ranged GET of the object's first bytes, not a HEAD then a GET:
	// it describes the object as a HEAD does, and its first read (or
	// the open of a disk) finds them cached.
	var (
		o objInfo
		f *file
	)
	err = s.do("stat", key, func(ctx context.Context, w *watch) error {
		var body io.ReadCloser
		var err error
		t0 := time.Now()
		o, body, err = s.b.open(ctx, key, firstBytes(key))
		if err != nil || body == nil {
			return err
		}
		defer body.Close()
		th := time.Now()
		f = newFile(s, key, s.info(o))
		f.adopt(w, body)
		if t := trace(); t != nil {
			t.event("req", t0, time.Now(), f.id, 0, min(firstBytes(key), o.size), fmt.Sprintf(" %d", th.Sub(t0).Microseconds()))
		}
		return nil
	})
	if err == nil {
		if f == nil {
			return s.info(o), nil
		}
		s.mu.Lock()
		s.warmFiles[key] = f // what the next Open of key returns
		s.mu.Unlock()
		f.planOpen() // what the first read of a disk would start
		return f.fi, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !s.b.canList() {
		return catalog.FileInfo{}, err
	}
	// Not an object: a folder when something lies under it.
	ents, lerr := s.list(key)
	if lerr != nil {
		return catalog.FileInfo{}, lerr
	}
	if len(ents) == 0 {
		return catalog.FileInfo{}, err
	}
	return catalog.FileInfo{Name: s.nameOf(key), IsDir: true, Kind: "a folder"}, nil
}

// listAhead starts listing the folder of a differencing disk about to
// be described, when it was not yet: opening it warms its siblings
// (warm), which waits for that listing, and the catalog's parent search
// lists it anyway. Sent with the GET of its head rather than after it,
// the listing costs the open no round trip of its own.
func (s *source) listAhead(key string) {
	if !isDifferencingName(key) || !s.b.canList() {
		return
	}
	dir := path.Dir(key)
	if dir == "." {
		dir = ""
	}
	s.mu.Lock()
	_, listed := s.listed[dir]
	_, busy := s.listing[dir]
	s.mu.Unlock()
	if !listed && !busy {
		go s.list(dir) // a failure is the next list's to report
	}
}

func (s *source) list(key string) ([]catalog.FileInfo, error) {
	s.mu.Lock()
	for {
		ents, ok := s.listed[key]
		if ok {
			s.mu.Unlock()
			return ents, nil
		}
		// One listing of a folder at a time (warm lists ahead of the
		// catalog, which asks for the same folder).
		busy, ok := s.listing[key]
		if !ok {
			break
		}
		s.mu.Unlock()
		<-busy
		s.mu.Lock()
	}
	busy := make(chan struct{})
	s.listing[key] = busy
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listing, key)
		s.mu.Unlock()
		close(busy)
	}()
	prefix := key
	if prefix != "" {
		prefix += "/"
	}
	var objs []objInfo
	err := s.do("list", key, func(ctx context.Context, w *watch) error {
		var err error
		objs, err = s.b.list(ctx, prefix, w.alive)
		return err
	})
	if err != nil {
		return nil, err
	}
	ents := make([]catalog.FileInfo, 0, len(objs))
	for _, o := range objs {
		if o.key == "" || o.key == key {
			continue // a folder marker object
		}
		ents = append(ents, s.info(o))
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name < ents[j].Name })
	s.mu.Lock()
	s.listed[key] = ents
	s.mu.Unlock()
	return ents, nil
}

func (s *source) ReadDir(name string) ([]catalog.FileInfo, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	if !s.b.canList() {
		return nil, &Error{Op: "list", Name: s.nameOf(key),
			Err: fmt.Errorf("a web server cannot list folders: %w", errors.ErrUnsupported)}
	}
	ents, err := s.list(key)
	return append([]catalog.FileInfo(nil), ents...), err
}

func (s *source) Open(name string) (catalog.File, error) {
	fi, err := s.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Usable {
		return nil, fmt.Errorf("%s: %w (it is %s)", fi.Name, catalog.ErrNotFile, fi.Kind)
	}
	key, _ := s.key(fi.Name)
	s.mu.Lock()
	f := s.warmFiles[key]
	delete(s.warmFiles, key)
	s.mu.Unlock()
	if f == nil || f.fi.ID != fi.ID {
		f = newFile(s, key, fi)
	}
	s.warm(key)
	return f, nil
}

// Opening a chain reads each layer's structures (headers, region
// tables, metadata, BAT), one layer after the other: a child's parent is
// known only once its metadata is read. So when a differencing disk
// (.avhdx, .avhd) of a listed folder is opened, what opening the other
// disk files of the folder that may be its chain reads is asked for at
// once, in parallel (planOpen: their heads, then their metadata and
// BATs): all of them when the folder holds a few (warmAll), else those
// whose name starts as its own does (Hyper-V names a checkpoint's disk
// <parent stem>_<GUID>), at most warmMaxDisks; a folder of many unrelated
// disks costs nothing, and neither does opening a base disk (.vhdx, .vhd:
// Hyper-V gives checkpoints' disks the other names). Their opens then
// find them in the cache. Each warmed file is what the next Open of its
// name returns (later opens have caches of their own, as every open does:
// a block cached by one open is never served to another).
const (
	warmAll      = 4
	warmMaxDisks = 16
)

// warm asks for the first bytes of key's sibling disk files, listing
// their folder first (in the background) when it was not yet: the
// catalog's parent search lists it anyway.
func (s *source) warm(key string) {
	if !s.b.canList() {
		return
	}
	dir := path.Dir(key)
	if dir == "." {
		dir = ""
	}
	s.mu.Lock()
	_, listed := s.listed[dir]
	s.warmed[key] = true
	s.mu.Unlock()
	if !isDifferencingName(key) {
		return // a base disk: no parents to open
	}
	if !listed {
		go func() {
			if _, err := s.list(dir); err == nil {
				s.warmSiblings(dir, key)
			}
		}()
		return
	}
	s.warmSiblings(dir, key)
}

func (s *source) warmSiblings(dir, key string) {
	s.mu.Lock()
	var disks, todo []catalog.FileInfo
	for _, e := range s.listed[dir] {
		if e.Usable && isDiskName(e.Name) {
			disks = append(disks, e)
		}
	}
	stem := chainStem(key)
	for _, e := range disks {
		if len(todo) == warmMaxDisks {
			break
		}
		if len(disks) > warmAll && chainStem(e.Name) != stem {
			continue
		}
		if k, err := s.key(e.Name); err == nil && !s.warmed[k] {
			s.warmed[k] = true
			todo = append(todo, e)
		}
	}
	s.mu.Unlock()
	for _, e := range todo {
		k, _ := s.key(e.Name)
		f := newFile(s, k, e)
		s.mu.Lock()
		s.warmFiles[k] = f
		s.mu.Unlock()
		f.planOpen()
	}
}

// chainStem is what the names of one chain's files start with: the base
// disk's stem, before the "_<GUID>" Hyper-V appends for a checkpoint.
func chainStem(name string) string {
	b := strings.ToLower(path.Base(name))
	b = strings.TrimSuffix(b, path.Ext(b))
	if i := strings.IndexByte(b, '_'); i > 0 {
		b = b[:i]
	}
	return b
}

// isDiskName tells the names of VHDX and VHD files.
func isDiskName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".vhdx", ".avhdx", ".vhd", ".avhd":
		return true
	}
	return false
}

func (s *source) Abs(name string) (string, error) {
	key, err := s.key(name)
	if err != nil {
		return "", err
	}
	return s.nameOf(key), nil
}

func (s *source) Join(dir, rel string) string {
	key, err := s.key(dir)
	if err != nil {
		return dir + "/" + rel
	}
	return s.nameOf(strings.TrimPrefix(path.Join("/", key, rel), "/"))
}

func (s *source) Dir(name string) string {
	key, err := s.key(name)
	if err != nil {
		return name
	}
	d := path.Dir(key)
	if d == "." {
		d = ""
	}
	return s.nameOf(d)
}
