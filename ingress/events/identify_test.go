package events

import (
	"reflect"
	"testing"
)

func TestIdentifyTraits(t *testing.T) {
	tests := map[string]struct {
		file   string // testdata file; body when empty
		body   string
		userID string
		props  string // JSON object; "" when ok is false
	}{
		"segment first and last name": {
			file:   "segment_identify.json",
			userID: "user_1042",
			props: `{"name":"Ada Lovelace","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com",
				"avatar":"https://example.com/ada.png","phone_number":"+15555550100","plan":"team","logins":12}`,
		},
		"freshpaint name and number user id": {
			file:   "freshpaint_identify.json",
			userID: "7731",
			props:  `{"name":"Grace Hopper","email":"grace@example.com","phone_number":"+15555550111","company":"Navy"}`,
		},
		"posthog $set": {
			file:   "posthog_identify.json",
			userID: "user_42",
			props:  `{"email":"ada@example.com","name":"Ada Lovelace","phone_number":"+15555550100","plan":"team"}`,
		},
		"name wins over first and last": {
			body:   `{"type":"identify","userId":"u1","traits":{"name":"Countess","firstName":"Ada","lastName":"Lovelace"}}`,
			userID: "u1",
			props:  `{"name":"Countess","firstName":"Ada","lastName":"Lovelace"}`,
		},
		"empty name uses first and last": {
			body:   `{"type":"identify","userId":"u1","traits":{"name":"","first_name":"Ada","last_name":"Lovelace"}}`,
			userID: "u1",
			props:  `{"name":"Ada Lovelace","first_name":"Ada","last_name":"Lovelace"}`,
		},
		"first name only": {
			body:   `{"type":"identify","userId":"u1","traits":{"firstName":" Ada "}}`,
			userID: "u1",
			props:  `{"name":"Ada","firstName":" Ada "}`,
		},
		"last name only": {
			body:   `{"type":"identify","userId":"u1","traits":{"lastName":"Lovelace","firstName":null}}`,
			userID: "u1",
			props:  `{"name":"Lovelace","lastName":"Lovelace","firstName":null}`,
		},
		"null phone clears phone_number": {
			body:   `{"type":"identify","userId":"u1","traits":{"phone":null,"email":null}}`,
			userID: "u1",
			props:  `{"phone_number":null,"email":null}`,
		},
		"phone wins over a phone_number trait": {
			body:   `{"type":"identify","userId":"u1","traits":{"phone":"+1","phone_number":"+2"}}`,
			userID: "u1",
			props:  `{"phone_number":"+1"}`,
		},
		"non-string phone is kept as a trait": {
			body:   `{"type":"identify","userId":"u1","traits":{"phone":15555550100}}`,
			userID: "u1",
			props:  `{"phone":15555550100}`,
		},
		"nested traits are kept": {
			body:   `{"type":"identify","userId":"u1","traits":{"address":{"city":"London"},"tags":["a","b"],"vip":true}}`,
			userID: "u1",
			props:  `{"address":{"city":"London"},"tags":["a","b"],"vip":true}`,
		},
		"no traits": {
			body:   `{"type":"identify","userId":"u1"}`,
			userID: "u1",
			props:  `{}`,
		},
		"traits not an object": {
			body:   `{"type":"identify","userId":"u1","traits":"x"}`,
			userID: "u1",
			props:  `{}`,
		},
		"anonymous identify": {
			body: `{"type":"identify","anonymousId":"anon-1","traits":{"email":"a@example.com"}}`,
		},
		"empty user id": {
			body: `{"type":"identify","userId":"","traits":{"email":"a@example.com"}}`,
		},
		"object user id": {
			body: `{"type":"identify","userId":{"id":"u1"}}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := tc.body
			if tc.file != "" {
				body = string(fixture(t, tc.file))
			}
			payload := payloadOf(t, body)
			before := payloadOf(t, body)
			userID, props, ok := IdentifyTraits(payload)
			if tc.props == "" {
				if ok || userID != "" || props != nil {
					t.Errorf("IdentifyTraits() = %q, %v, %v; want not ok", userID, props, ok)
				}
				return
			}
			if !ok || userID != tc.userID {
				t.Fatalf("IdentifyTraits() = %q, _, %v; want %q, true", userID, ok, tc.userID)
			}
			if want := jsonValue(t, tc.props); !reflect.DeepEqual(props, want) {
				t.Errorf("props = %v\nwant %v", props, want)
			}
			if !reflect.DeepEqual(payload, before) {
				t.Errorf("IdentifyTraits changed the payload")
			}
		})
	}
}
