package events

import (
	"slices"
	"strings"
)

// Paths is a set of paths into a payload, the parts of it that are read: each path is
// a chain of object field names from the payload's root, and stands for the value
// there with all that it holds. The empty path is the whole payload. The zero value
// is the empty set; a nil *Paths is the whole payload, so that whatever does not say
// what it reads gets everything.
//
// A configuration builds one per SourceEnvironment (what its mappings, its source's
// expressions and its provider read) and [DecodePaths] decodes no more of a body than
// that.
type Paths struct {
	// all says the value at this path is read whole.
	all bool
	// name is the field's name in its parent; fields are the fields read in part.
	name   string
	fields map[string]*Paths
}

// AllPaths returns the set of the whole payload.
func AllPaths() *Paths { return &Paths{all: true} }

// Add adds a path, with everything under it. Adding the empty path makes the set the
// whole payload. Add on a nil set does nothing: it is the whole payload already.
func (p *Paths) Add(path ...string) {
	n := p
	for _, f := range path {
		if n == nil || n.all {
			return
		}
		c := n.fields[f]
		if c == nil {
			if n.fields == nil {
				n.fields = make(map[string]*Paths, 1)
			}
			c = &Paths{name: f}
			n.fields[f] = c
		}
		n = c
	}
	if n != nil {
		n.all, n.fields = true, nil
	}
}

// AddPaths adds every path of q; a nil q makes p the whole payload.
func (p *Paths) AddPaths(q *Paths) {
	if q == nil {
		p.Add()
		return
	}
	q.walk(nil, func(path []string) { p.Add(path...) })
}

// All reports whether the set is the whole payload.
func (p *Paths) All() bool { return p == nil || p.all }

// List returns the set's paths, sorted; the whole payload is one empty path.
func (p *Paths) List() [][]string {
	if p.All() {
		return [][]string{{}}
	}
	var out [][]string
	p.walk(nil, func(path []string) { out = append(out, slices.Clone(path)) })
	slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
	return out
}

// String lists the paths as body.a.b, comma-separated; the whole payload is "body".
func (p *Paths) String() string {
	var b strings.Builder
	for i, path := range p.List() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("body")
		for _, f := range path {
			b.WriteByte('.')
			b.WriteString(f)
		}
	}
	return b.String()
}

func (p *Paths) walk(prefix []string, f func([]string)) {
	if p.all {
		f(prefix)
		return
	}
	for name, c := range p.fields {
		c.walk(append(prefix, name), f)
	}
}

// Prune returns the part of a payload the set holds: the payload's objects along
// each path with only the fields on a path, and the whole value at the end of one;
// a value on a path that is not an object (an array, a string) is kept whole. It is
// what [DecodePaths] decodes, built from a decoded payload instead, for tests.
func (p *Paths) Prune(v any) any {
	if p.All() {
		return v
	}
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(p.fields))
	for name, c := range p.fields {
		if fv, ok := m[name]; ok {
			out[name] = c.Prune(fv)
		}
	}
	return out
}
