package provider

import (
	"net/http"
	"strings"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/verify"
)

// workos: directory sync, SSO and user events from WorkOS (docs/sources/workos.md).
//
//	verified  WorkOS-Signature: t=<unix ms>, v1=<hex HMAC-SHA256 of "{t}.{body}">;
//	          3m tolerance
//	type      body.event
//	key       body.id
//	user id   body.data.user_id, else body.data.id for user.* events
//	data      body.data
func init() {
	register(&builtin{
		typ:              v1alpha1.SourceTypeWorkOS,
		signs:            true,
		tolerance:        verify.DefaultWorkOSTolerance,
		signatureHeaders: []string{"WorkOS-Signature"},
		verifier:         verify.WorkOS,
		sign: func(h http.Header, secret string, t time.Time, body []byte) error {
			h.Set("WorkOS-Signature", sign.WorkOS(secret, t, body))
			return nil
		},
		describe: describeWorkOS,
		reads:    []string{fieldEvent, "id", "data.user_id", "data.id"},
		data:     []string{"data"},
	})
}

func describeWorkOS(payload map[string]any, _ http.Header) (events.Info, error) {
	var info events.Info
	typ, err := eventType(payload, fieldEvent)
	if err != nil {
		return events.Info{}, err
	}
	info.Type = typ
	bodyKey(&info, payload, "id")
	data := payload["data"]
	info.Data = data
	if m, _ := data.(map[string]any); m != nil {
		info.UserID = id(m["user_id"])
		if info.UserID == "" && strings.HasPrefix(typ, "user.") {
			info.UserID = id(m["id"])
		}
	}
	return info, nil
}
