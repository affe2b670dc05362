package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"sync"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/mount"
	"github.com/ckptfs/ckptfs/nbd"
)

type serveOptions struct {
	src             sourceOptions
	listen, socket  string
	tlsCert, tlsKey string
	json            bool
}

// defaultListen is loopback only: serving a guest's disks to the network
// is something to ask for by name.
const defaultListen = "localhost:10809"

func serveCommand() *command {
	o := &serveOptions{}
	return &command{
		name: "serve", args: "SRC [--listen HOST:PORT | --socket PATH]",
		short: "serve every checkpoint's disks and volumes as read-only NBD exports (foreground; Ctrl-C to stop)",
		flags: func(f *pflag.FlagSet) {
			o.src.AddFlags(f)
			o.src.AddKeyFlags(f)
			f.StringVar(&o.listen, "listen", "", "TCP address to listen on (default "+defaultListen+" when --socket is not given)")
			f.StringVar(&o.socket, "socket", "", "Unix socket to listen on (created; removed on exit)")
			f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate: clients must use TLS")
			f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
			f.BoolVar(&o.json, "json", false, "print the exports and their sizes as one JSON object at start")
		},
		nargs: exactly(1),
		run:   o.run,
	}
}

func (o *serveOptions) run(ctx context.Context, args []string) error {
	tlsConf, err := o.tlsConfig()
	if err != nil {
		return err
	}
	if o.listen == "" && o.socket == "" {
		o.listen = defaultListen
	}
	cat, err := o.src.open(args[0])
	if err != nil {
		return err
	}
	defer cat.Close()
	for _, w := range cat.Warnings {
		fmt.Fprintf(os.Stderr, "ckptfs serve: warning: %s\n", escapeText(w))
	}
	release, err := mount.LockCatalog(cat)
	if err != nil {
		return err
	}
	defer release()
	g, err := o.src.guestOptions()
	if err != nil {
		return err
	}
	exports, err := buildExports(cat, g)
	if err != nil {
		return err
	}
	srv, err := nbd.NewServer(exports.nbd(), nbd.Options{Default: exports.defaultName, TLS: tlsConf,
		Logf: func(format string, a ...any) { fmt.Fprintf(os.Stderr, "ckptfs serve: "+format+"\n", a...) }})
	if err != nil {
		return err
	}
	listeners, err := o.listeners()
	if err != nil {
		return err
	}
	if err := o.announce(exports, listeners); err != nil {
		closeAll(listeners)
		return err
	}
	return runServer(ctx, srv, listeners, o.socket)
}

func (o *serveOptions) tlsConfig() (*tls.Config, error) {
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	if o.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s: %w", o.tlsCert, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// listeners opens the TCP address and the Unix socket asked for. An
// existing socket path is refused rather than removed: it may belong to a
// running server.
func (o *serveOptions) listeners() ([]net.Listener, error) {
	var out []net.Listener
	if o.listen != "" {
		l, err := net.Listen("tcp", o.listen)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", o.listen, err)
		}
		out = append(out, l)
	}
	if o.socket != "" {
		if _, err := os.Lstat(o.socket); err == nil {
			closeAll(out)
			return nil, fmt.Errorf("%w: socket %s already exists (another server? remove it if not)", errRefused, o.socket)
		}
		l, err := net.Listen("unix", o.socket)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("listen on %s: %w", o.socket, err)
		}
		out = append(out, l)
	}
	return out, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

// runServer serves on every listener until ctx is cancelled (SIGINT,
// SIGTERM), then lets requests in progress finish and returns.
func runServer(ctx context.Context, srv *nbd.Server, listeners []net.Listener, socket string) error {
	errs := make(chan error, len(listeners))
	var wg sync.WaitGroup
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l); err != nil {
				errs <- err
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	closeAll(listeners)
	srv.Shutdown()
	wg.Wait()
	if socket != "" {
		_ = os.Remove(socket)
	}
	return err
}

// announce prints the exports (stdout) and where they are served (stderr).
func (o *serveOptions) announce(ex *serveExports, listeners []net.Listener) error {
	var where []string
	for _, l := range listeners {
		if l.Addr().Network() == "unix" {
			where = append(where, "nbd+unix:///?socket="+l.Addr().String())
		} else {
			where = append(where, "nbd://"+l.Addr().String())
		}
	}
	if o.json {
		return printJSON(serveJSON{Listen: where, Default: ex.defaultName, Exports: ex.list})
	}
	for _, e := range ex.list {
		fmt.Fprintf(stdout, "%s\t%s\n", escapeText(e.Name), humanize.IBytes(uint64(e.Size)))
	}
	if len(ex.list) == 0 {
		return fmt.Errorf("nothing to serve: %w", fs.ErrNotExist)
	}
	first := ex.list[0].Name
	for _, w := range where {
		fmt.Fprintf(os.Stderr, "ckptfs serve: %d exports on %s (read-only), e.g. %s; Ctrl-C to stop\n",
			len(ex.list), w, exportURI(w, first))
	}
	return nil
}

// exportURI is the NBD URI of one export under a server URI.
func exportURI(server, name string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	u.Path = "/" + name
	return u.String()
}

type serveJSON struct {
	Listen  []string      `json:"listen"`
	Default string        `json:"default"`
	Exports []exportEntry `json:"exports"`
}
