package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
)

var (
	// ErrChanged means an object was replaced or deleted since it was
	// opened: its bytes can no longer be read as one version.
	ErrChanged = errors.New("remote: object changed since it was opened")
	// ErrNoRanges means a server answered a range request with the whole
	// file: it cannot be read in place.
	ErrNoRanges = errors.New("remote: server does not serve byte ranges")
	// ErrBadURL means a SRC could not be parsed as a remote name.
	ErrBadURL = errors.New("remote: malformed URL")
	// ErrUnavailable means the store kept failing (5xx, throttling, network
	// errors) through every retry, or did not answer within the timeout.
	ErrUnavailable = errors.New("remote: store unavailable")
)

// Error is a failed operation on one object. Its message names the
// object (never a credential) and the HTTP status; Unwrap gives
// fs.ErrNotExist (404), fs.ErrPermission (401, 403), ErrChanged (412),
// ErrUnavailable or the underlying cause.
type Error struct {
	Op     string // "stat", "list", "read", "open"
	Name   string // the object's name, without query string
	Status int    // HTTP status, 0 for a network error
	Code   string // the store's error code, when it gave one
	Err    error
}

func (e *Error) Error() string {
	msg := e.Op + " " + e.Name + ": "
	switch {
	case e.Status != 0 && e.Code != "":
		msg += fmt.Sprintf("HTTP %d %s: ", e.Status, e.Code)
	case e.Status != 0:
		msg += fmt.Sprintf("HTTP %d: ", e.Status)
	}
	return Redact(msg + e.Err.Error())
}

func (e *Error) Unwrap() error { return e.Err }

// statusErr maps an HTTP status to the error an Error wraps.
func statusErr(status int, cause error) error {
	switch status {
	case 404:
		return fmt.Errorf("no such object: %w", fs.ErrNotExist)
	case 401, 403:
		return fmt.Errorf("access denied (check the credentials): %w", fs.ErrPermission)
	case 412:
		return ErrChanged
	case 416:
		return fmt.Errorf("range not satisfiable: %w", ErrChanged)
	}
	if status >= 500 || status == 429 {
		return fmt.Errorf("%w: %v", ErrUnavailable, cause)
	}
	return cause
}

// retryable tells whether a failed request may succeed when sent again.
func retryable(status int, err error) bool {
	if status == 0 {
		return err != nil && !errors.Is(err, ErrChanged) && !errors.Is(err, fs.ErrNotExist) &&
			!errors.Is(err, fs.ErrPermission) && !errors.Is(err, ErrNoRanges)
	}
	return status >= 500 || status == 429 || status == 408
}

var (
	// A URL's query string, and any signature-like parameter standing
	// alone, as a SAS or presigned URL carries them.
	queryRE  = regexp.MustCompile(`(?i)(https?://[^\s"'?]*)\?[^\s"']*`)
	secretRE = regexp.MustCompile(`(?i)\b(sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|accountkey|sharedaccesssignature|se|skoid|sktid)=[^&\s;"']*`)
)

// Redact removes query strings of URLs and credential parameters from s,
// for anything shown to a user.
func Redact(s string) string {
	s = queryRE.ReplaceAllString(s, "$1?REDACTED")
	return secretRE.ReplaceAllString(s, "$1=REDACTED")
}
