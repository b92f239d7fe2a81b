package celext_test

import (
	"context"
	"math"
	"reflect"
	"testing"

	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/events"
)

// Integers beyond 2^53 that the decoder keeps exact (int64, uint64) are CEL int and
// uint, and come back from EvalNative exact, alone or inside lists and maps.
func TestEvalNativeKeepsLargeIntegersExact(t *testing.T) {
	payloads, err := events.Decode("application/json", []byte(`{"i64max":9223372036854775807,
		"u64max":18446744073709551615,"p53":9007199254740993,"id":12345678901234567890,"small":42}`), 1)
	if err != nil {
		t.Fatal(err)
	}
	vars := &celext.Vars{Body: payloads[0]}
	tests := map[string]any{
		"body.i64max":                      int64(math.MaxInt64),
		"body.u64max":                      uint64(math.MaxUint64),
		"body.p53":                         int64(1<<53 + 1),
		"body.p53 + 1":                     int64(1<<53 + 2),
		"[body.id, body.p53]":              []any{uint64(12345678901234567890), int64(1<<53 + 1)},
		"{'id': body.id}":                  map[string]any{"id": uint64(12345678901234567890)},
		"string(body.id)":                  "12345678901234567890",
		"string(body.i64max)":              "9223372036854775807",
		"body.id == 12345678901234567890u": true,
		"body.p53 > 9007199254740992":      true,
		"body.small":                       42.0,
		"body.small == 42":                 true,
		"type(body.u64max) == uint && type(body.small) == double": true,
	}
	for expr, want := range tests {
		t.Run(expr, func(t *testing.T) {
			got, err := compile(t, "spec.x", expr, nil).EvalNative(context.Background(), vars)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}
