package remote

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzNames: any SRC and any names given to a web source's path rules
// never panic, Join and Dir stay under the source's base, and Redact
// leaves no query string of a URL.
func FuzzNames(f *testing.F) {
	f.Add("https://h.example/a/b.vhdx?sig=abc", "../../x.avhdx", "Virtual Hard Disks/y.vhdx")
	f.Add("http://h:1/", "", "/")
	f.Add("https://acct.blob.core.windows.net/c/p?sv=1&sig=2", "..", "a/../../..")
	f.Add("azblob://a/c/p", "x", "y")
	f.Fuzz(func(t *testing.T, src, rel, name string) {
		if strings.HasPrefix(strings.ToLower(src), "s3:") {
			return // reads the AWS configuration files
		}
		red := Redact(src + " " + rel)
		if i := strings.Index(red, "?"); i >= 0 && strings.HasPrefix(strings.ToLower(src), "http") {
			if rest := red[i+1:]; strings.Contains(rest, "sig=") && !strings.Contains(rest, "sig=REDACTED") {
				t.Fatalf("Redact(%q) = %q", src, red)
			}
		}
		n, s, err := Resolve(src)
		if err != nil || s == nil {
			return
		}
		base := s.(*source).b.base()
		for _, p := range []string{s.Join(n, rel), s.Dir(n), s.Join(s.Dir(n), name)} {
			if p != base && !strings.HasPrefix(p, base+"/") {
				t.Fatalf("%q left %q", p, base)
			}
			// A name may hold a '?' of its own (the URL escapes it), and
			// the query's text may be part of the host or a name ("http://a?a"
			// joined with "0" is "http://a/0"): what must not come
			// through is the source's query as a query.
			if i := strings.Index(src, "?"); i >= 0 {
				q := src[i+1:]
				if q != "" && strings.Contains(p, "?"+q) && !strings.Contains(rel, q) && !strings.Contains(name, q) {
					t.Fatalf("%q holds the query string", p)
				}
			}
		}
		s.Abs(name)
	})
}

// ExampleRedact shows what a message keeps of a SAS URL.
func ExampleRedact() {
	fmt.Println(Redact("open https://acct.blob.core.windows.net/vhds/web01?sv=2024-11-04&sig=c2VjcmV0: HTTP 403"))
	// Output: open https://acct.blob.core.windows.net/vhds/web01?REDACTED HTTP 403
}

// FuzzContentRange: any Content-Range a server sends to the GET that
// describes an object never panics, and one accepted says the object has
// bytes and that the first min(n, size) of them came.
func FuzzContentRange(f *testing.F) {
	f.Add("bytes 0-327679/1073741824", int64(327680))
	f.Add("bytes 0-99/100", int64(65536))
	f.Add("bytes 0-0/*", int64(1))
	f.Add("bytes 5-9/10", int64(10))
	f.Add("bytes 0--1/0", int64(1))
	f.Fuzz(func(t *testing.T, cr string, n int64) {
		if n <= 0 {
			return
		}
		size, err := firstRange(cr, n)
		if err != nil {
			return
		}
		if size <= 0 {
			t.Fatalf("%q: size %d", cr, size)
		}
		var end, sz int64
		if _, err := fmt.Sscanf(cr, "bytes 0-%d/%d", &end, &sz); err != nil || sz != size || end != min(n, size)-1 {
			t.Fatalf("%q (first %d) accepted as an object of %d bytes", cr, n, size)
		}
	})
}
