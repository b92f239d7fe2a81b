package events

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const formType = "application/x-www-form-urlencoded"

// A form is typed and mapped like JSON: the payload CEL sees is the object a JSON body
// with the same fields would give, and what JSON refuses, a form refuses too.
func TestDecodeForm(t *testing.T) {
	tests := map[string]struct {
		contentType string
		body        string
		want        []any  // nil when refused
		reason      string // the refusal's reason
	}{
		"slash command (Slack's walk-through)": {
			body: "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J&trigger_id=398738663015.47445629121",
			want: []any{map[string]any{"token": "xyzz0WbapA4vBCDEFasx0q6G", "team_id": "T1DC2JH3J", "command": "/webhook-collect", "text": "",
				"response_url": "https://hooks.slack.com/commands/T1DC2JH3J", "trigger_id": "398738663015.47445629121"}},
		},
		"twilio sms": {
			body: "MessageSid=SM1&From=%2B14158675309&Body=Hello+there%21+%C3%A9",
			want: []any{map[string]any{"MessageSid": "SM1", "From": "+14158675309", "Body": "Hello there! é"}},
		},
		"content type with charset": {
			contentType: "Application/X-WWW-Form-Urlencoded; charset=utf-8", body: "a=1",
			want: []any{map[string]any{"a": "1"}},
		},
		"Slack interaction: payload= is its JSON": {
			body: "payload=" + url.QueryEscape(`{"type":"block_actions","trigger_id":"t1","user":{"id":"U1"},"actions":[{"value":"approve","n":2}]}`),
			want: []any{map[string]any{"type": "block_actions", "trigger_id": "t1", "user": map[string]any{"id": "U1"},
				"actions": []any{map[string]any{"value": "approve", "n": 2.0}}}},
		},
		"payload beside other fields stays text": {
			body: "payload=%7B%7D&x=1", want: []any{map[string]any{"payload": "{}", "x": "1"}},
		},
		"payload that is not JSON stays text": {
			body: "payload=hello", want: []any{map[string]any{"payload": "hello"}},
		},
		"pair without =":           {body: "flag&a=1", want: []any{map[string]any{"flag": "", "a": "1"}}},
		"empty pairs are skipped":  {body: "a=1&&b=2&", want: []any{map[string]any{"a": "1", "b": "2"}}},
		"semicolon is a character": {body: "a=1;b=2", want: []any{map[string]any{"a": "1;b=2"}}},
		"= inside a value":         {body: "a=b=c", want: []any{map[string]any{"a": "b=c"}}},
		"a final newline":          {body: "a=1&b=2\n", want: []any{map[string]any{"a": "1", "b": "2"}}},

		"duplicate field":           {body: "a=1&b=2&a=3", reason: ReasonDuplicateKey},
		"duplicate once decoded":    {body: "a=1&%61=2", reason: ReasonDuplicateKey},
		"not UTF-8 once decoded":    {body: "a=%FF", reason: ReasonInvalidUTF8},
		"raw byte not UTF-8":        {body: "a=\xff", reason: ReasonInvalidUTF8},
		"malformed escape":          {body: "a=%G1", reason: ReasonInvalidForm},
		"truncated escape":          {body: "a=%4", reason: ReasonInvalidForm},
		"empty body":                {body: "", reason: ReasonEmpty},
		"only separators":           {body: "&&", reason: ReasonEmpty},
		"payload with invalid JSON": {body: "payload=%7B%22a%22%3A", reason: ReasonInvalidJSON},
		"payload with a duplicate JSON key": {
			body: "payload=" + url.QueryEscape(`{"a":1,"a":2}`), reason: ReasonDuplicateKey,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ct := tc.contentType
			if ct == "" {
				ct = formType
			}
			got, err := Decode(ct, []byte(tc.body), 0)
			if tc.reason != "" {
				de, ok := errors.AsType[*DecodeError](err)
				if !ok || de.Reason != tc.reason {
					t.Fatalf("Decode = %v, %v; want a refusal %s", got, err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

// The same fields as JSON and as a form give the same payload.
func TestFormIsMappedLikeJSON(t *testing.T) {
	fromJSON, err := Decode("application/json", []byte(`{"command":"/deploy","text":"api prod","user_id":"U1"}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	fromForm, err := Decode(formType, []byte("command=%2Fdeploy&text=api+prod&user_id=U1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, fromForm) {
		t.Errorf("JSON gives %v, the form %v", fromJSON, fromForm)
	}
}

// FuzzDecodeForm checks that a form never panics, is refused only with a
// *DecodeError, and, when accepted, holds what net/url reads from it.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range []string{
		"", "a=1", "a=1&a=2", "a=%ff", "a=%", "a=%zz", "payload=%7B%7D", "payload=%5B%7B%7D%5D",
		"payload=%7B%22a%22%3A1%2C%22a%22%3A2%7D", "a+b=c+d&e", "&&=&", "x=%E2%82%AC",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		payloads, err := Decode(formType, body, 3)
		if err != nil {
			de, ok := errors.AsType[*DecodeError](err)
			if !ok {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if !reasons[de.Reason] && de.Reason != ReasonInvalidForm {
				t.Fatalf("unexpected reason %q", de.Reason)
			}
			return
		}
		if len(payloads) == 0 {
			t.Fatal("accepted with no payload")
		}
		m, ok := payloads[0].(map[string]any)
		if !ok {
			t.Fatalf("payload %T is not an object", payloads[0])
		}
		if strings.ContainsRune(string(body), ';') {
			return // net/url refuses semicolons; a form reads them as characters
		}
		want, err := url.ParseQuery(strings.Trim(string(body), " \t\r\n"))
		if err != nil {
			t.Fatalf("accepted, but net/url refuses it: %v", err)
		}
		if len(want) == 1 && want.Has("payload") {
			return // the payload field's JSON, when it holds some
		}
		if len(want) != len(m) {
			t.Fatalf("%d fields, net/url reads %d", len(m), len(want))
		}
		for k, vs := range want {
			if len(vs) != 1 || m[k] != vs[0] {
				t.Fatalf("field %q = %v, net/url reads %q", k, m[k], vs)
			}
		}
	})
}
