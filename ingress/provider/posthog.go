package provider

import (
	"net/http"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
)

// posthog: PostHog's Knock or webhook destination, which is not signed
// (docs/sources/posthog.md).
//
//	verified  the endpoint token, plus the Source's header token (headerAuth)
//	type      body.event, e.g. $pageview or signed_up
//	key       body.messageId, else body.uuid
//	user id   body.distinct_id, else body.userId
//	data      body.properties
//	identify  $identify and $set events
func init() {
	register(&builtin{
		typ:      v1alpha1.SourceTypePostHog,
		describe: describePostHog,
		reads:    []string{fieldEvent, "messageId", "uuid", "distinct_id", fieldUserID},
		data:     []string{"properties"},
	})
}

func describePostHog(payload map[string]any, _ http.Header) (events.Info, error) {
	var info events.Info
	typ, err := eventType(payload, fieldEvent)
	if err != nil {
		return events.Info{}, err
	}
	info.Type = typ
	if !bodyKey(&info, payload, "messageId") {
		bodyKey(&info, payload, "uuid")
	}
	info.UserID = firstID(payload, "distinct_id", fieldUserID)
	info.Data = payload["properties"]
	info.Identify = typ == "$identify" || typ == "$set"
	return info, nil
}
