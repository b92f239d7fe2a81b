package celext_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"inlet.dev/inlet/ingress/celext"
)

// stripeEvent is a customer.subscription.deleted event, trimmed to what mappings read.
const stripeEvent = `{
  "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1700000000,
  "type": "customer.subscription.deleted",
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "data": {
    "object": {
      "id": "sub_1NG8Dt2eZvKYlo2C8yQ3iBqL",
      "object": "subscription",
      "customer": "cus_NqnB9GpXx5mBqK",
      "status": "canceled",
      "cancel_at_period_end": false,
      "canceled_at": 1700000000,
      "current_period_end": 1702592000,
      "quantity": 1,
      "metadata": {"tenant": "acme", "source": "web"},
      "plan": {"id": "price_1NG8Ds2eZvKYlo2C", "amount": 2000, "currency": "usd", "interval": "month", "product": "prod_NqnBn"},
      "items": {"object": "list", "data": [
        {"id": "si_1", "price": {"id": "price_1NG8Ds2eZvKYlo2C", "unit_amount": 2000}},
        {"id": "si_2", "price": {"id": "price_2", "unit_amount": 500}}
      ]}
    },
    "previous_attributes": {}
  }
}`

// stripeVars are the variables of one delivery of stripeEvent.
func stripeVars(tb testing.TB) *celext.Vars {
	tb.Helper()
	var body any
	if err := json.Unmarshal([]byte(stripeEvent), &body); err != nil {
		tb.Fatal(err)
	}
	return &celext.Vars{
		Body: body,
		Headers: map[string]string{
			"content-type":     "application/json",
			"stripe-signature": "t=1700000000,v1=abc",
		},
		RawBody: []byte(stripeEvent),
		Vars:    map[string]string{"stripeSecret": "whsec_test_secret", "plan": "pro"},
		Event: map[string]any{
			"type":    "customer.subscription.deleted",
			"user_id": "cus_NqnB9GpXx5mBqK",
			"data":    body.(map[string]any)["data"],
			"event":   body,
		},
	}
}

func compile(tb testing.TB, field, expr string, want *cel.Type) *celext.Program {
	tb.Helper()
	env, err := celext.NewEnv()
	if err != nil {
		tb.Fatal(err)
	}
	prg, err := celext.Compile(env, field, expr, want)
	if err != nil {
		tb.Fatal(err)
	}
	return prg
}

func TestKnockPath(t *testing.T) {
	got, err := compile(t, "spec.actions[0].triggerWorkflow.recipients", "body.data.object.customer", cel.StringType).
		EvalString(context.Background(), stripeVars(t))
	if err != nil {
		t.Fatal(err)
	}
	if got != "cus_NqnB9GpXx5mBqK" {
		t.Errorf("got %q", got)
	}
}

func TestEvalBool(t *testing.T) {
	tests := map[string]struct {
		expr string
		want bool
	}{
		"Knock condition":          {expr: "body.data.object.cancel_at_period_end == false", want: true},
		"JSON number == int":       {expr: "body.data.object.plan.amount == 2000", want: true},
		"JSON number > int":        {expr: "body.data.object.plan.amount > 1999", want: true},
		"int() of a JSON number":   {expr: "int(body.data.object.plan.amount) * 2 == 4000", want: true},
		"unixTime of JSON number":  {expr: "unixTime(body.created) == timestamp('2023-11-14T22:13:20Z')", want: true},
		"has":                      {expr: "has(body.data.object.discount)", want: false},
		"optional":                 {expr: "body.?data.?object.?discount.orValue('none') == 'none'", want: true},
		"header":                   {expr: "headers['stripe-signature'].startsWith('t=')", want: true},
		"var":                      {expr: "vars.plan == 'pro'", want: true},
		"missing header with in":   {expr: "'x-missing' in headers", want: false},
		"raw body":                 {expr: "size(rawBody) > 100 && string(rawBody).contains('customer')", want: true},
		"event":                    {expr: "event.type == body.type && event.data.object.id == 'sub_1NG8Dt2eZvKYlo2C8yQ3iBqL'", want: true},
		"exists over JSON list":    {expr: "body.data.object.items.data.exists(i, i.price.unit_amount == 500)", want: true},
		"null JSON value":          {expr: "body.request.id == null", want: true},
		"preprocess is null":       {expr: "preprocess == null", want: true},
		"Stripe signature":         {expr: "hex.encode(hmac.sha256(vars.stripeSecret, '1700000000.' + string(rawBody))) != 'abc'", want: true},
		"split of a Stripe header": {expr: "headers['stripe-signature'].split(',').filter(p, p.startsWith('v1=')).map(p, p.trimPrefix('v1=')) == ['abc']", want: true},
	}
	vars := stripeVars(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := compile(t, "spec.when", tc.expr, cel.BoolType).EvalBool(context.Background(), vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEvalPreprocessResult(t *testing.T) {
	// What a preprocess expression returns is handed to later expressions as preprocess,
	// either as the CEL value itself or in its EvalNative form.
	vars := stripeVars(t)
	pre := compile(t, "spec.preprocess", "{'verified': true, 'tenant': body.data.object.metadata.tenant}", nil)
	val, err := pre.Eval(context.Background(), vars)
	if err != nil {
		t.Fatal(err)
	}
	native, err := pre.EvalNative(context.Background(), vars)
	if err != nil {
		t.Fatal(err)
	}
	use := compile(t, "spec.when", "preprocess.verified && preprocess.tenant == 'acme'", cel.BoolType)
	for name, p := range map[string]any{"ref.Val": val, "native": native} {
		v := *vars
		v.Preprocess = p
		ok, err := use.EvalBool(context.Background(), &v)
		if err != nil || !ok {
			t.Errorf("%s: got %v, %v", name, ok, err)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	tests := map[string]struct {
		field string
		expr  string
		eval  func(*celext.Program, *celext.Vars) error
		err   string
	}{
		"missing key": {
			field: "spec.when",
			expr:  "body.data.customer == 'x'",
			err:   "spec.when: no such key: customer",
		},
		"missing key at the top": {
			field: "spec.when",
			expr:  "body.nope.customer == 'x'",
			err:   "spec.when: no such key: nope",
		},
		"missing header": {
			field: "spec.actions[1].identify.id",
			expr:  "headers['x-user']",
			err:   "spec.actions[1].identify.id: no such key: x-user",
		},
		"function error": {
			field: "spec.preprocess",
			expr:  "hex.decode(headers['stripe-signature'])",
			err:   "spec.preprocess: hex.decode: encoding/hex: invalid byte: U+0074 't'",
		},
		"not a bool at run time": {
			field: "spec.when",
			expr:  "body.type",
			eval: func(p *celext.Program, v *celext.Vars) error {
				_, err := p.EvalBool(context.Background(), v)
				return err
			},
			err: "spec.when: must be a bool, got string",
		},
		"not a string at run time": {
			field: "spec.actions[0].identify.id",
			expr:  "body.created",
			eval: func(p *celext.Program, v *celext.Vars) error {
				_, err := p.EvalString(context.Background(), v)
				return err
			},
			err: "spec.actions[0].identify.id: must be a string, got double",
		},
		"not JSON": {
			field: "spec.actions[0].triggerWorkflow.data",
			expr:  "{'t': type(body)}",
			eval: func(p *celext.Program, v *celext.Vars) error {
				_, err := p.EvalNative(context.Background(), v)
				return err
			},
			err: "spec.actions[0].triggerWorkflow.data: a type cannot be converted to JSON",
		},
	}
	vars := stripeVars(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			prg := compile(t, tc.field, tc.expr, nil)
			var err error
			if tc.eval != nil {
				err = tc.eval(prg, vars)
			} else {
				_, err = prg.Eval(context.Background(), vars)
			}
			var ee *celext.EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("got %v, want an *EvalError", err)
			}
			if ee.Field != tc.field {
				t.Errorf("Field = %q, want %q", ee.Field, tc.field)
			}
			if err.Error() != tc.err {
				t.Errorf("got %q, want %q", err, tc.err)
			}
		})
	}
}

func TestEvalNilVars(t *testing.T) {
	got, err := compile(t, "spec.x", "[body == null, size(headers), size(rawBody), size(vars), preprocess == null, event == null]", nil).
		EvalNative(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{true, int64(0), int64(0), int64(0), true, true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestEvalCostLimit(t *testing.T) {
	tests := map[string]struct {
		expr    string
		rawBody []byte
	}{
		"nested comprehension": {expr: "lists.range(2000).all(i, lists.range(2000).all(j, i + j >= 0))"},
		"hashing a huge body":  {expr: "size(sha256(rawBody)) == 32", rawBody: make([]byte, 11<<20)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := compile(t, "spec.when", tc.expr, cel.BoolType).
				EvalBool(context.Background(), &celext.Vars{RawBody: tc.rawBody})
			var cancelled interpreter.EvalCancelledError
			if !errors.As(err, &cancelled) || cancelled.Cause != interpreter.CostLimitExceeded {
				t.Fatalf("got %v, want the cost limit exceeded", err)
			}
			if !strings.HasPrefix(err.Error(), "spec.when: operation cancelled: actual cost limit exceeded") {
				t.Errorf("got %q", err)
			}
		})
	}
}

func TestEvalContext(t *testing.T) {
	// About 300 SHA-512s of 30 KB: under the cost limit, but many milliseconds of work, and
	// more than InterruptCheckFrequency comprehension iterations.
	const slow = "lists.range(300).all(i, size(sha512(rawBody)) == 64)"
	vars := &celext.Vars{RawBody: make([]byte, 30_000)}
	prg := compile(t, "spec.when", slow, cel.BoolType)
	if ok, err := prg.EvalBool(context.Background(), vars); err != nil || !ok {
		t.Fatalf("without a deadline: got %v, %v", ok, err)
	}

	t.Run("cancelled during evaluation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		time.AfterFunc(time.Millisecond, cancel)
		_, err := prg.EvalBool(ctx, vars)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		var ee *celext.EvalError
		if !errors.As(err, &ee) || ee.Field != "spec.when" {
			t.Errorf("got %v, want an *EvalError for spec.when", err)
		}
	})

	t.Run("deadline already passed", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		_, err := compile(t, "spec.when", "true", cel.BoolType).EvalBool(ctx, vars)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		if err.Error() != "spec.when: context deadline exceeded" {
			t.Errorf("got %q", err)
		}
	})
}

func TestEvalNative(t *testing.T) {
	vars := stripeVars(t)
	object := vars.Body.(map[string]any)["data"].(map[string]any)["object"].(map[string]any)
	tests := map[string]struct {
		expr string
		want any
		err  string
	}{
		"null":      {expr: "null", want: nil},
		"bool":      {expr: "true", want: true},
		"int":       {expr: "-1", want: int64(-1)},
		"uint":      {expr: "1u", want: uint64(1)},
		"double":    {expr: "1.5", want: 1.5},
		"string":    {expr: "'é'", want: "é"},
		"bytes":     {expr: "b'hello'", want: "aGVsbG8="},
		"timestamp": {expr: "timestamp('2024-03-01T10:00:00.5+01:00')", want: "2024-03-01T09:00:00.5Z"},
		"duration":  {expr: "duration('1m30.5s')", want: "90.500s"},
		"negative duration": {
			expr: "duration('-1ns')", want: "-0.000000001s",
		},
		"whole duration": {expr: "duration('2h')", want: "7200s"},
		"list":           {expr: "[1, 'a', [true, null]]", want: []any{int64(1), "a", []any{true, nil}}},
		"map": {
			expr: "{'a': 1, 2: 'b', true: [2.5], 3u: {}}",
			want: map[string]any{"a": int64(1), "2": "b", "true": []any{2.5}, "3": map[string]any{}},
		},
		"JSON number":   {expr: "body.data.object.plan.amount", want: 2000.0},
		"JSON object":   {expr: "body.data.object.metadata", want: map[string]any{"tenant": "acme", "source": "web"}},
		"JSON in a map": {expr: "{'plan': body.data.object.plan.id, 'meta': body.data.object.metadata}", want: map[string]any{"plan": "price_1NG8Ds2eZvKYlo2C", "meta": map[string]any{"tenant": "acme", "source": "web"}}},
		"JSON list":     {expr: "body.data.object.items.data.map(i, i.id)", want: []any{"si_1", "si_2"}},
		"headers":       {expr: "headers", want: map[string]any{"content-type": "application/json", "stripe-signature": "t=1700000000,v1=abc"}},
		"string list":   {expr: "'a,b'.split(',')", want: []any{"a", "b"}},
		"optional":      {expr: "body.?data.?object.?customer", want: "cus_NqnB9GpXx5mBqK"},
		"empty optional": {
			expr: "body.?data.?object.?discount", want: nil,
		},
		"optional in a list": {expr: "[?body.?nope, ?optional.of(1)]", want: []any{int64(1)}},
		"time helper":        {expr: "unixTime(body.data.object.canceled_at)", want: "2023-11-14T22:13:20Z"},
		"bytes helper":       {expr: "sha1('')", want: "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
		"infinity":           {expr: "1.0 / 0.0", err: "+Inf is not a JSON number"},
		"NaN":                {expr: "[0.0 / 0.0]", err: "NaN is not a JSON number"},
		"type":               {expr: "type(1)", err: "a type cannot be converted to JSON"},
		"key collision":      {expr: "{1: 'a', '1': 'b'}", err: `map has two keys written "1" in JSON`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := compile(t, "spec.x", tc.expr, nil).EvalNative(context.Background(), vars)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("json.Marshal: %v", err)
			}
		})
	}

	t.Run("a JSON map comes back unchanged", func(t *testing.T) {
		got, err := compile(t, "spec.x", "body.data.object", nil).EvalNative(context.Background(), vars)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := got.(map[string]any)
		if !ok || reflect.ValueOf(m).UnsafePointer() != reflect.ValueOf(object).UnsafePointer() {
			t.Errorf("got %T, want the body's own map", got)
		}
	})
}

func TestToNative(t *testing.T) {
	if got, err := celext.ToNative(types.OptionalNone); got != nil || err != nil {
		t.Errorf("none: got %v, %v", got, err)
	}
	if _, err := celext.ToNative(types.NewErr("boom")); err == nil || err.Error() != "boom" {
		t.Errorf("error value: got %v", err)
	}
	if _, err := celext.ToNative(nil); err == nil {
		t.Error("nil: got no error")
	}
	if got, err := celext.ToNative(types.Double(math.MaxFloat64)); got != math.MaxFloat64 || err != nil {
		t.Errorf("max double: got %v, %v", got, err)
	}
}

func TestEvalConcurrently(t *testing.T) {
	prg := compile(t, "spec.actions[0].triggerWorkflow.data",
		"{'customer': body.data.object.customer, 'tenant': preprocess.tenant}", nil)
	done := make(chan error)
	for i := range 8 {
		go func() {
			vars := stripeVars(t)
			vars.Preprocess = map[string]any{"tenant": strings.Repeat("t", i)}
			for range 200 {
				got, err := prg.EvalNative(context.Background(), vars)
				if err != nil {
					done <- err
					return
				}
				if m := got.(map[string]any); m["tenant"] != strings.Repeat("t", i) {
					done <- fmt.Errorf("goroutine %d got %v", i, m)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestEvalCostBounded: expressions whose cost the checker bounds whatever the payload are
// evaluated without cost tracking; every other one keeps the limit (TestEvalCostLimit) and
// the context checks (TestEvalContext), and a bounded one still gives its value.
func TestEvalCostBounded(t *testing.T) {
	tests := map[string]bool{
		"body.data.object.cancel_at_period_end == false":                         true,
		"[body.data.object.customer]":                                            true,
		`{"plan": body.data.object.plan.id, "seats": body.data.object.quantity}`: true,
		"body.data.object.items.data.all(i, i.quantity > 0)":                     false,
		"size(sha256(rawBody)) == 32":                                            false,
		"lists.range(2000).all(i, lists.range(2000).all(j, i + j >= 0))":         false,
		"body.data.object.customer.startsWith('cus_')":                           true,
		"body.data.object.customer.matches('^cus_')":                             false,
	}
	vars := stripeVars(t)
	for expr, bounded := range tests {
		prg := compile(t, "spec.x", expr, nil)
		if prg.CostBounded() != bounded {
			t.Errorf("%s: CostBounded() = %v, want %v", expr, prg.CostBounded(), bounded)
		}
		if _, err := prg.Eval(context.Background(), vars); bounded && err != nil {
			t.Errorf("%s: %v", expr, err)
		}
	}
	// A bounded program still refuses a context that has ended before it starts.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := compile(t, "spec.x", "body.type", nil).Eval(ctx, vars); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: got %v, want context.Canceled", err)
	}
}
