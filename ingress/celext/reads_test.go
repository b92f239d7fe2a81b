package celext

import (
	"slices"
	"strings"
	"testing"
)

// joined writes paths as a.b, sorted and comma-separated; the whole variable is ".".
func joined(paths [][]string) string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		if len(p) == 0 {
			out = append(out, ".")
			continue
		}
		out = append(out, strings.Join(p, "."))
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

func TestReads(t *testing.T) {
	env, err := NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ expr, body, event string }{
		{`body.data.object.customer`, "data.object.customer", ""},
		{`body.data.object.plan.id + body.type`, "data.object.plan.id,type", ""},
		{`body["data"]['object'].customer`, "data.object.customer", ""},
		{`body.?data.?object.orValue({})`, "data.object", ""},
		{`body[?"a"].hasValue()`, "a", ""},
		{`has(body.data.id) ? body.data.id : ""`, "data.id", ""},
		{`body.items[0].id`, "items", ""},
		{`body.items.exists(i, i.id == 1)`, "items", ""},
		{`size(body.data)`, "data", ""},
		{`body[headers["x-field"]]`, ".", ""},
		{`string(body)`, ".", ""},
		{`body`, ".", ""},
		{`{"a": body.a, "b": [body.b.c]}`, "a,b.c", ""},
		{`cel.bind(d, body.data, d.id)`, "data", ""},
		{`[{"x": 1}].exists(body, body.x == 1)`, "x", ""}, // a comprehension variable named body counts as body
		{`body.data[1]`, "data", ""},
		{`event.data.amount > 100.0 && event.type == "x"`, "", "data.amount,type"},
		{`event.event.id`, "", "event.id"},
		{`has(event.user_id) ? event.user_id : event.data.email`, "", "data.email,user_id"},
		{`event`, "", "."},
		{`headers["x-a"] + vars.b + string(rawBody) + preprocess.c`, "", ""},
		{`"constant"`, "", ""},
	} {
		prg, err := Compile(env, "f", tc.expr, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		r := prg.Reads()
		if got := joined(r.Body); got != tc.body {
			t.Errorf("%s: body reads %q, want %q", tc.expr, got, tc.body)
		}
		if got := joined(r.Event); got != tc.event {
			t.Errorf("%s: event reads %q, want %q", tc.expr, got, tc.event)
		}
	}
}
