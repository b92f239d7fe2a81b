package provider

import (
	"net/http"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/verify"
)

// The Segment-spec family: CDPs whose webhook destinations send Segment's track,
// identify, page, screen, group and alias calls (docs/sources/segment.md,
// rudderstack.md, jitsu.md, freshpaint.md).
//
//	verified  the endpoint token, plus the Source's header token (headerAuth); for
//	          segment without headerAuth, X-Signature (hex HMAC-SHA1 of the body) when
//	          a signing secret is set
//	type      body.event for track calls; the call type (body.type) for the others
//	key       body.messageId
//	user id   body.userId, else body.anonymousId
//	data      body.traits for identify and group calls, body.properties for the others
//	identify  identify calls
func init() {
	register(&builtin{
		typ:              v1alpha1.SourceTypeSegment,
		signatureHeaders: []string{"X-Signature"},
		verifier: func(secrets []string, _ time.Duration) (verify.Verifier, error) {
			return verify.SegmentSignature(secrets)
		},
		sign: func(h http.Header, secret string, _ time.Time, body []byte) error {
			sig, err := sign.HMAC(v1alpha1.HMACSHA1, v1alpha1.EncodingHex, secret, body)
			h.Set("X-Signature", sig)
			return err
		},
		describe: describeSegmentSpec,
		reads:    segmentSpecReads,
		data:     segmentSpecData,
	})
	register(&builtin{typ: v1alpha1.SourceTypeRudderStack, describe: describeSegmentSpec, reads: segmentSpecReads, data: segmentSpecData})
	register(&builtin{typ: v1alpha1.SourceTypeJitsu, describe: describeSegmentSpec, reads: segmentSpecReads, data: segmentSpecData})
	register(&builtin{typ: v1alpha1.SourceTypeFreshpaint, describe: describeSegmentSpec, reads: segmentSpecReads, data: segmentSpecData})
}

// What describeSegmentSpec reads, and where its data comes from.
var (
	segmentSpecReads = []string{fieldType, fieldEvent, "messageId", fieldUserID, "anonymousId"}
	segmentSpecData  = []string{"traits", "properties"}
)

func describeSegmentSpec(payload map[string]any, _ http.Header) (events.Info, error) {
	var info events.Info
	call, err := eventType(payload, fieldType)
	if err != nil {
		return events.Info{}, err
	}
	info.Type = call
	if call == "track" {
		if info.Type, err = eventType(payload, fieldEvent); err != nil {
			return events.Info{}, err
		}
	}
	bodyKey(&info, payload, "messageId")
	info.UserID = firstID(payload, fieldUserID, "anonymousId")
	switch call {
	case "identify", "group":
		info.Data = payload["traits"]
	default:
		info.Data = payload["properties"]
	}
	info.Identify = call == "identify"
	return info, nil
}
