package provider

import (
	"strings"

	"inlet.dev/inlet/ingress/events"
)

// BodyReads are the parts of a payload a Describer reads, so that the ingress decodes
// no more of a body than is read (see [events.DecodePaths]).
type BodyReads struct {
	// Info are the paths Describe reads to find the event type, the idempotency key, the
	// user id and whether the payload is an identify call; nil is the whole payload.
	Info *events.Paths
	// Data are the paths Info.Data is taken from, whole: one of them for each payload,
	// the empty path being the payload itself. Nil says Info.Data is not a part of the
	// payload that a path names: reading event.data then reads the whole payload.
	Data [][]string
}

// bodyReader is a Describer that says what it reads.
type bodyReader interface {
	BodyReads() BodyReads
}

// Reads returns what d reads of each payload. A Describer that does not say reads the
// whole payload.
func Reads(d Describer) BodyReads {
	if r, ok := d.(bodyReader); ok {
		return r.BodyReads()
	}
	return BodyReads{}
}

// readsOf builds a built-in provider's reads from paths written a.b.c: what its
// describe reads, and where its data comes from ("" for the payload itself).
func readsOf(info, data []string) BodyReads {
	r := BodyReads{Info: &events.Paths{}}
	for _, p := range info {
		r.Info.Add(strings.Split(p, ".")...)
	}
	for _, p := range data {
		if p == "" {
			r.Data = append(r.Data, []string{})
			continue
		}
		r.Data = append(r.Data, strings.Split(p, "."))
	}
	return r
}

// readingDescriber is the Describer of a built-in provider that says what it reads.
type readingDescriber struct {
	describeFunc
	reads BodyReads
}

func (d readingDescriber) BodyReads() BodyReads { return d.reads }
