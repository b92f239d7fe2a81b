package provider

import (
	"net/http"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/events"
)

// supabase: database webhooks from Supabase, which are not signed
// (docs/sources/supabase.md).
//
//	verified  the endpoint token, plus the Source's header token (headerAuth)
//	type      "{body.schema}.{body.table}:{body.type}", e.g. auth.users:INSERT
//	key       none
//	user id   for auth.users, the record's id
//	data      body.record, or body.old_record for DELETE
func init() {
	register(&builtin{
		typ:      v1alpha1.SourceTypeSupabase,
		describe: describeSupabase,
		reads:    []string{"schema", "table", fieldType, "record.id", "old_record.id"},
		data:     []string{"record", "old_record"},
	})
}

func describeSupabase(payload map[string]any, _ http.Header) (events.Info, error) {
	var info events.Info
	schema, _ := payload["schema"].(string)
	table, _ := payload["table"].(string)
	op, _ := payload[fieldType].(string)
	if schema == "" || table == "" || op == "" {
		return events.Info{}, events.NoEventType("event type not found: body.schema, body.table and body.type must be non-empty strings")
	}
	info.Type = schema + "." + table + ":" + op
	record := payload["record"]
	if op == "DELETE" {
		record = payload["old_record"]
	}
	info.Data = record
	if schema == "auth" && table == "users" {
		if m, _ := record.(map[string]any); m != nil {
			info.UserID = id(m["id"])
		}
	}
	return info, nil
}
