package config_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/verify"
)

const testToken = "0123456789abcdefghijklmnopqrstuvwxyz"

// sampleInputs loads config/samples into the default namespace, with the endpoint token
// Secret the operator would generate for Segment.
func sampleInputs(t *testing.T) config.Inputs {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	objs, err := manifests.LoadPaths(filepath.Join(filepath.Dir(file), "..", "..", "config", "samples"))
	if err != nil {
		t.Fatalf("load samples: %v", err)
	}
	var in config.Inputs
	for _, o := range objs {
		o.SetNamespace("default")
		if _, err := in.Add(o.Unstructured); err != nil {
			t.Fatalf("%s: %v", o.Origin(), err)
		}
	}
	in.Secrets = append(in.Secrets, tokenSecret("segment-production"))
	return in
}

func tokenSecret(sourceEnvironment string) corev1.Secret {
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: config.EndpointTokenSecretName(sourceEnvironment)},
		Data:       map[string][]byte{config.EndpointTokenKey: []byte(testToken)},
	}
}

func key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: "default", Name: name}
}

func TestSamplesCompile(t *testing.T) {
	snap := config.Build(sampleInputs(t))
	if len(snap.Problems) > 0 {
		t.Fatalf("problems: %v", snap.Problems)
	}
	tests := map[string]struct {
		mappings  int
		eventType string
		kinds     []v1alpha1.ActionKind
		token     bool
	}{
		"stripe-production":  {3, "customer.subscription.created", []v1alpha1.ActionKind{"identifyUser", "triggerWorkflow"}, false},
		"clerk-production":   {2, "organization.created", []v1alpha1.ActionKind{"setTenant", "addAudienceMember"}, false},
		"segment-production": {2, "Project Created", []v1alpha1.ActionKind{"setObject", "subscribeUser"}, true},
		"github-development": {1, "issues.assigned", []v1alpha1.ActionKind{"triggerWorkflow"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := snap.Lookup(key(name))
			if e == nil {
				t.Fatal("not compiled")
			}
			if e.MappingCount() != tc.mappings {
				t.Errorf("mappings = %d, want %d", e.MappingCount(), tc.mappings)
			}
			ms := e.Mappings(tc.eventType)
			if len(ms) != 1 {
				t.Fatalf("mappings for %q = %d, want 1", tc.eventType, len(ms))
			}
			var kinds []v1alpha1.ActionKind
			for _, a := range ms[0].Actions {
				kinds = append(kinds, a.Kind)
			}
			if !slices.Equal(kinds, tc.kinds) {
				t.Errorf("actions in publishing order = %v, want %v", kinds, tc.kinds)
			}
			if e.UsesEndpointToken != tc.token || (e.EndpointToken != "") != tc.token {
				t.Errorf("endpoint token used %v (set %v), want %v", e.UsesEndpointToken, e.EndpointToken != "", tc.token)
			}
		})
	}
}

func TestActionsArePublishedInKnockOrder(t *testing.T) {
	m := &v1alpha1.EventMapping{
		ObjectMeta: metav1.ObjectMeta{Name: "m"},
		Spec: v1alpha1.EventMappingSpec{
			EventType: "x",
			Actions: []v1alpha1.Action{
				{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "w", Recipients: "['u']"}},
				{DeleteTenant: &v1alpha1.DeleteTenantAction{ID: "'t'"}},
				{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "'u'"}},
				{CancelWorkflow: &v1alpha1.CancelWorkflowAction{Workflow: "w", CancellationKey: "'k'"}},
				{AddAudienceMember: &v1alpha1.AudienceMemberAction{Audience: "a", UserID: "'u'"}},
			},
		},
	}
	compiled, err := config.CompileMapping(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range compiled.Actions {
		got = append(got, string(a.Kind)+"@"+string(rune('0'+a.Position)))
	}
	want := []string{"identifyUser@2", "deleteTenant@1", "addAudienceMember@4", "cancelWorkflow@3", "triggerWorkflow@0"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestProblemsAreReportedAndSkipped(t *testing.T) {
	tests := map[string]struct {
		change     func(in *config.Inputs)
		kind, name string
		reason     string
		message    []string
		stillOK    string // another environment that must still be served
	}{
		"bad CEL in a mapping": {
			change: func(in *config.Inputs) {
				m := winback(in)
				m.Spec.Actions[0].TriggerWorkflow.Recipients = "[body.data.object.customer"
			},
			kind: "EventMapping", name: "stripe-winback", reason: v1alpha1.ReasonInvalidExpression,
			message: []string{"spec.actions[0].triggerWorkflow.recipients", "line 1, column"},
			stillOK: "stripe-production",
		},
		"undeclared variable in when": {
			change: func(in *config.Inputs) {
				winback(in).Spec.When = "bdy.data.object.cancel_at_period_end == false"
			},
			kind: "EventMapping", name: "stripe-winback", reason: v1alpha1.ReasonInvalidExpression,
			message: []string{"spec.when", "line 1, column", "undeclared reference to 'bdy"},
			stillOK: "stripe-production",
		},
		"when that is not a bool": {
			change: func(in *config.Inputs) {
				winback(in).Spec.When = "'yes'"
			},
			kind: "EventMapping", name: "stripe-winback", reason: v1alpha1.ReasonInvalidExpression,
			message: []string{"spec.when", "must be a bool"},
			stillOK: "stripe-production",
		},
		"missing signing secret": {
			change: func(in *config.Inputs) {
				in.Secrets = slices.DeleteFunc(in.Secrets, func(s corev1.Secret) bool { return s.Name == "stripe-webhook" })
			},
			kind: "SourceEnvironment", name: "stripe-production", reason: v1alpha1.ReasonSecretNotFound,
			message: []string{`Secret "stripe-webhook" not found`},
			stillOK: "clerk-production",
		},
		"missing source": {
			change: func(in *config.Inputs) {
				in.Sources = slices.DeleteFunc(in.Sources, func(s v1alpha1.Source) bool { return s.Name == "clerk" })
			},
			kind: "SourceEnvironment", name: "clerk-production", reason: v1alpha1.ReasonSourceNotFound,
			message: []string{`Source "clerk" not found`},
			stillOK: "stripe-production",
		},
		"missing endpoint token": {
			change: func(in *config.Inputs) {
				in.Secrets = slices.DeleteFunc(in.Secrets, func(s corev1.Secret) bool { return strings.HasSuffix(s.Name, "-endpoint-token") })
			},
			kind: "SourceEnvironment", name: "segment-production", reason: v1alpha1.ReasonSecretNotFound,
			message: []string{"endpoint token"},
			stillOK: "github-development",
		},
		"mapping for a missing environment": {
			change: func(in *config.Inputs) {
				winback(in).Spec.SourceEnvironmentRef.Name = "stripe-staging"
			},
			kind: "EventMapping", name: "stripe-winback", reason: v1alpha1.ReasonSourceEnvironmentNotFound,
			message: []string{`"stripe-staging"`},
			stillOK: "stripe-production",
		},
		"bad http event type expression": {
			change: func(in *config.Inputs) {
				for i := range in.Sources {
					if in.Sources[i].Name == "github" {
						in.Sources[i].Spec.HTTP.EventType = "headers['x-github-event'] +"
					}
				}
			},
			kind: "SourceEnvironment", name: "github-development", reason: v1alpha1.ReasonInvalidExpression,
			message: []string{"spec.http.eventType", "line 1"},
			stillOK: "stripe-production",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := sampleInputs(t)
			tc.change(&in)
			snap := config.Build(in)
			var found *config.Problem
			for i, p := range snap.Problems {
				if p.Kind == tc.kind && p.Object.Name == tc.name {
					found = &snap.Problems[i]
				}
			}
			if found == nil {
				t.Fatalf("no problem reported for %s %s; problems: %v", tc.kind, tc.name, snap.Problems)
			}
			if found.Reason != tc.reason {
				t.Errorf("reason = %s, want %s", found.Reason, tc.reason)
			}
			for _, m := range tc.message {
				if !strings.Contains(found.Message, m) {
					t.Errorf("message %q does not mention %q", found.Message, m)
				}
			}
			if snap.Lookup(key(tc.stillOK)) == nil {
				t.Errorf("%s is no longer served", tc.stillOK)
			}
		})
	}
}

func TestCELVerification(t *testing.T) {
	in := sampleInputs(t)
	for i := range in.Sources {
		if in.Sources[i].Name == "github" {
			in.Sources[i].Spec.HTTP.Verification = v1alpha1.Verification{
				Type: v1alpha1.VerificationCEL,
				CEL: &v1alpha1.CELVerification{Expression: `secureCompare(headers['x-signature'], ` +
					`vars.dashboardURL + ':' + hex.encode(hmac.sha256(vars.signingSecret, rawBody)))`},
			}
		}
	}
	snap := config.Build(in)
	e := snap.Lookup(key("github-development"))
	if e == nil {
		t.Fatalf("not compiled: %v", snap.Problems)
	}
	body := []byte(`{"action":"assigned"}`)
	mac := hmac.New(sha256.New, []byte("It's a Secret to Everybody"))
	mac.Write(body)
	good := "https://app.example.com:" + hex.EncodeToString(mac.Sum(nil))
	tests := map[string]struct {
		signature string
		ok        bool
	}{
		"valid":    {good, true},
		"tampered": {good[:len(good)-1] + "0", false},
		"missing":  {"", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if tc.signature != "" {
				h.Set("X-Signature", tc.signature)
			}
			err := e.Verifier.Verify(&verify.Request{Header: h, Body: body}, time.Now())
			if (err == nil) != tc.ok {
				t.Errorf("Verify = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// winback returns the stripe-winback EventMapping of in.
func winback(in *config.Inputs) *v1alpha1.EventMapping {
	for i := range in.EventMappings {
		if in.EventMappings[i].Name == "stripe-winback" {
			return &in.EventMappings[i]
		}
	}
	panic("no mapping stripe-winback")
}

func TestCheckSource(t *testing.T) {
	tests := map[string]struct {
		spec v1alpha1.SourceSpec
		want string // "" for valid
	}{
		"stripe": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, ""},
		"http event type that does not compile": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
			Verification: v1alpha1.Verification{Type: v1alpha1.VerificationNone}, EventType: "body.type +",
		}}, "spec.http.eventType: line 1, column"},
		"cel verification that is not a bool": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
			Verification: v1alpha1.Verification{Type: v1alpha1.VerificationCEL, CEL: &v1alpha1.CELVerification{Expression: "headers['x']"}},
		}}, "spec.http.verification.cel.expression: must be a bool"},
		"hmac timestamp header without a signed timestamp": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
			Verification: v1alpha1.Verification{Type: v1alpha1.VerificationHMAC, HMAC: &v1alpha1.HMACVerification{Header: "X-Sig", TimestampHeader: "X-Ts", SignedContent: v1alpha1.SignedBody}},
		}}, "spec.http.verification"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := config.CheckSource(&v1alpha1.Source{Spec: tc.spec})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
