package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/provider"
)

// `inlet events -o json` prints one JSON object per line, also for an event whose
// payload was sent pretty-printed, over several lines.
func TestInletEventsJSONIsOneObjectPerLine(t *testing.T) {
	ctx := context.Background()
	client, url := natsWithStreams(t, "events-json-test")
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "default", Name: name, Generation: 1}
	}
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}
	const secret = "whsec_events_json"
	snap := config.Build(config.Inputs{
		Sources: []v1alpha1.Source{{ObjectMeta: meta("stripe"), Spec: spec}},
		SourceEnvironments: []v1alpha1.SourceEnvironment{{ObjectMeta: meta("stripe-test"), Spec: v1alpha1.SourceEnvironmentSpec{
			SourceRef: v1alpha1.LocalObjectReference{Name: "stripe"}, Environment: "production",
			SigningSecretRefs: []v1alpha1.SecretKeyReference{{Name: "stripe-secret", Key: "secret"}},
		}}},
		Secrets: []corev1.Secret{{ObjectMeta: meta("stripe-secret"), Data: map[string][]byte{"secret": []byte(secret)}}},
	})
	if len(snap.Problems) > 0 {
		t.Fatalf("problems: %v", snap.Problems)
	}
	server := ingress.NewServer(ingress.Options{Publisher: client, Logger: logr.Discard()})
	server.SetSnapshot(snap)
	web := httptest.NewServer(server.Handler())
	t.Cleanup(web.Close)

	bodies := []string{
		"{\n  \"id\": \"evt_pretty\",\n  \"type\": \"customer.created\",\n  \"data\": {\n    \"object\": {\n      \"id\": \"cus_1\",\n      \"note\": \"two\\nlines\"\n    }\n  }\n}\n",
		"{\r\n\t\"id\": \"evt_tabs\",\r\n\t\"type\": \"customer.created\"\r\n}",
		`[{"id":"evt_b1","type":"customer.created"},` + "\n" + `{"id":"evt_b2","type":"customer.created"}]`,
	}
	for _, body := range bodies {
		header, err := provider.Sign(&spec, secret, time.Now(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, web.URL+"/e/default/stripe-test", strings.NewReader(body))
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: answered %d", body, resp.StatusCode)
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	server.Close(closeCtx) // the event log is written now

	var out bytes.Buffer
	cmd := newLogCommand("events", "events", true)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"stripe-test", "-o", "json", "--nats-url", url})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("inlet events: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("inlet events -o json printed %d lines, want 4 (one per event):\n%s", len(lines), out.String())
	}
	ids := map[string]bool{}
	for i, line := range lines {
		var rec struct {
			Payload map[string]any `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i+1, err, line)
		}
		id, _ := rec.Payload["id"].(string)
		ids[id] = true
	}
	for _, id := range []string{"evt_pretty", "evt_tabs", "evt_b1", "evt_b2"} {
		if !ids[id] {
			t.Errorf("no record with the payload of %s in:\n%s", id, out.String())
		}
	}
}
