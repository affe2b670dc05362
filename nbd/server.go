package nbd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Limits that bound what one client can make the server hold or do.
const (
	// maxRequest is the largest read or block-status length served, and
	// the maximum block size advertised: a longer request gets EINVAL
	// (EOVERFLOW for a "don't fragment" read, as the protocol asks).
	maxRequest = 32 << 20
	// defaultInFlight bounds the bytes of data all requests of one
	// connection being served at once may hold.
	defaultInFlight = 64 << 20
	// maxOptionData bounds one option's payload; anything longer is a
	// client we stop talking to.
	maxOptionData = 64 << 10
	// maxString is the protocol's own bound on a string (export names,
	// metadata context queries).
	maxString = 4096
	// handshakeTimeout bounds the whole option phase, so a client that
	// connects and says nothing does not hold a connection forever.
	handshakeTimeout = 60 * time.Second
	// writeTimeout bounds one reply: a client that stops reading is
	// dropped instead of blocking a serving goroutine.
	writeTimeout = 60 * time.Second
)

// ErrConfig is returned for an invalid set of exports.
var ErrConfig = errors.New("nbd: invalid export configuration")

// Options tune a Server.
type Options struct {
	// Default is the export served to a client that asks for the empty
	// name (qemu's nbd://host without a path). Empty: the first export.
	Default string
	// TLS, when set, makes TLS mandatory: every option other than
	// NBD_OPT_STARTTLS and NBD_OPT_ABORT is refused until the client
	// upgrades (the protocol's FORCEDTLS mode).
	TLS *tls.Config
	// MaxInFlight bounds the data bytes held per connection; 0: 64 MiB.
	MaxInFlight int64
	// Logf receives one line per connection event worth telling
	// (refused handshakes, dropped clients); nil: silent.
	Logf func(format string, args ...any)
}

// Server serves a fixed set of exports to any number of clients.
type Server struct {
	exports     map[string]*Export
	order       []*Export
	defaultName string
	opt         Options

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	shutdown bool
	wg       sync.WaitGroup
}

// NewServer checks the exports (unique names within the protocol's
// string rules, non-negative sizes, data present) and returns a server.
func NewServer(exports []*Export, opt Options) (*Server, error) {
	s := &Server{exports: map[string]*Export{}, opt: opt, conns: map[net.Conn]struct{}{}}
	if opt.MaxInFlight <= 0 {
		s.opt.MaxInFlight = defaultInFlight
	}
	s.opt.MaxInFlight = max(s.opt.MaxInFlight, maxRequest)
	for _, e := range exports {
		switch {
		case e == nil || e.Data == nil:
			return nil, fmt.Errorf("%w: an export has no data", ErrConfig)
		case len(e.Name) > maxString || strings.ContainsRune(e.Name, 0):
			return nil, fmt.Errorf("%w: export name %.40q is longer than %d bytes or holds NUL", ErrConfig, e.Name, maxString)
		case e.Size < 0:
			return nil, fmt.Errorf("%w: export %q has a negative size", ErrConfig, e.Name)
		case s.exports[e.Name] != nil:
			return nil, fmt.Errorf("%w: two exports named %q", ErrConfig, e.Name)
		}
		s.exports[e.Name] = e
		s.order = append(s.order, e)
	}
	s.defaultName = opt.Default
	if s.defaultName == "" && len(s.order) > 0 {
		s.defaultName = s.order[0].Name
	}
	if _, ok := s.exports[s.defaultName]; !ok && s.defaultName != "" {
		return nil, fmt.Errorf("%w: default export %q does not exist", ErrConfig, s.defaultName)
	}
	return s, nil
}

// lookup finds an export by name; the empty name is the default export.
func (s *Server) lookup(name string) *Export {
	if name == "" {
		name = s.defaultName
	}
	return s.exports[name]
}

// Serve accepts connections on l until l is closed or Shutdown is called,
// serving each in its own goroutine. It returns nil after Shutdown.
func (s *Server) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isShutdown() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if !s.track(c) {
			c.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

// Shutdown stops every connection: requests being served finish, then
// the connections close. Call it after closing the listener.
func (s *Server) Shutdown() {
	s.mu.Lock()
	s.shutdown = true
	for c := range s.conns {
		// Unblocks the request reader; replies in progress still go out
		// because only reads are cut.
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *Server) logf(format string, args ...any) {
	if s.opt.Logf != nil {
		s.opt.Logf(format, args...)
	}
}

// serveConn runs one client: the handshake, then transmission.
func (s *Server) serveConn(raw net.Conn) {
	c := newConn(raw)
	defer func() { c.close() }()
	_ = raw.SetDeadline(time.Now().Add(handshakeTimeout))
	sess, err := s.handshake(c)
	if err != nil {
		if !errors.Is(err, errAbort) {
			s.logf("nbd: %s: handshake: %v", raw.RemoteAddr(), err)
		}
		return
	}
	_ = c.net.SetDeadline(time.Time{})
	if s.isShutdown() {
		return
	}
	if err := s.transmit(c, sess); err != nil && !s.isShutdown() {
		s.logf("nbd: %s: %s: %v", raw.RemoteAddr(), sess.export.Name, err)
	}
}
