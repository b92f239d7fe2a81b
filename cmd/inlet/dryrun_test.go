package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// inlet test prints the actions with every digit of an integer beyond 2^53, in both
// outputs, as the ingress publishes them.
func TestInletTestKeepsLargeIntegers(t *testing.T) {
	dir := t.TempDir()
	manifests := `apiVersion: inlet.dev/v1alpha1
kind: Source
metadata: {name: stripe}
spec: {type: stripe}
---
apiVersion: inlet.dev/v1alpha1
kind: SourceEnvironment
metadata: {name: stripe-test}
spec:
  sourceRef: {name: stripe}
  environment: development
  signingSecretRefs: [{name: stripe-secret, key: secret}]
---
apiVersion: v1
kind: Secret
metadata: {name: stripe-secret}
stringData: {secret: whsec_dryrun}
---
apiVersion: inlet.dev/v1alpha1
kind: EventMapping
metadata: {name: big}
spec:
  sourceEnvironmentRef: {name: stripe-test}
  eventType: customer.created
  actions:
  - setObject: {collection: accounts, id: body.data.object.account, properties: '{"n": body.data.object.n}'}
`
	event := `{"id":"evt_1","type":"customer.created","data":{"object":{"account":12345678901234567890,"n":9223372036854775807}}}`
	if err := os.WriteFile(filepath.Join(dir, "stripe.yaml"), []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	eventFile := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(eventFile, []byte(event), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, output := range []string{"table", "json"} {
		var out bytes.Buffer
		o := &testOptions{files: []string{dir}, namespace: "default", output: output, event: eventFile}
		if err := o.run(context.Background(), &out); err != nil {
			t.Fatalf("-o %s: %v\n%s", output, err, out.String())
		}
		for _, want := range []string{`"12345678901234567890"`, `9223372036854775807`} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("-o %s: want %s in\n%s", output, want, out.String())
			}
		}
	}
}
