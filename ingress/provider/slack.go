package provider

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/verify"
)

// slack: a Slack app's Events API, interactivity and slash commands
// (docs/sources/slack.md).
//
//	verified  X-Slack-Request-Timestamp and X-Slack-Signature: v0=<hex HMAC-SHA256 of
//	          "v0:{timestamp}:{body}"> with the app's signing secret; 5m tolerance
//	type      Events API (body.type event_callback): body.event.type, e.g.
//	          app_mention; interactivity (the form field payload, a JSON object):
//	          its type, e.g. block_actions or view_submission; a slash command (a
//	          form with a command field): slash_command; otherwise body.type
//	key       body.event_id; for an interaction or a slash command, body.trigger_id
//	user id   body.event.user (or body.event.user.id); body.user.id; body.user_id
//	data      body.event for Events API callbacks, else the whole payload
func init() {
	register(&builtin{
		typ:              v1alpha1.SourceTypeSlack,
		signs:            true,
		tolerance:        verify.DefaultSlackTolerance,
		signatureHeaders: []string{"X-Slack-Signature"},
		verifier:         verify.Slack,
		sign:             signSlack,
		describe:         describeSlack,
		reads:            []string{"command", fieldType, "trigger_id", "user_id", "user.id", "event_id", "event.type", "event.user"},
		data:             []string{fieldEvent, ""},
	})
}

// signSlack signs as Slack does. A body that is not a JSON object is sent as a form,
// as Slack sends slash commands and interactions.
func signSlack(h http.Header, secret string, t time.Time, body []byte) error {
	ts := strconv.FormatInt(t.Unix(), 10)
	sig, err := sign.HMAC(v1alpha1.HMACSHA256, v1alpha1.EncodingHex, secret, []byte("v0:"+ts+":"), body)
	if err != nil {
		return err
	}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+sig)
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return nil
}

// slackSlashCommand is the event type of a slash command.
const slackSlashCommand = "slash_command"

func describeSlack(payload map[string]any, _ http.Header) (events.Info, error) {
	var info events.Info
	if cmd, ok := payload["command"].(string); ok && cmd != "" && payload[fieldType] == nil {
		info.Type = slackSlashCommand
		bodyKey(&info, payload, "trigger_id")
		info.UserID = id(payload["user_id"])
		info.Data = payload
		return info, nil
	}
	typ, err := eventType(payload, fieldType)
	if err != nil {
		return events.Info{}, err
	}
	if typ == "event_callback" {
		ev := object(payload, fieldEvent)
		if ev == nil {
			return events.Info{}, events.NoEventType("an event_callback without an event object at body.event")
		}
		if info.Type, err = eventType(ev, fieldType); err != nil {
			return events.Info{}, events.NoEventType("event type not found at body.event.type")
		}
		bodyKey(&info, payload, "event_id")
		info.UserID = id(ev["user"])
		if info.UserID == "" {
			info.UserID = id(object(ev, "user")["id"])
		}
		info.Data = ev
		return info, nil
	}
	// An interaction (block_actions, view_submission, shortcut, ...) or another
	// envelope (url_verification, app_rate_limited).
	info.Type = typ
	bodyKey(&info, payload, "trigger_id")
	info.UserID = id(object(payload, "user")["id"])
	info.Data = payload
	return info, nil
}
