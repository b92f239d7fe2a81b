package main

import (
	"bytes"
	"context"
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
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/provider"
)

// `inlet events`, in every output, shows no secret, signature or token: neither the
// signature headers a source's verification reads nor the token headers the user
// configured, whatever their names say.
func TestInletEventsShowsNoSecrets(t *testing.T) {
	ctx := context.Background()
	client, url := natsWithStreams(t, "events-redaction-test")
	httpSource := func(v v1alpha1.Verification) v1alpha1.SourceSpec {
		return v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{Verification: v}}
	}
	sources := map[string]struct {
		spec   v1alpha1.SourceSpec
		secret string
		body   string
	}{
		"stripe": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, "whsec_events_test",
			`{"id":"evt_1","type":"customer.created","data":{"object":{"id":"cus_1"}}}`},
		"supabase": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSupabase,
			HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthHeader, Header: "X-Supabase-Key"}},
			"supabase-key-events", `{"type":"INSERT","table":"users","schema":"auth","record":{"id":"u1"}}`},
		"shared": {httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationHeaderToken,
			HeaderToken: &v1alpha1.HeaderTokenVerification{Header: "X-Shared-Key"}}), "shared-key-events", `{"type":"a.b"}`},
		"shopify": {httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationHMAC,
			HMAC: &v1alpha1.HMACVerification{Header: "X-Shopify-Hmac-Sha256", Encoding: v1alpha1.EncodingBase64}}), "shpss_events", `{"type":"orders.paid"}`},
	}
	const token = "tok_events_0123456789abcdefghijklmnop"
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "default", Name: name, Generation: 1}
	}
	var in config.Inputs
	for name, s := range sources {
		in.Sources = append(in.Sources, v1alpha1.Source{ObjectMeta: meta(name), Spec: s.spec})
		in.SourceEnvironments = append(in.SourceEnvironments, v1alpha1.SourceEnvironment{ObjectMeta: meta(name + "-test"), Spec: v1alpha1.SourceEnvironmentSpec{
			SourceRef: v1alpha1.LocalObjectReference{Name: name}, Environment: "production",
			SigningSecretRefs: []v1alpha1.SecretKeyReference{{Name: name + "-secret", Key: "secret"}},
		}})
		in.Secrets = append(in.Secrets,
			corev1.Secret{ObjectMeta: meta(name + "-secret"), Data: map[string][]byte{"secret": []byte(s.secret)}},
			corev1.Secret{ObjectMeta: meta(config.EndpointTokenSecretName(name + "-test")), Data: map[string][]byte{config.EndpointTokenKey: []byte(token)}})
	}
	snap := config.Build(in)
	if len(snap.Problems) > 0 {
		t.Fatalf("problems: %v", snap.Problems)
	}
	server := ingress.NewServer(ingress.Options{Publisher: client, Logger: logr.Discard()})
	server.SetSnapshot(snap)
	web := httptest.NewServer(server.Handler())
	t.Cleanup(web.Close)

	secrets := []string{token}
	for name, s := range sources {
		header, err := provider.Sign(&s.spec, s.secret, time.Now(), []byte(s.body))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s.secret)
		for k, v := range header {
			if k != "Content-Type" {
				secrets = append(secrets, v[0])
			}
		}
		path := web.URL + "/e/default/" + name + "-test"
		if provider.UsesEndpointToken(&s.spec) {
			path += "/" + token
		}
		for _, body := range []string{s.body, `{"tampered":1}`} { // accepted, then refused
			req, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
			req.Header = header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if body == s.body && resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d", name, resp.StatusCode)
			}
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	server.Close(closeCtx)

	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		cmd := newLogCommand("events", "events", true)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append(args, "--nats-url", url))
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("inlet events %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	var shown strings.Builder
	for name := range sources {
		var lines []string
		deadline := time.Now().Add(5 * time.Second)
		for len(lines) < 2 && time.Now().Before(deadline) {
			lines = strings.Split(strings.TrimSpace(run(name+"-test", "-o", "json")), "\n")
			time.Sleep(20 * time.Millisecond)
		}
		if len(lines) < 2 {
			t.Fatalf("inlet events %s-test -o json: %q, want 2 records", name, lines)
		}
		shown.WriteString(strings.Join(lines, "\n"))
		shown.WriteString(run(name + "-test"))
		for _, m := range must(client.LastMessages(ctx, v1alpha1.DefaultLogStream, jetstream.EventLogFilter("default", name+"-test"), 10)) {
			id := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
			shown.WriteString(run(name+"-test", "--id", id))
		}
	}
	out := shown.String()
	if !strings.Contains(out, "[redacted]") {
		t.Fatalf("inlet events shows no redacted header:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("inlet events shows %q", s)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
