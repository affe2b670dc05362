package remote

import (
	"strings"
	"testing"
)

// TestS3ErrorCode: only a code-like Code of an error document is shown;
// anything else a server sends (markup, long text) is not.
func TestS3ErrorCode(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>x</Message></Error>`, "PreconditionFailed"},
		{`<Error><Code>SlowDown</Code></Error>`, "SlowDown"},
		{`<Error><Code>Access denied, see http://x?sig=abc</Code></Error>`, ""},
		{`<Error><Code>` + strings.Repeat("A", 100) + `</Code></Error>`, ""},
		{`<html><body>503 Service Unavailable</body></html>`, ""},
		{``, ""},
		{`<Error><Code>NoSuch` + strings.Repeat(" ", 5000) + `Key</Code></Error>`, ""},
		{strings.Repeat("<a>", 100000), ""},
	} {
		if got := s3ErrorCode(strings.NewReader(c.body)); got != c.want {
			t.Errorf("%.40q: got %q, want %q", c.body, got, c.want)
		}
	}
}
