package provider

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	sampleevents "inlet.dev/inlet/config/samples/events"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/verify"
)

// sampleSecrets are the signing secrets the samples are sent with: those of
// config/samples where it has the Source, test secrets for the others.
var sampleSecrets = map[v1alpha1.SourceType]string{
	v1alpha1.SourceTypeStripe:    "whsec_test_secret",
	v1alpha1.SourceTypeClerk:     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	v1alpha1.SourceTypeWorkOS:    "sk_test_workos_sample",
	v1alpha1.SourceTypeSegment:   "abc123",
	v1alpha1.SourceTypeHTTP:      "It's a Secret to Everybody",
	v1alpha1.SourceTypeSlack:     "8f742231b10e8888abcd99yyyzzz85a5",
	v1alpha1.SourceTypeShopify:   "shpss_sample_client_secret",
	v1alpha1.SourceTypeAmplitude: "amplitude-sample-bearer-secret",
	v1alpha1.SourceTypeClay:      "clay-sample-bearer-secret",
}

// sampleSources returns the Source of every type: config/samples' own where it has
// one (the http sample is GitHub's), a Source of just the type for the others.
func sampleSources(t *testing.T) map[v1alpha1.SourceType]*v1alpha1.Source {
	t.Helper()
	objs, err := manifests.LoadPaths(filepath.Join("..", "..", "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[v1alpha1.SourceType]*v1alpha1.Source{}
	for _, o := range objs {
		if o.GetKind() != "Source" {
			continue
		}
		src := &v1alpha1.Source{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, src); err != nil {
			t.Fatalf("%s: %v", o.Origin(), err)
		}
		out[src.Spec.Type] = src
	}
	for _, typ := range Types() {
		if out[typ] == nil {
			out[typ] = &v1alpha1.Source{Spec: v1alpha1.SourceSpec{Type: typ}}
			out[typ].Name = string(typ)
		}
	}
	return out
}

// TestSamples sends every sample of every provider (config/samples/events/<type>/)
// through what a delivery goes through: signed as the sender signs, verified, decoded
// and described. A sample is named after its event type (a ':' or '/' written '.'), and its
// provider must find that type. Tampering with a signed body fails verification.
func TestSamples(t *testing.T) {
	env, err := celext.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sources := sampleSources(t)
	for _, typ := range Types() {
		src := sources[typ]
		secret := sampleSecrets[typ]
		var secrets []string
		if secret != "" {
			secrets = []string{secret}
		}
		for _, name := range sampleevents.List(string(typ)) {
			t.Run(string(typ)+"/"+name, func(t *testing.T) {
				body, err := sampleevents.Sample(string(typ), name)
				if err != nil {
					t.Fatal(err)
				}
				h, err := Sign(&src.Spec, secret, now, body)
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				for _, line := range sampleevents.Headers(string(typ), name) {
					k, v, _ := strings.Cut(line, ":")
					h.Set(strings.TrimSpace(k), strings.TrimSpace(v))
				}
				c, err := Compile(Config{Source: src, Secrets: secrets, CEL: env})
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				if err := c.Verifier.Verify(&verify.Request{Header: h, Body: body}, now); err != nil {
					t.Fatalf("the signed sample does not verify: %v", err)
				}
				// A secret signs the body, unless the sender sends it as a token.
				if secret != "" && !slices.Equal(SignatureHeaders(&src.Spec), []string{"authorization"}) {
					tampered := append([]byte(strings.TrimSpace(string(body))), ' ')
					if err := c.Verifier.Verify(&verify.Request{Header: h, Body: tampered}, now); err == nil {
						t.Error("a tampered sample verifies")
					}
				}
				info := describeSample(t, c.Describer, h, body)
				if got := strings.NewReplacer(":", ".", "/", ".").Replace(info.Type); got != name {
					t.Errorf("event type %q, want the sample's name %q", info.Type, name)
				}
				if info.KeyDropped {
					t.Errorf("the sample's idempotency key was dropped")
				}
			})
		}
	}
}

// A Source that signs nothing may add a header token: every such provider signs it
// for inlet send, and verifies it.
func TestSamplesWithHeaderAuth(t *testing.T) {
	now := time.Now()
	for _, typ := range Types() {
		if !UsesEndpointToken(&v1alpha1.SourceSpec{Type: typ}) || typ == v1alpha1.SourceTypeHTTP {
			continue
		}
		for _, scheme := range []v1alpha1.HeaderAuthScheme{v1alpha1.HeaderAuthBearer, v1alpha1.HeaderAuthBasic, v1alpha1.HeaderAuthHeader} {
			t.Run(string(typ)+"/"+string(scheme), func(t *testing.T) {
				spec := v1alpha1.SourceSpec{Type: typ, HeaderAuth: &v1alpha1.HeaderAuth{Scheme: scheme}}
				body, err := sampleevents.Sample(string(typ), sampleevents.List(string(typ))[0])
				if err != nil {
					t.Fatal(err)
				}
				const secret = "inlet:s3cret-token"
				h, err := Sign(&spec, secret, now, body)
				if err != nil {
					t.Fatal(err)
				}
				c, err := Compile(Config{Source: &v1alpha1.Source{Spec: spec}, Secrets: []string{secret}})
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Verifier.Verify(&verify.Request{Header: h, Body: body}, now); err != nil {
					t.Errorf("the header token does not verify: %v", err)
				}
				other, _ := Sign(&spec, "inlet:another-token", now, body)
				if err := c.Verifier.Verify(&verify.Request{Header: other, Body: body}, now); err == nil {
					t.Error("another token verifies")
				}
				if err := c.Verifier.Verify(&verify.Request{Header: http.Header{}, Body: body}, now); err == nil {
					t.Error("a request without the token verifies")
				}
			})
		}
	}
}

// describeSample decodes a one-payload body and describes it.
func describeSample(t *testing.T, d Describer, h http.Header, body []byte) events.Info {
	t.Helper()
	payloads, err := events.Decode(h.Get("Content-Type"), body, 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(payloads) != 1 {
		t.Fatalf("%d payloads, want 1", len(payloads))
	}
	info, err := d.Describe(context.Background(), Event{
		Payload: payloads[0].(map[string]any), Header: h, Headers: LowerHeaders(h), RawBody: body,
	})
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	checkReads(t, d, h, body)
	return info
}
