package provider

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
)

// amplitude: Amplitude's webhook destinations: event streaming (events and user
// property updates) and cohort webhooks (docs/sources/amplitude.md).
//
//	verified  Authorization: Bearer <signing secret>, a header set in the destination
//	          (compared in constant time); no endpoint token
//	payloads  a cohort sync ({cohort_id, in_cohort, users: [...]}) is one event per
//	          member of users, whose body is the sync's fields with the member as user
//	type      cohort member: cohort.entered (in_cohort true) or cohort.exited; an event:
//	          body.event_type; a user update (user_properties, no event_type):
//	          user.updated
//	key       cohort member: "{message_id}:{user}" (without a message_id,
//	          "{cohort_id}:{computed_time}:{in_cohort}:{user}"); an event: body.$insert_id,
//	          else body.insert_id, else body.uuid; a user update: "{user}:{time}:{digest
//	          of user_properties}", the time being the first of event_time,
//	          server_upload_time, time and updated_at
//	user id   body.user.user_id (a member), else body.user_id, else body.amplitude_id
//	data      a member: body.user; an event: body.event_properties; a user update:
//	          body.user_properties
func init() {
	register(&builtin{
		typ:              v1alpha1.SourceTypeAmplitude,
		signs:            true,
		signatureHeaders: []string{authorizationHeader},
		verifier:         bearer,
		sign:             signBearer,
		describe:         describeAmplitude,
		expand:           expandCohortSync,
	})
}

// cohortFields are the fields of a cohort sync every member's event carries.
var cohortFields = [...]string{"cohort_id", "cohort_name", "in_cohort", "computed_time", "message_id"}

// expandCohortSync turns a cohort sync into one payload per member of its users.
func expandCohortSync(payload map[string]any) []map[string]any {
	if !isCohortSync(payload) {
		return nil
	}
	users, _ := payload["users"].([]any)
	if len(users) == 0 {
		return nil // typed as it is: a sync with no member
	}
	out := make([]map[string]any, 0, len(users))
	for _, u := range users {
		member := make(map[string]any, len(cohortFields)+1)
		for _, f := range cohortFields {
			if v, ok := payload[f]; ok {
				member[f] = v
			}
		}
		member["user"] = u
		out = append(out, member)
	}
	return out
}

func isCohortSync(payload map[string]any) bool {
	_, hasUsers := payload["users"].([]any)
	return payload["cohort_id"] != nil && hasUsers
}

func describeAmplitude(payload map[string]any, _ http.Header) (events.Info, error) {
	var info events.Info
	switch {
	case payload["cohort_id"] != nil && (payload["user"] != nil || isCohortSync(payload)):
		in, ok := payload["in_cohort"].(bool)
		if !ok {
			return events.Info{}, events.NoEventType("a cohort sync without a boolean in_cohort")
		}
		info.Type = "cohort.exited"
		if in {
			info.Type = "cohort.entered"
		}
		member, _ := payload["user"].(map[string]any)
		info.UserID = firstID(member, "user_id", "amplitude_id")
		if msg := id(payload["message_id"]); msg != "" {
			info.IdempotencyKey, info.KeyDropped = events.Key(msg + ":" + info.UserID)
		} else {
			info.IdempotencyKey, info.KeyDropped = events.Key(fmt.Sprintf("%s:%s:%t:%s",
				id(payload["cohort_id"]), id(payload["computed_time"]), in, info.UserID))
		}
		info.Data = payload["user"]
	case payload["event_type"] != nil:
		typ, err := eventType(payload, "event_type")
		if err != nil {
			return events.Info{}, err
		}
		info.Type = typ
		if !bodyKey(&info, payload, "$insert_id") && !bodyKey(&info, payload, "insert_id") {
			bodyKey(&info, payload, "uuid")
		}
		info.UserID = firstID(payload, "user_id", "amplitude_id")
		info.Data = payload["event_properties"]
	case payload["user_properties"] != nil:
		info.Type = "user.updated"
		info.UserID = firstID(payload, "user_id", "amplitude_id")
		info.IdempotencyKey, info.KeyDropped = userUpdateKey(payload, info.UserID)
		info.Data = payload["user_properties"]
	default:
		return events.Info{}, events.NoEventType(
			"not an Amplitude event, user update or cohort sync: no event_type, user_properties or cohort_id")
	}
	return info, nil
}

// userUpdateKey is the key of a user update, which has no id of its own: the user,
// the update's time and a digest of the properties set, so that a retry of one update
// is recognised and two updates of one user are not.
func userUpdateKey(payload map[string]any, user string) (string, bool) {
	if user == "" {
		user = id(payload["device_id"])
	}
	at := ""
	for _, f := range []string{"event_time", "server_upload_time", "time", "updated_at"} {
		if at = id(payload[f]); at != "" {
			break
		}
	}
	if user == "" || at == "" {
		return "", false // no key: every delivery is processed
	}
	props, err := json.Marshal(payload["user_properties"]) // map keys sorted: the same for a retry
	if err != nil {
		return "", true
	}
	sum := sha256.Sum256(props)
	return events.Key(strings.Join([]string{user, at, base64.RawURLEncoding.EncodeToString(sum[:12])}, ":"))
}
