package diff

import "sort"

// span is a half-open byte range [off, end).
type span struct{ off, end int64 }

// normalize sorts spans and merges those that overlap or touch.
func normalize(s []span) []span {
	sort.Slice(s, func(i, j int) bool { return s[i].off < s[j].off })
	out := s[:0]
	for _, x := range s {
		if x.end <= x.off {
			continue
		}
		if k := len(out); k > 0 && x.off <= out[k-1].end {
			out[k-1].end = max(out[k-1].end, x.end)
			continue
		}
		out = append(out, x)
	}
	return out
}

// clip returns the parts of the sorted spans s that lie in [off, end),
// shifted by -off.
func clip(s []span, off, end int64) []span {
	i := sort.Search(len(s), func(i int) bool { return s[i].end > off })
	var out []span
	for ; i < len(s) && s[i].off < end; i++ {
		out = append(out, span{max(s[i].off, off) - off, min(s[i].end, end) - off})
	}
	return out
}

// overlaps reports whether [off, end) meets any of the sorted spans s.
func overlaps(s []span, off, end int64) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].end > off })
	return i < len(s) && s[i].off < end
}

// total returns the bytes the spans cover.
func total(s []span) int64 {
	var n int64
	for _, x := range s {
		n += x.end - x.off
	}
	return n
}
