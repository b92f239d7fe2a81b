package provider

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
)

// describe describes a payload as a built-in provider does.
func describe(t v1alpha1.SourceType, payload map[string]any, h http.Header) (events.Info, error) {
	return registry[t].(*builtin).describe(payload, h)
}

// fixture reads a payload of ../events/testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonValue decodes a JSON value.
func jsonValue(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %q: %v", s, err)
	}
	return v
}

// payloadOf decodes a one-object body.
func payloadOf(t testing.TB, body string) map[string]any {
	t.Helper()
	got, err := events.Decode("application/json", []byte(body), 1)
	if err != nil {
		t.Fatalf("events.Decode(%.80q): %v", body, err)
	}
	return got[0].(map[string]any)
}

func TestDescribe(t *testing.T) {
	tests := map[string]struct {
		source  v1alpha1.SourceType
		file    string // testdata file; body when empty
		body    string
		headers http.Header
		want    events.Info // without Data
		data    string      // JSON of the expected Data; "" for the whole payload
	}{
		"stripe subscription": {
			source: v1alpha1.SourceTypeStripe,
			file:   "stripe_subscription_updated.json",
			want: events.Info{
				Type:           "customer.subscription.updated",
				IdempotencyKey: "evt_1OqX2kLkdIwHu7ix0Zp3mQ8r",
				UserID:         "cus_QApl2uJz3cLw0F",
			},
			data: "$.data.object",
		},
		"stripe customer object": {
			source: v1alpha1.SourceTypeStripe,
			file:   "stripe_customer_created.json",
			want:   events.Info{Type: "customer.created", IdempotencyKey: "evt_1OqY7bLkdIwHu7ixR2m9aB3c", UserID: "cus_QApl2uJz3cLw0F"},
			data:   "$.data.object",
		},
		"stripe expanded customer is no user id": {
			source: v1alpha1.SourceTypeStripe,
			body:   `{"id":"evt_2","type":"invoice.paid","data":{"object":{"object":"invoice","id":"in_1","customer":{"id":"cus_1"}}}}`,
			want:   events.Info{Type: "invoice.paid", IdempotencyKey: "evt_2"},
			data:   `{"object":"invoice","id":"in_1","customer":{"id":"cus_1"}}`,
		},
		"stripe thin event": {
			source: v1alpha1.SourceTypeStripe,
			body:   `{"id":"evt_test_65R9","object":"v2.core.event","type":"v1.billing.meter.error_report_triggered","created":"2025-10-04T15:13:32Z","related_object":{"id":"mtr_1","type":"billing.meter"}}`,
			want:   events.Info{Type: "v1.billing.meter.error_report_triggered", IdempotencyKey: "evt_test_65R9"},
			data:   `null`,
		},
		"clerk user event": {
			source:  v1alpha1.SourceTypeClerk,
			file:    "clerk_user_created.json",
			headers: http.Header{"Svix-Id": {"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"}, "Svix-Timestamp": {"1674087231"}},
			want:    events.Info{Type: "user.created", IdempotencyKey: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", UserID: "user_29w83sxmDNGwOuEthce5gg56FcC"},
			data:    "$.data",
		},
		"clerk session event": {
			source:  v1alpha1.SourceTypeClerk,
			file:    "clerk_session_created.json",
			headers: http.Header{"svix-id": {"msg_lower"}}, // a map keyed by lower-case names
			want:    events.Info{Type: "session.created", IdempotencyKey: "msg_lower", UserID: "user_29w83sxmDNGwOuEthce5gg56FcC"},
			data:    "$.data",
		},
		"clerk white-labelled webhook-id": {
			source:  v1alpha1.SourceTypeClerk,
			body:    `{"type":"organization.created","object":"event","data":{"id":"org_1","created_by":"user_1"}}`,
			headers: http.Header{"Webhook-Id": {"msg_wh"}},
			want:    events.Info{Type: "organization.created", IdempotencyKey: "msg_wh"},
			data:    `{"id":"org_1","created_by":"user_1"}`,
		},
		"clerk without svix-id": {
			source: v1alpha1.SourceTypeClerk,
			body:   `{"type":"user.deleted","object":"event","data":{"deleted":true,"id":"user_1","object":"user"}}`,
			want:   events.Info{Type: "user.deleted", UserID: "user_1"},
			data:   `{"deleted":true,"id":"user_1","object":"user"}`,
		},
		"clerk empty svix-id": {
			source:  v1alpha1.SourceTypeClerk,
			body:    `{"type":"user.deleted","data":{"id":"user_1"}}`,
			headers: http.Header{"Svix-Id": {""}},
			want:    events.Info{Type: "user.deleted", UserID: "user_1", KeyDropped: true},
			data:    `{"id":"user_1"}`,
		},
		"workos connection (official vector body)": {
			source: v1alpha1.SourceTypeWorkOS,
			file:   "workos_connection_activated.json",
			want:   events.Info{Type: "connection.activated", IdempotencyKey: "wh_01FG9JXJ9C9S052FX59JVG4EG1"},
			data:   "$.data",
		},
		"workos user event": {
			source: v1alpha1.SourceTypeWorkOS,
			file:   "workos_user_created.json",
			want:   events.Info{Type: "user.created", IdempotencyKey: "event_01HQ2V7N0P9WQ2Y3S5T6U7V8W9", UserID: "user_01E4ZCR3C56J083X43JQXF3JK5"},
			data:   "$.data",
		},
		"workos session event": {
			source: v1alpha1.SourceTypeWorkOS,
			file:   "workos_session_created.json",
			want:   events.Info{Type: "session.created", IdempotencyKey: "event_01HQ2V8A1B2C3D4E5F6G7H8J9K", UserID: "user_01E4ZCR3C56J083X43JQXF3JK5"},
			data:   "$.data",
		},
		"workos directory user is no user id": {
			source: v1alpha1.SourceTypeWorkOS,
			file:   "workos_dsync_user_created.json",
			want:   events.Info{Type: "dsync.user.created", IdempotencyKey: "wh_123"},
			data:   "$.data",
		},
		"supabase auth insert": {
			source: v1alpha1.SourceTypeSupabase,
			file:   "supabase_insert.json",
			want:   events.Info{Type: "auth.users:INSERT", UserID: "8d3a5f2e-1b4c-4d6e-9f0a-2b3c4d5e6f70"},
			data:   "$.record",
		},
		"supabase delete reads old_record": {
			source: v1alpha1.SourceTypeSupabase,
			file:   "supabase_delete.json",
			want:   events.Info{Type: "public.comments:DELETE"},
			data:   "$.old_record",
		},
		"supabase auth delete": {
			source: v1alpha1.SourceTypeSupabase,
			file:   "supabase_auth_delete.json",
			want:   events.Info{Type: "auth.users:DELETE", UserID: "8d3a5f2e-1b4c-4d6e-9f0a-2b3c4d5e6f70"},
			data:   "$.old_record",
		},
		"supabase update": {
			source: v1alpha1.SourceTypeSupabase,
			body:   `{"type":"UPDATE","table":"profiles","schema":"public","record":{"id":7,"name":"new"},"old_record":{"id":7,"name":"old"}}`,
			want:   events.Info{Type: "public.profiles:UPDATE"},
			data:   `{"id":7,"name":"new"}`,
		},
		"posthog knock template": {
			source: v1alpha1.SourceTypePostHog,
			file:   "posthog_knock.json",
			want:   events.Info{Type: "signed_up", IdempotencyKey: "01902f5e-8b2a-7c3d-9e4f-5a6b7c8d9e0f", UserID: "user_42"},
			data:   "$.properties",
		},
		"posthog identify with uuid": {
			source: v1alpha1.SourceTypePostHog,
			file:   "posthog_identify.json",
			want:   events.Info{Type: "$identify", IdempotencyKey: "01902f5e-9c1d-7e2f-8a3b-4c5d6e7f8091", UserID: "user_42", Identify: true},
			data:   "$.properties",
		},
		"posthog invalid messageId does not fall back to uuid": {
			source: v1alpha1.SourceTypePostHog,
			body:   `{"event":"$pageview","messageId":"","uuid":"u-1","distinct_id":"d-1"}`,
			want:   events.Info{Type: "$pageview", KeyDropped: true, UserID: "d-1"},
			data:   `null`,
		},
		"segment track": {
			source: v1alpha1.SourceTypeSegment,
			file:   "segment_track.json",
			want:   events.Info{Type: "Order Completed", IdempotencyKey: "ajs-next-1718020800-6b3f1c7e-9d2a-4e8f-b1c0-2a3d4e5f6a7b", UserID: "user_1042"},
			data:   "$.properties",
		},
		"segment identify": {
			source: v1alpha1.SourceTypeSegment,
			file:   "segment_identify.json",
			want:   events.Info{Type: "identify", IdempotencyKey: "ajs-next-1718020860-0a1b2c3d", UserID: "user_1042", Identify: true},
			data:   "$.traits",
		},
		"segment anonymous track": {
			source: v1alpha1.SourceTypeSegment,
			body:   `{"type":"track","event":"Viewed","anonymousId":"anon-1","messageId":"m-1","properties":{}}`,
			want:   events.Info{Type: "Viewed", IdempotencyKey: "m-1", UserID: "anon-1"},
			data:   `{}`,
		},
		"segment alias": {
			source: v1alpha1.SourceTypeSegment,
			body:   `{"type":"alias","previousId":"anon-1","userId":"user-1","messageId":"m-2"}`,
			want:   events.Info{Type: "alias", IdempotencyKey: "m-2", UserID: "user-1"},
			data:   `null`,
		},
		"segment screen": {
			source: v1alpha1.SourceTypeSegment,
			body:   `{"type":"screen","name":"Home","userId":"user-1","messageId":"m-3","properties":{"variation":"blue"}}`,
			want:   events.Info{Type: "screen", IdempotencyKey: "m-3", UserID: "user-1"},
			data:   `{"variation":"blue"}`,
		},
		"rudderstack page": {
			source: v1alpha1.SourceTypeRudderStack,
			file:   "rudderstack_page.json",
			want:   events.Info{Type: "page", IdempotencyKey: "api-2Ht3mPq1kXy9ZbN4vC7aRsTu8Le", UserID: "8f3c1a2b-3d4e-4f5a-9b6c-7d8e9f0a1b2c"},
			data:   "$.properties",
		},
		"jitsu group": {
			source: v1alpha1.SourceTypeJitsu,
			file:   "jitsu_group.json",
			want:   events.Info{Type: "group", IdempotencyKey: "jitsu-9f8e7d6c5b4a", UserID: "u-77"},
			data:   "$.traits",
		},
		"freshpaint identify with a number user id": {
			source: v1alpha1.SourceTypeFreshpaint,
			file:   "freshpaint_identify.json",
			want:   events.Info{Type: "identify", IdempotencyKey: "fp-0c9b8a7f", UserID: "7731", Identify: true},
			data:   "$.traits",
		},
		"hightouch record with event": {
			source:  v1alpha1.SourceTypeHightouch,
			body:    `{"user_id":"user_1","email":"a@example.com","plan":"team","event":"plan_changed","mrr":490}`,
			headers: http.Header{"Idempotency-Key": {"sync-run-77"}},
			want:    events.Info{Type: "plan_changed", IdempotencyKey: "sync-run-77", UserID: "user_1"},
		},
		"census record with type and number id": {
			source: v1alpha1.SourceTypeCensus,
			body:   `{"id":3,"email":"c@example.com","type":"lead_scored","score":88}`,
			want:   events.Info{Type: "lead_scored", UserID: "3"},
		},
		"census record without a type": {
			source:  v1alpha1.SourceTypeCensus,
			body:    `{"id":"u-1","email":"a@example.com","event":{"not":"a string"},"type":""}`,
			headers: http.Header{"idempotency-key": {"k-1"}},
			want:    events.Info{Type: "record", IdempotencyKey: "k-1", UserID: "u-1"},
		},
		"polytomic record": {
			source: v1alpha1.SourceTypePolytomic,
			file:   "polytomic_record.json",
			want:   events.Info{Type: "record", UserID: "acct-9"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := tc.body
			if tc.file != "" {
				body = string(fixture(t, tc.file))
			}
			payload := payloadOf(t, body)
			got, err := describe(tc.source, payload, tc.headers)
			if err != nil {
				t.Fatalf("Describe() error = %v", err)
			}
			var want any = payload
			switch {
			case strings.HasPrefix(tc.data, "$."):
				want = at(payload, strings.Split(tc.data[2:], ".")...)
			case tc.data != "":
				want = jsonValue(t, tc.data)
			}
			if !reflect.DeepEqual(got.Data, want) {
				t.Errorf("Data = %v, want %v", got.Data, want)
			}
			got.Data = nil
			if got != tc.want {
				t.Errorf("Describe() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// at reads a path of object keys.
func at(v any, path ...string) any {
	for _, k := range path {
		v = v.(map[string]any)[k]
	}
	return v
}

func TestDescribeErrors(t *testing.T) {
	tests := map[string]struct {
		source v1alpha1.SourceType
		body   string
		msg    string
	}{
		"stripe without type":         {v1alpha1.SourceTypeStripe, `{"id":"evt_1"}`, "event type not found at body.type"},
		"stripe with null type":       {v1alpha1.SourceTypeStripe, `{"id":"evt_1","type":null}`, "event type not found at body.type"},
		"stripe with number type":     {v1alpha1.SourceTypeStripe, `{"id":"evt_1","type":7}`, "event type at body.type is a number, not a string"},
		"clerk with empty type":       {v1alpha1.SourceTypeClerk, `{"type":""}`, "event type at body.type is empty"},
		"workos reads event not type": {v1alpha1.SourceTypeWorkOS, `{"id":"e","type":"user.created"}`, "event type not found at body.event"},
		"posthog with object event":   {v1alpha1.SourceTypePostHog, `{"event":{"name":"x"}}`, "body.event is an object"},
		"segment without type":        {v1alpha1.SourceTypeSegment, `{"event":"Signed Up"}`, "event type not found at body.type"},
		"segment track without event": {v1alpha1.SourceTypeSegment, `{"type":"track","messageId":"m"}`, "event type not found at body.event"},
		"rudderstack array type":      {v1alpha1.SourceTypeRudderStack, `{"type":["track"]}`, "body.type is an array"},
		"jitsu boolean event":         {v1alpha1.SourceTypeJitsu, `{"type":"track","event":true}`, "body.event is a boolean"},
		"freshpaint empty payload":    {v1alpha1.SourceTypeFreshpaint, `{}`, "event type not found at body.type"},
		"supabase without table":      {v1alpha1.SourceTypeSupabase, `{"type":"INSERT","schema":"public","record":{}}`, "body.schema, body.table and body.type"},
		"supabase with number type":   {v1alpha1.SourceTypeSupabase, `{"type":1,"schema":"public","table":"t"}`, "event type not found"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := describe(tc.source, payloadOf(t, tc.body), nil)
			var de *events.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Describe() = %+v, %v; want a *events.DecodeError", got, err)
			}
			if de.Reason != events.ReasonNoEventType || de.Offset != -1 {
				t.Errorf("Reason, Offset = %q, %d; want %q, -1", de.Reason, de.Offset, events.ReasonNoEventType)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			if got != (events.Info{}) {
				t.Errorf("Info = %+v with an error, want zero", got)
			}
		})
	}
}

// An unknown source type has no provider: it is a configuration fault, found when the
// SourceEnvironment is compiled, never the sender's.
func TestDescribeUnsupported(t *testing.T) {
	tests := map[string]v1alpha1.SourceType{
		"unknown": "github",
		"empty":   "",
	}
	for name, st := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(Config{Source: &v1alpha1.Source{Spec: v1alpha1.SourceSpec{Type: st}}})
			if !errors.Is(err, ErrUnknownType) {
				t.Errorf("Compile(%q) error = %v, want ErrUnknownType", st, err)
			}
			if _, ok := errors.AsType[*events.DecodeError](err); ok {
				t.Errorf("Compile(%q) error is a *DecodeError (the sender's fault); want a configuration error", st)
			}
		})
	}
}

func TestDescribeKeys(t *testing.T) {
	ascii255 := strings.Repeat("k", 255)
	runes255 := strings.Repeat("é", 255) // 510 bytes, 255 characters
	tests := map[string]struct {
		key     string // JSON value of body.id; "-" leaves it out
		want    string
		dropped bool
	}{
		"string":                        {key: `"evt_1"`, want: "evt_1"},
		"255 characters":                {key: `"` + ascii255 + `"`, want: ascii255},
		"256 characters":                {key: `"` + ascii255 + `k"`, dropped: true},
		"255 two-byte characters":       {key: `"` + runes255 + `"`, want: runes255},
		"256 two-byte characters":       {key: `"` + runes255 + `é"`, dropped: true},
		"empty":                         {key: `""`, dropped: true},
		"space is a key":                {key: `" "`, want: " "},
		"integer":                       {key: `42`, want: "42"},
		"negative integer":              {key: `-7`, want: "-7"},
		"zero":                          {key: `0`, want: "0"},
		"negative zero":                 {key: `-0`, want: "0"},
		"integral exponent":             {key: `1e3`, want: "1000"},
		"exponent beyond 2^53":          {key: `1e21`, dropped: true},
		"small exponent":                {key: `1.5e-7`, dropped: true},
		"fraction":                      {key: `12.5`, dropped: true},
		"2^53":                          {key: `9007199254740992`, want: "9007199254740992"},
		"2^53+1":                        {key: `9007199254740993`, want: "9007199254740993"},
		"int64 max":                     {key: `9223372036854775807`, want: "9223372036854775807"},
		"int64 min":                     {key: `-9223372036854775808`, want: "-9223372036854775808"},
		"uint64 max":                    {key: `18446744073709551615`, want: "18446744073709551615"},
		"beyond uint64 lost digits":     {key: `123456789012345678901234567890`, dropped: true},
		"number over 255 digits":        {key: `1e300`, dropped: true},
		"boolean":                       {key: `true`, dropped: true},
		"object":                        {key: `{"id":"evt_1"}`, dropped: true},
		"array":                         {key: `["evt_1"]`, dropped: true},
		"null is no key":                {key: `null`},
		"absent":                        {key: "-"},
		"unicode":                       {key: `"évt_✓_😀"`, want: "évt_✓_😀"},
		"control characters are passed": {key: `"a\nb"`, want: "a\nb"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := `{"type":"invoice.paid","id":` + tc.key + `}`
			if tc.key == "-" {
				body = `{"type":"invoice.paid"}`
			}
			got, err := describe(v1alpha1.SourceTypeStripe, payloadOf(t, body), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.IdempotencyKey != tc.want || got.KeyDropped != tc.dropped {
				t.Errorf("key, dropped = %q, %v; want %q, %v", got.IdempotencyKey, got.KeyDropped, tc.want, tc.dropped)
			}
		})
	}
}

func TestDescribeHeaderKeys(t *testing.T) {
	long := strings.Repeat("h", 256)
	tests := map[string]struct {
		source  v1alpha1.SourceType
		headers http.Header
		want    string
		dropped bool
	}{
		"clerk svix-id":                  {v1alpha1.SourceTypeClerk, http.Header{"Svix-Id": {"msg_1"}}, "msg_1", false},
		"clerk svix-id first":            {v1alpha1.SourceTypeClerk, http.Header{"Svix-Id": {"msg_1"}, "Webhook-Id": {"msg_2"}}, "msg_1", false},
		"clerk svix-id of several":       {v1alpha1.SourceTypeClerk, http.Header{"Svix-Id": {"msg_1", "msg_2"}}, "msg_1", false},
		"clerk lower-case webhook-id":    {v1alpha1.SourceTypeClerk, http.Header{"webhook-id": {"msg_2"}}, "msg_2", false},
		"clerk too long":                 {v1alpha1.SourceTypeClerk, http.Header{"Svix-Id": {long}}, "", true},
		"clerk no header":                {v1alpha1.SourceTypeClerk, http.Header{"X-Other": {"x"}}, "", false},
		"clerk nil headers":              {v1alpha1.SourceTypeClerk, nil, "", false},
		"clerk header without values":    {v1alpha1.SourceTypeClerk, http.Header{"Svix-Id": {}}, "", true},
		"hightouch Idempotency-Key":      {v1alpha1.SourceTypeHightouch, http.Header{"Idempotency-Key": {"run-1"}}, "run-1", false},
		"census empty Idempotency-Key":   {v1alpha1.SourceTypeCensus, http.Header{"Idempotency-Key": {""}}, "", true},
		"polytomic long Idempotency-Key": {v1alpha1.SourceTypePolytomic, http.Header{"Idempotency-Key": {long}}, "", true},
		"reverse ETL body id is no key":  {v1alpha1.SourceTypePolytomic, nil, "", false},
		"stripe ignores headers":         {v1alpha1.SourceTypeStripe, http.Header{"Idempotency-Key": {"run-1"}}, "evt_1", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			payload := payloadOf(t, `{"id":"evt_1","type":"user.created","data":{"id":"user_1"}}`)
			got, err := describe(tc.source, payload, tc.headers)
			if err != nil {
				t.Fatal(err)
			}
			if got.IdempotencyKey != tc.want || got.KeyDropped != tc.dropped {
				t.Errorf("key, dropped = %q, %v; want %q, %v", got.IdempotencyKey, got.KeyDropped, tc.want, tc.dropped)
			}
		})
	}
}

// TestDescribeBatch types every payload of a Segment batch and reverse-ETL records.
func TestDescribeBatch(t *testing.T) {
	payloads, err := events.Decode("application/json", fixture(t, "segment_batch.json"), events.DefaultLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(payloads) != 20 {
		t.Fatalf("%d payloads, want 20", len(payloads))
	}
	keys := map[string]bool{}
	for i, p := range payloads {
		info, err := describe(v1alpha1.SourceTypeSegment, p.(map[string]any), nil)
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if i%5 == 4 != info.Identify {
			t.Errorf("payload %d: Identify = %v", i, info.Identify)
		}
		if info.Identify && info.Type != "identify" || !info.Identify && info.Type == "identify" {
			t.Errorf("payload %d: Type = %q", i, info.Type)
		}
		keys[info.IdempotencyKey] = true
	}
	if len(keys) != 20 {
		t.Errorf("%d distinct keys, want 20", len(keys))
	}

	records, err := events.Decode("application/x-ndjson", fixture(t, "census_records.ndjson"), events.DefaultLimit)
	if err != nil {
		t.Fatal(err)
	}
	types := make([]string, 0, len(records))
	for _, r := range records {
		info, err := describe(v1alpha1.SourceTypeCensus, r.(map[string]any), nil)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, info.Type+"/"+info.UserID)
	}
	if want := []string{"record/u-1", "record/u-2", "lead_scored/3"}; !reflect.DeepEqual(types, want) {
		t.Errorf("types = %v, want %v", types, want)
	}
}

func TestNormalize(t *testing.T) {
	payload := payloadOf(t, string(fixture(t, "stripe_subscription_updated.json")))
	info, err := describe(v1alpha1.SourceTypeStripe, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		info events.Info
		want map[string]any
	}{
		"with user id": {
			info: info,
			want: map[string]any{"type": "customer.subscription.updated", "user_id": "cus_QApl2uJz3cLw0F", "data": info.Data, "event": payload},
		},
		"without user id": {
			info: events.Info{Type: "public.comments:DELETE"},
			want: map[string]any{"type": "public.comments:DELETE", "data": nil, "event": payload},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := events.Normalize(tc.info, payload)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("events.Normalize() = %v, want %v", got, tc.want)
			}
			if _, ok := got["data"]; !ok {
				t.Errorf("data is missing")
			}
		})
	}
}

// TestIdentifyFlag checks which calls the providers mark for IdentifyTraits.
func TestIdentifyFlag(t *testing.T) {
	tests := map[string]struct {
		source v1alpha1.SourceType
		body   string
		want   bool
	}{
		"segment identify":       {v1alpha1.SourceTypeSegment, `{"type":"identify","userId":"u"}`, true},
		"segment track identify": {v1alpha1.SourceTypeSegment, `{"type":"track","event":"identify"}`, false},
		"segment group":          {v1alpha1.SourceTypeSegment, `{"type":"group","groupId":"g"}`, false},
		"rudderstack identify":   {v1alpha1.SourceTypeRudderStack, `{"type":"identify","userId":"u"}`, true},
		"jitsu identify":         {v1alpha1.SourceTypeJitsu, `{"type":"identify","userId":"u"}`, true},
		"freshpaint identify":    {v1alpha1.SourceTypeFreshpaint, `{"type":"identify","userId":"u"}`, true},
		"posthog $identify":      {v1alpha1.SourceTypePostHog, `{"event":"$identify","distinct_id":"u"}`, true},
		"posthog $set":           {v1alpha1.SourceTypePostHog, `{"event":"$set","distinct_id":"u"}`, true},
		"posthog identify":       {v1alpha1.SourceTypePostHog, `{"event":"identify","distinct_id":"u"}`, false},
		"census identify":        {v1alpha1.SourceTypeCensus, `{"type":"identify","userId":"u"}`, false},
		"clerk user created":     {v1alpha1.SourceTypeClerk, `{"type":"user.created","data":{"id":"u"}}`, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			info, err := describe(tc.source, payloadOf(t, tc.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			if info.Identify != tc.want {
				t.Errorf("Identify = %v, want %v", info.Identify, tc.want)
			}
		})
	}
}
