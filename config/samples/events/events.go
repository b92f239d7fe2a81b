// Package events holds sample payloads for the sample sources, one file per source type
// and event type (stripe/customer.subscription.created.json), for `inlet send --sample`
// and the end-to-end tests. A payload the sender posts as a form
// (application/x-www-form-urlencoded, such as a Slack slash command) is a .form file.
package events

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed */*.json */*.form */*.headers
var samples embed.FS

// Sample returns the sample payload of an event type for a source type.
func Sample(sourceType, eventType string) ([]byte, error) {
	data, err := samples.ReadFile(sourceType + "/" + eventType + ".json")
	if err != nil {
		data, err = samples.ReadFile(sourceType + "/" + eventType + ".form")
	}
	if err != nil {
		return nil, fmt.Errorf("no sample %q for %s sources; samples: %s", eventType, sourceType, strings.Join(List(sourceType), ", "))
	}
	return data, nil
}

// Headers returns the headers a sample is sent with (such as X-GitHub-Event), as
// "Name: value" lines, or nil.
func Headers(sourceType, eventType string) []string {
	data, err := samples.ReadFile(sourceType + "/" + eventType + ".headers")
	if err != nil {
		return nil
	}
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// List returns the sample event types of a source type.
func List(sourceType string) []string {
	entries, _ := fs.ReadDir(samples, sourceType)
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			out = append(out, name)
		} else if name, ok := strings.CutSuffix(e.Name(), ".form"); ok {
			out = append(out, name)
		}
	}
	return out
}
