package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inlet.dev/inlet/api/validation"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/local"
)

// badCEL is a folder of manifests whose CEL does not compile: an EventMapping's
// recipients and an http Source's eventType. The schema accepts them; only the CEL
// compiler finds the errors.
func badCEL(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"mapping.yaml": `apiVersion: inlet.dev/v1alpha1
kind: EventMapping
metadata: {name: m}
spec:
  sourceEnvironmentRef: {name: gh-test}
  eventType: x
  actions:
  - triggerWorkflow: {workflow: w, recipients: '[body.id'}
`,
		"source.yaml": `apiVersion: inlet.dev/v1alpha1
kind: Source
metadata: {name: ok}
spec: {type: segment}
---
apiVersion: inlet.dev/v1alpha1
kind: Source
metadata: {name: gh}
spec:
  type: http
  http:
    verification: {type: github}
    eventType: "headers['x-github-event'] +"
`,
		"environment.yaml": `apiVersion: inlet.dev/v1alpha1
kind: SourceEnvironment
metadata: {name: gh-test}
spec:
  sourceRef: {name: gh}
  environment: development
  signingSecretRefs: [{name: gh-secret, key: secret}]
---
apiVersion: v1
kind: Secret
metadata: {name: gh-secret}
stringData: {secret: s3cret}
`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantFiles checks that each CEL error names the file and document it is in.
func wantFiles(t *testing.T, dir, out string) {
	t.Helper()
	for _, want := range []string{
		filepath.Join(dir, "mapping.yaml") + "#0 (EventMapping m): InvalidExpression: spec.actions[0].triggerWorkflow.recipients",
		filepath.Join(dir, "source.yaml") + "#1 (Source gh)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not name the file: want %q in\n%s", want, out)
		}
	}
}

func TestInletTestNamesTheFileOfACELError(t *testing.T) {
	dir := badCEL(t)
	var out bytes.Buffer
	o := &testOptions{files: []string{dir}, namespace: "default", output: "table"}
	if err := o.run(context.Background(), &out); err == nil {
		t.Fatalf("inlet test passed manifests whose CEL does not compile:\n%s", out.String())
	}
	wantFiles(t, dir, out.String())
}

func TestDevReloadNamesTheFileOfACELError(t *testing.T) {
	dir := badCEL(t)
	_, url := natstest.Start(t)
	client, err := jetstream.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	validator, err := validation.New()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := local.NewFolder(local.Options{Dir: dir, Namespace: "default", TokensFile: filepath.Join(t.TempDir(), local.TokensFile),
		Validator: validator, JetStream: client.JetStream(), Apply: func(*config.Snapshot) {}, Out: &out})
	if err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, dir, out.String())
}
