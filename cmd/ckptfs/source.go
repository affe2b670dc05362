package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ckptfs/ckptfs/catalog"
	"github.com/ckptfs/ckptfs/guest"
	"github.com/ckptfs/ckptfs/mount"
	"github.com/ckptfs/ckptfs/remote"
	"github.com/ckptfs/ckptfs/vhdx"
)

// sourceOptions are the flags every command that reads SRC shares.
type sourceOptions struct {
	ignoreLinkage   bool
	noConfig        bool
	ignoreChecksums bool
	// Keys of encrypted volumes, BitLocker and LUKS (AddKeyFlags): given on
	// the command line (--key, or its older name --bitlocker; two flags
	// cannot share one slice in pflag), and the lines of files. They are
	// never printed; errors name a key by its place in the list.
	keys, moreKeys    []string
	keyFile, keysFile string
	// noRecovery: show filesystems without replaying their journals.
	noRecovery bool
	guest      *guest.Options
	// Remote sources (s3://, azblob://, https://): see package remote.
	endpoint  string
	cacheDir  string
	cacheSize string
	// cacheMem bounds the volume readers' caches together (cachemem.go).
	cacheMem string
	timeout  time.Duration
	minRate  string
	noSign   bool
}

// AddKeyFlags adds --bitlocker and --bitlocker-keys, for the commands that
// open guest volumes.
func (o *sourceOptions) AddKeyFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.moreKeys, "key", nil, "a key for encrypted volumes (repeatable), tried on every BitLocker and LUKS volume: password:TEXT (a BitLocker password or a LUKS passphrase), a BitLocker recovery password, or a key file (BitLocker .BEK, LUKS key file); prefer --keys, which keeps keys out of shell history and ps")
	f.StringVar(&o.keysFile, "keys", "", "a file of keys, one per line (as --key takes them; blank lines and lines starting with # are skipped)")
	f.StringArrayVar(&o.keys, "bitlocker", nil, "the same as --key")
	f.BoolVar(&o.noRecovery, "no-recovery", false, "show ext, XFS and btrfs volumes as written back on the disk: a dirty journal or log (a checkpoint of a running guest) is not replayed, as mount -o norecovery")
	f.StringVar(&o.keyFile, "bitlocker-keys", "", "the same as --keys")
}

// guestOptions returns the options guest volumes are opened with: the
// keys, read and checked once.
func (o *sourceOptions) guestOptions() (*guest.Options, error) {
	if o.guest != nil {
		return o.guest, nil
	}
	// info and check open volumes without a catalog: the budget is set
	// here too.
	if err := o.setCacheMem(); err != nil {
		return nil, err
	}
	keys := append(append([]string(nil), o.keys...), o.moreKeys...)
	for _, kf := range []struct{ flag, name string }{{"--bitlocker-keys", o.keyFile}, {"--keys", o.keysFile}} {
		if kf.name == "" {
			continue
		}
		b, err := os.ReadFile(kf.name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kf.flag, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			keys = append(keys, line)
		}
	}
	g := &guest.Options{Keys: keys, NoRecovery: o.noRecovery}
	if err := g.CheckKeys(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	o.guest = g
	return g, nil
}

func (o *sourceOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.ignoreLinkage, "ignore-linkage", false, "accept a parent whose identity does not match its child (reads garbage if it really changed)")
	f.BoolVar(&o.noConfig, "no-config", false, "ignore VM configuration; name checkpoints by disk file")
	f.BoolVar(&o.ignoreChecksums, "ignore-checksums", false, "read a VHD whose footer or header checksum is wrong (check still reports it)")
	f.StringVar(&o.endpoint, "endpoint", "", "service URL of an S3-compatible store or an Azure emulator, for s3:// and azblob:// sources (default: AWS_ENDPOINT_URL, else the provider's)")
	f.StringVar(&o.cacheDir, "cache-dir", "", "keep blocks read from a remote source in this folder between runs")
	f.StringVar(&o.cacheSize, "cache-size", "1G", "bound of --cache-dir (bytes, or with K, M, G, T)")
	f.StringVar(&o.cacheMem, "cache-mem", "", "bound of the memory the volume readers' caches hold together, over every volume opened (bytes, or with K, M, G, T; 0: each volume's own bounds only; default: an eighth of the memory, at most 512M)")
	f.BoolVar(&o.noSign, "no-sign-request", false, "read an s3:// source unsigned, as a public bucket allows (also done when the AWS credential chain finds nothing)")
	f.DurationVar(&o.timeout, "remote-timeout", 30*time.Second, "a request to a remote source fails when its answer does not come within this time or its data stops for this long (then it is retried 4 times, as on 5xx, throttling and network errors, asking for what is missing); a large one may take longer as long as its data keeps coming at --remote-min-rate")
	f.StringVar(&o.minRate, "remote-min-rate", "16K", "least rate (bytes per second, or with K, M) one request's data must keep up, averaged over each --remote-timeout; a slower one is taken as stuck and retried (0: no floor)")
}

// remote configures the remote sources and resolves src: the name the
// catalog gets (without a URL's credentials) and the source that reads
// it (nil for a local path).
func (o *sourceOptions) remote(src string) (string, catalog.Source, error) {
	if !remote.IsRemote(src) {
		return src, nil, nil
	}
	size, err := parseSize(o.cacheSize)
	if err != nil {
		return "", nil, fmt.Errorf("%w: --cache-size: %v", errUsage, err)
	}
	rate, err := parseSize(o.minRate)
	if err != nil {
		return "", nil, fmt.Errorf("%w: --remote-min-rate: %v", errUsage, err)
	}
	if rate == 0 {
		rate = -1 // no floor (0 is the package's default)
	}
	remote.Configure(remote.Options{Endpoint: o.endpoint, CacheDir: o.cacheDir, CacheSize: size, Timeout: o.timeout,
		MinRate: rate, Anonymous: o.noSign})
	return remote.Resolve(src)
}

// parseSize reads a byte count with an optional K, M, G or T suffix
// (powers of 1024).
func parseSize(s string) (int64, error) { return mount.ParseSize(s) }

func (o *sourceOptions) open(src string) (*catalog.Catalog, error) {
	if err := o.setCacheMem(); err != nil {
		return nil, err
	}
	src, rs, err := o.remote(src)
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Open(src, catalog.Options{IgnoreLinkage: o.ignoreLinkage, NoConfig: o.noConfig,
		IgnoreChecksums: o.ignoreChecksums, Source: rs, Members: diskMembers})
	if err != nil {
		if errors.Is(err, vhdx.ErrChecksum) && !o.ignoreChecksums {
			return nil, fmt.Errorf("%w (--ignore-checksums reads it anyway)", err)
		}
		return nil, err
	}
	return cat, nil
}

// openCheckpoint opens SRC and finds one checkpoint in it; the caller
// closes the catalog.
func (o *sourceOptions) openCheckpoint(src, name string) (*catalog.Catalog, *catalog.Checkpoint, error) {
	cat, err := o.open(src)
	if err != nil {
		return nil, nil, err
	}
	_, cp, err := findCheckpoint(cat, name)
	if err != nil {
		cat.Close()
		return nil, nil, err
	}
	return cat, cp, nil
}

// findCheckpoint resolves a checkpoint name, id or disk stem.
func findCheckpoint(cat *catalog.Catalog, s string) (*catalog.VM, *catalog.Checkpoint, error) {
	vm, cp, err := cat.Find(s)
	if errors.Is(err, catalog.ErrNotFound) {
		for _, p := range cat.Pending {
			if strings.EqualFold(p.Checkpoint, s) {
				return nil, nil, fmt.Errorf("checkpoint %q: %w: %s", s, catalog.ErrMerging, p.Message)
			}
		}
		var names []string
	list:
		for _, vm := range cat.VMs {
			for _, c := range vm.Checkpoints {
				if len(names) == 20 {
					names = append(names, "...")
					break list
				}
				names = append(names, strconv.Quote(c.Name))
			}
		}
		return nil, nil, fmt.Errorf("checkpoint %q: %w (see ckptfs ls; this source has %s)", s, err, strings.Join(names, ", "))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %q: %w", s, err)
	}
	if err := cp.ReadErr(); err != nil {
		return nil, nil, err // an interrupted merge is replacing its content
	}
	return vm, cp, nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
