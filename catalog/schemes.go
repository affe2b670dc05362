package catalog

import (
	"regexp"
	"strings"
	"sync"
)

// Sources other than the local filesystem are picked by the scheme of the
// SRC the user gives (s3://, azblob://, https://): a package that reads
// one registers it, and Open, OpenChain and every command then read such
// a SRC without a change of their own.

var (
	schemesMu sync.RWMutex
	schemes   = map[string]func(src string) (Source, error){}
	schemeRE  = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*)://`)
)

// RegisterScheme makes Open read a SRC of the form "scheme://..." through
// the Source open returns. Names in that source are full URLs as the
// source spells them (src itself names the folder or file asked for).
func RegisterScheme(scheme string, open func(src string) (Source, error)) {
	schemesMu.Lock()
	defer schemesMu.Unlock()
	schemes[strings.ToLower(scheme)] = open
}

// sourceFor returns the source that reads src: a registered scheme's, or
// the local filesystem (a path, or a name whose scheme nobody reads).
func sourceFor(src string) (Source, error) {
	m := schemeRE.FindStringSubmatch(src)
	if m == nil {
		return Local{}, nil
	}
	schemesMu.RLock()
	open := schemes[strings.ToLower(m[1])]
	schemesMu.RUnlock()
	if open == nil {
		return Local{}, nil
	}
	return open(src)
}
