package provider

// Expander is a Describer whose sender packs the events of several people into one
// payload (an Amplitude cohort sync lists the audience's members): ExpandPayload
// returns the payloads the data path types and maps instead, one per event, or nil to
// keep the payload as it is.
type Expander interface {
	ExpandPayload(payload map[string]any) []map[string]any
}

// Expand returns the payloads of a decoded body as d types them: each one as it is,
// unless d is an [Expander] that expands it. Without an Expander it returns payloads
// itself.
func Expand(d Describer, payloads []any) []any {
	x, ok := d.(Expander)
	if !ok {
		return payloads
	}
	var out []any
	for i, p := range payloads {
		m, _ := p.(map[string]any)
		expanded := x.ExpandPayload(m)
		if expanded == nil {
			if out != nil {
				out = append(out, p)
			}
			continue
		}
		if out == nil {
			out = append(make([]any, 0, len(payloads)-1+len(expanded)), payloads[:i]...)
		}
		for _, e := range expanded {
			out = append(out, e)
		}
	}
	if out == nil {
		return payloads
	}
	return out
}

// expandingDescriber is the Describer of a built-in provider that expands payloads.
type expandingDescriber struct {
	describeFunc
	expand func(payload map[string]any) []map[string]any
}

func (d expandingDescriber) ExpandPayload(payload map[string]any) []map[string]any {
	return d.expand(payload)
}
