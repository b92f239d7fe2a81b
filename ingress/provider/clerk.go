package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/verify"
)

// clerk: user, session and organization events from Clerk, delivered by Svix
// (docs/sources/clerk.md).
//
//	verified  svix-id, svix-timestamp, svix-signature: v1,<base64 HMAC-SHA256 of
//	          "{id}.{timestamp}.{body}"> with the base64 key after whsec_ (the
//	          webhook-* names too); 5m tolerance
//	type      body.type
//	key       header svix-id (webhook-id when there is none)
//	user id   body.data.id for user.* events, else body.data.user_id
//	data      body.data
func init() {
	register(&builtin{
		typ:              v1alpha1.SourceTypeClerk,
		signs:            true,
		tolerance:        verify.DefaultSvixTolerance,
		signatureHeaders: []string{"Svix-Signature", "Webhook-Signature"},
		verifier:         verify.Svix,
		sign: func(h http.Header, secret string, t time.Time, body []byte) error {
			id := sign.MessageID(body)
			sig, err := sign.Svix(secret, id, t, body)
			if err != nil {
				return err
			}
			h.Set("svix-id", id)
			h.Set("svix-timestamp", strconv.FormatInt(t.Unix(), 10))
			h.Set("svix-signature", sig)
			return nil
		},
		describe: describeClerk,
		reads:    []string{fieldType, "data.id", "data.user_id"},
		data:     []string{"data"},
	})
}

func describeClerk(payload map[string]any, header http.Header) (events.Info, error) {
	var info events.Info
	typ, err := eventType(payload, fieldType)
	if err != nil {
		return events.Info{}, err
	}
	info.Type = typ
	headerKey(&info, header, "Svix-Id", "svix-id", "Webhook-Id", "webhook-id")
	data := payload["data"]
	info.Data = data
	if m, _ := data.(map[string]any); m != nil {
		if strings.HasPrefix(typ, "user.") {
			info.UserID = id(m["id"])
		} else {
			info.UserID = id(m["user_id"])
		}
	}
	return info, nil
}
