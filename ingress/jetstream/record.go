package jetstream

import (
	"encoding/json"
	"fmt"

	"inlet.dev/inlet/ingress/wire"
)

// EncodeEventRecord is the inverse of [DecodeEventRecord]: the message of an event
// record on its [EventLogSubject]. Readers' tests write records with it; the ingress's
// writer must produce what DecodeEventRecord reads.
func EncodeEventRecord(r *wire.EventRecord) (Message, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return Message{}, fmt.Errorf("encode event record: %w", err)
	}
	return Message{Subject: EventLogSubject(r.Namespace, r.SourceEnvironment, r.ID), Data: data}, nil
}
