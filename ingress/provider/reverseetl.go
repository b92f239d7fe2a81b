package provider

import (
	"net/http"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
)

// The reverse-ETL family: syncs that post warehouse records as JSON or NDJSON
// (docs/sources/hightouch.md, census.md, polytomic.md).
//
//	verified  the endpoint token, plus the Source's header token (headerAuth; bearer
//	          recommended)
//	type      body.event, else body.type, when a non-empty string; else "record"
//	key       header Idempotency-Key, else none
//	user id   body.user_id, else body.userId, else body.id
//	data      the whole record (body)
func init() {
	register(&builtin{typ: v1alpha1.SourceTypeHightouch, describe: describeRecord, reads: recordReads, data: []string{""}})
	register(&builtin{typ: v1alpha1.SourceTypeCensus, describe: describeRecord, reads: recordReads, data: []string{""}})
	register(&builtin{typ: v1alpha1.SourceTypePolytomic, describe: describeRecord, reads: recordReads, data: []string{""}})
}

// recordReads are the fields describeRecord reads.
var recordReads = []string{fieldEvent, fieldType, "user_id", fieldUserID, "id"}

func describeRecord(payload map[string]any, header http.Header) (events.Info, error) {
	info := events.Info{Type: "record"}
	if s, _ := payload[fieldEvent].(string); s != "" {
		info.Type = s
	} else if s, _ := payload[fieldType].(string); s != "" {
		info.Type = s
	}
	headerKey(&info, header, "Idempotency-Key", "idempotency-key")
	info.UserID = firstID(payload, "user_id", fieldUserID, "id")
	info.Data = payload
	return info, nil
}
