package catalog

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Hyper-V 2008–2012 R2 keep each VM's configuration in "Virtual
// Machines/<VM GUID>.xml" and each snapshot's in "Snapshots/<GUID>.xml":
// UTF-16LE text with a BOM whose elements are the same nested keys as the
// later binary format, leaves carrying a type attribute (string, integer,
// bytes in base64, bool). ParseVMXML turns it into the same ConfigNode tree
// as ParseVMCX, so one extractor reads both.

// maxConfigNodes bounds the number of keys kept from one file.
const maxConfigNodes = 1 << 20

// ParseVMXML reads an old-style XML configuration from r (size bytes) into
// a tree whose root has one child, the document element ("configuration").
func ParseVMXML(r io.ReaderAt, size int64) (*ConfigNode, error) {
	if size > maxConfigSize {
		return nil, configErr(0, "file too large for a VM configuration (%d bytes)", size)
	}
	buf := make([]byte, size)
	if _, err := r.ReadAt(buf, 0); err != nil && err != io.EOF {
		return nil, err
	}
	text, err := xmlToUTF8(buf)
	if err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(text))
	// The text is UTF-8 by now whatever the declaration says.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	root := &ConfigNode{}
	b := xmlBuilder{d: d, stack: []*ConfigNode{root}}
	if err := b.run(); err != nil {
		return nil, err
	}
	if len(root.Children) != 1 {
		return nil, configErr(0, "no document element")
	}
	return root, nil
}

// xmlToUTF8 decodes UTF-16 (by BOM, LE or BE) to UTF-8 and checks that
// anything else is valid UTF-8.
func xmlToUTF8(b []byte) ([]byte, error) {
	var order binary.ByteOrder
	switch {
	case len(b) >= 2 && b[0] == 0xff && b[1] == 0xfe:
		order = binary.LittleEndian
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		order = binary.BigEndian
	case len(b) >= 2 && b[0] == '<' && b[1] == 0:
		order = binary.LittleEndian // UTF-16LE without BOM
	default:
		b = bytes.TrimPrefix(b, []byte{0xef, 0xbb, 0xbf})
		if !utf8.Valid(b) {
			return nil, configErr(0, "XML is neither UTF-16 nor UTF-8")
		}
		return b, nil
	}
	if len(b)%2 != 0 {
		b = b[:len(b)-1]
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u = append(u, order.Uint16(b[i:]))
	}
	if len(u) > 0 && u[0] == 0xfeff {
		u = u[1:]
	}
	return []byte(string(utf16.Decode(u))), nil
}

type xmlBuilder struct {
	d     *xml.Decoder
	stack []*ConfigNode
	types []string // type attribute of each open element ("" for nodes)
	text  []*strings.Builder
	count int
}

func (b *xmlBuilder) run() error {
	for {
		tok, err := b.d.Token()
		if errors.Is(err, io.EOF) {
			if len(b.stack) != 1 {
				return configErr(b.d.InputOffset(), "XML ends inside an element")
			}
			return nil
		}
		if err != nil {
			return configErr(b.d.InputOffset(), "XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := b.start(t); err != nil {
				return err
			}
		case xml.CharData:
			if n := len(b.text); n > 0 {
				b.text[n-1].Write(t)
			}
		case xml.EndElement:
			if err := b.end(); err != nil {
				return err
			}
		}
	}
}

func (b *xmlBuilder) start(t xml.StartElement) error {
	if len(b.stack) > maxConfigDepth {
		return configErr(b.d.InputOffset(), "XML nested deeper than %d", maxConfigDepth)
	}
	if b.count++; b.count > maxConfigNodes {
		return configErr(b.d.InputOffset(), "more than %d XML elements", maxConfigNodes)
	}
	typ := ""
	for _, a := range t.Attr {
		if a.Name.Local == "type" {
			typ = a.Value
		}
	}
	n := &ConfigNode{Key: t.Name.Local}
	parent := b.stack[len(b.stack)-1]
	parent.Children = append(parent.Children, n)
	b.stack = append(b.stack, n)
	b.types = append(b.types, typ)
	b.text = append(b.text, &strings.Builder{})
	return nil
}

func (b *xmlBuilder) end() error {
	i := len(b.stack) - 1
	if i < 1 {
		return configErr(b.d.InputOffset(), "unbalanced XML end element")
	}
	n, typ, text := b.stack[i], b.types[i-1], b.text[i-1].String()
	b.stack, b.types, b.text = b.stack[:i], b.types[:i-1], b.text[:i-1]
	return xmlSetValue(n, typ, text, b.d.InputOffset())
}

// xmlSetValue types a leaf by its type attribute. Unknown types are kept
// as strings: a newer host's extra key must not make the file unreadable.
func xmlSetValue(n *ConfigNode, typ, text string, off int64) error {
	switch strings.ToLower(typ) {
	case "":
		n.Kind = KindNode
	case "integer":
		v, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(strings.TrimSpace(text), 10, 64)
			if uerr != nil {
				return configErr(off, "key %q: bad integer %q", n.Key, text)
			}
			n.Kind, n.Uint = KindUint, u
			return nil
		}
		n.Kind, n.Int = KindInt, v
	case "bytes":
		v, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return configErr(off, "key %q: bad base64", n.Key)
		}
		n.Kind, n.Bytes = KindBytes, v
	case "bool", "boolean":
		n.Kind, n.Bool = KindBool, strings.EqualFold(strings.TrimSpace(text), "true")
	default:
		n.Kind, n.Str = KindString, text
	}
	return nil
}
