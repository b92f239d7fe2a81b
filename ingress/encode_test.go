package ingress

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/wire"
)

// sameJSON fails unless got and want are the same JSON value: the same members, none
// more, none fewer, whatever their order.
func sameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestEncodeEventRecord(t *testing.T) {
	at := time.Date(2026, 12, 2, 4, 5, 6, 789000000, time.UTC)
	full := wire.EventRecord{
		Kind: "event", ID: "evt1", Time: at, Namespace: "ns", SourceEnvironment: "stripe-prod", Source: "stripe",
		SourceType: "stripe", Environment: "production", Type: "a.b", IdempotencyKey: "k\"\\\n\u2028é", KeyDropped: true,
		UserID: "u<>&", Verified: true, Status: "accepted", Idempotent: true, Actions: 2, Failed: 1, Error: "bad\tthing",
		Size: 1234, Headers: map[string]string{"content-type": "application/json", "x-odd": "a\"b", "stripe-signature": config.Redacted},
		HeadersTruncated: true, PayloadOmitted: true, ReplayOf: "evt0", RepeatOf: "evt1",
		ActionLog: []wire.ActionRecord{
			{EventID: "evt1", Time: at, Namespace: "ns", SourceEnvironment: "stripe-prod", EventType: "a.b", Mapping: "m",
				Action: "triggerWorkflow", Position: 1, Subject: "inlet.actions.production.triggerWorkflow", Stream: "INLET_ACTIONS",
				Sequence: 42, Status: "published"},
			{EventID: "evt1", Time: at, Mapping: "m", Action: "setObject", Status: "failed", Error: "spec.x: no such key"},
		},
	}
	minimal := wire.EventRecord{Kind: "event", ID: "evt2", Time: at, Status: "unauthorized"}
	payload := []byte(`{"id":"evt_1","n":[1,2.5,true,null],"s":"é"}`)
	for name, rec := range map[string]wire.EventRecord{"full": full, "minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			want, err := jsonv2.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, appendEventRecord(nil, &rec, nil), want)

			withPayload := rec
			withPayload.Payload = payload
			want, _ = jsonv2.Marshal(withPayload)
			sameJSON(t, appendEventRecord(nil, &rec, payload), want)

			// What every reader of the log decodes it to.
			got, err := jsonDecodeRecord(appendEventRecord(nil, &rec, payload))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, withPayload) {
				t.Errorf("decoded %+v\nwant    %+v", got, withPayload)
			}
		})
	}
}

func jsonDecodeRecord(data []byte) (wire.EventRecord, error) {
	var rec wire.EventRecord
	err := json.Unmarshal(data, &rec)
	return rec, err
}

func TestEncodeActionMessage(t *testing.T) {
	at := time.Date(2026, 12, 2, 4, 5, 6, 0, time.FixedZone("x", 3600)).UTC()
	for _, m := range []wire.ActionMessage{
		{
			ID: "id1", Action: "triggerWorkflow", Environment: "production",
			Params:   map[string]any{"workflow": "w", "recipients": []any{"cus_1"}, "data": map[string]any{"n": int64(3), "s": "\"q\""}},
			Source:   wire.MessageSource{Namespace: "ns", Name: "stripe", Type: "stripe", SourceEnvironment: "stripe-prod"},
			Mapping:  "m",
			Position: 2,
			Event:    wire.MessageEvent{ID: "evt1", Type: "a.b", IdempotencyKey: "k", UserID: "u", ReceivedAt: at},
		},
		{ID: "id2", Action: "identifyUser", Event: wire.MessageEvent{ReceivedAt: at}},
	} {
		want, err := jsonv2.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		params, err := jsonv2.Marshal(m.Params)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, appendActionMessage(nil, &m, params), want)
	}
}

// TestEventMessageFitsMaxRecord: a record over one NATS message loses its payload,
// then its headers, saying so.
func TestEventMessageFitsMaxRecord(t *testing.T) {
	rec := wire.EventRecord{Kind: "event", ID: "e", Status: "accepted", Headers: map[string]string{"x-big": strings.Repeat("a", 600)}}
	payload := []byte(`{"big":"` + strings.Repeat("b", 400) + `"}`)
	for _, tc := range []struct {
		max                              int
		payloadOmitted, headersTruncated bool
	}{{4096, false, false}, {900, true, false}, {300, true, true}} {
		r := rec
		msg := eventMessage("ns", "se", &r, payload, tc.max)
		got, err := jsonDecodeRecord(msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		if got.PayloadOmitted != tc.payloadOmitted || got.HeadersTruncated != tc.headersTruncated || (len(got.Payload) == 0) != tc.payloadOmitted {
			t.Errorf("max %d: payloadOmitted %v, headersTruncated %v, payload %d bytes", tc.max, got.PayloadOmitted, got.HeadersTruncated, len(got.Payload))
		}
		if !tc.headersTruncated && len(msg.Data) > tc.max {
			t.Errorf("max %d: record of %d bytes", tc.max, len(msg.Data))
		}
	}
}

func TestEncodeResponse(t *testing.T) {
	for _, r := range []response{
		{},
		{Events: 2, EventIDs: []string{"a", "b\"c"}, Actions: 3, Duplicates: 1, Failed: 1},
		{Events: 1, EventIDs: []string{"a"}, Actions: 2, Duplicates: 2, Idempotent: true},
		{Error: "verification failed: <mismatch> & \u2028"},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, appendResponse(nil, &r), want)
	}
}

// appendValue writes what jsonv2.Marshal writes, byte for byte, for the values
// actions carry, and fails where it fails.
func TestAppendValue(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 3, 0.1, 1.5, 123456789.123, 1e20, 1e21, 1.5e21, 1e-6, 1e-7, 1.234e-9,
		5e-324, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1 << 53, 1<<53 + 2, 0.000001234}
	values := []any{nil, true, false, "", "a\"b\\c\n\u2028<&>", "héllo", int64(-7), int64(math.MaxInt64), uint64(math.MaxUint64),
		[]any{}, map[string]any{}, []any{"x", int64(1), nil, map[string]any{"k": []any{2.5}}},
		map[string]any{"workflow": "w", "recipients": []any{"cus_1", map[string]any{"id": "u", "email": "a@b"}}, "n": 3.0},
		[]string{"typed", "slice"}, map[string]string{"typed": "map"}}
	for _, f := range floats {
		values = append(values, f, -f)
	}
	for _, v := range values {
		want, werr := jsonv2.Marshal(v)
		got, gerr := appendValue(nil, v)
		if (werr != nil) != (gerr != nil) || (werr == nil && string(got) != string(want)) {
			if _, isMap := v.(map[string]any); isMap && werr == nil && gerr == nil {
				sameJSON(t, got, want) // map order differs between runs
				continue
			}
			t.Errorf("appendValue(%#v) = %s, %v; jsonv2.Marshal = %s, %v", v, got, gerr, want, werr)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), []any{math.Inf(-1)}, "bad \xff utf-8", map[string]any{"\xff": 1.0}} {
		if got, err := appendValue(nil, bad); err == nil {
			t.Errorf("appendValue(%#v) = %s, want an error as jsonv2.Marshal gives", bad, got)
		}
	}
}

func FuzzAppendValue(f *testing.F) {
	f.Add(1.5, "s", int64(3))
	f.Add(1e21, "\xff", int64(-1))
	f.Add(1e-7, "<a&b>", int64(0))
	f.Fuzz(func(t *testing.T, x float64, s string, n int64) {
		v := []any{x, s, n, map[string]any{s: x}}
		want, werr := jsonv2.Marshal(v)
		got, gerr := appendValue(nil, v)
		if (werr != nil) != (gerr != nil) || (werr == nil && string(got) != string(want)) {
			t.Errorf("appendValue(%#v) = %s, %v; jsonv2.Marshal = %s, %v", v, got, gerr, want, werr)
		}
	})
}
