package cursor

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"testing"
)

func TestReadSeek(t *testing.T) {
	data := []byte("0123456789")
	r := bytes.NewReader(data)
	var c Cursor
	buf := make([]byte, 4)
	steps := []struct {
		op     string
		off    int64
		whence int
		want   string
		pos    int64
		err    error
	}{
		{op: "read", want: "0123", pos: 4},
		{op: "seek", off: 2, whence: io.SeekCurrent, pos: 6},
		{op: "read", want: "6789", pos: 10},
		{op: "read", want: "", pos: 10, err: io.EOF},
		{op: "seek", off: -3, whence: io.SeekEnd, pos: 7},
		{op: "read", want: "789", pos: 10}, // short, but no EOF with bytes
		{op: "seek", off: -1, whence: io.SeekStart, pos: 10, err: fs.ErrInvalid},
		{op: "seek", off: 0, whence: 7, pos: 10, err: fs.ErrInvalid},
		{op: "seek", off: 100, whence: io.SeekStart, pos: 100},
		{op: "read", want: "", pos: 100, err: io.EOF},
		{op: "seek", off: 1, whence: io.SeekStart, pos: 1},
		{op: "read", want: "1234", pos: 5},
	}
	for i, s := range steps {
		var err error
		got := ""
		switch s.op {
		case "read":
			var n int
			n, err = c.Read(r, buf)
			got = string(buf[:n])
		case "seek":
			var pos int64
			pos, err = c.Move(s.off, s.whence, int64(len(data)), "f")
			if err == nil && pos != s.pos {
				t.Errorf("step %d: Seek gave %d, want %d", i, pos, s.pos)
			}
		}
		if got != s.want || !errors.Is(err, s.err) || (s.err == nil && err != nil) {
			t.Errorf("step %d (%s): got %q, %v; want %q, %v", i, s.op, got, err, s.want, s.err)
		}
		if c.pos != s.pos {
			t.Errorf("step %d (%s): position %d, want %d", i, s.op, c.pos, s.pos)
		}
	}
}

func TestSeekErrorNamesThePath(t *testing.T) {
	var c Cursor
	_, err := c.Move(-1, io.SeekStart, 0, "dir/file")
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "dir/file" || pe.Op != "seek" {
		t.Fatalf("error %v does not name the file", err)
	}
}
