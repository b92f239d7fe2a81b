package config

import (
	"slices"

	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/provider"
)

// bodyReads returns what the environment reads of each payload, for
// [events.DecodePaths]: what its provider reads to type an event (its http source's
// expressions among it), what identifyUsers reads, and what every expression of its
// mappings reads of body and event. Nil is the whole payload: a provider that does not
// say what it reads, or an expression that reads body or event whole.
func (e *Environment) bodyReads() *events.Paths {
	r := provider.Reads(e.Describer)
	if r.Info == nil {
		return nil
	}
	p := &events.Paths{}
	p.AddPaths(r.Info)
	if e.IdentifyUsers {
		p.AddPaths(events.IdentifyPaths())
	}
	for _, ms := range e.mappings {
		for _, m := range ms {
			if m.When != nil {
				addReads(p, m.When.Reads(), r.Data)
			}
			for _, a := range m.Actions {
				for _, f := range a.Fields {
					addReads(p, f.Program.Reads(), r.Data)
				}
			}
		}
	}
	if p.All() {
		return nil
	}
	return p
}

// addReads adds what an expression reads of the payload: its paths of body, and of
// the normalised event (events.Normalize) event.event.X, the payload's X, and
// event.data.X, X under each path the provider's data comes from (anywhere, when the
// provider does not say). event.type and event.user_id are the provider's reads.
func addReads(p *events.Paths, r celext.Reads, data [][]string) {
	for _, path := range r.Body {
		p.Add(path...)
	}
	for _, path := range r.Event {
		switch {
		case len(path) == 0:
			p.Add()
		case path[0] == "event":
			p.Add(path[1:]...)
		case path[0] == "data" && data == nil:
			p.Add()
		case path[0] == "data":
			for _, d := range data {
				p.Add(append(slices.Clone(d), path[1:]...)...)
			}
		}
	}
}
