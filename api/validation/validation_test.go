package validation

import (
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"inlet.dev/inlet/api/apitest"
	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
)

var (
	sharedOnce      sync.Once
	sharedValidator *Validator
	sharedErr       error
)

// validator builds the Validator once for all tests.
func validator(t *testing.T) *Validator {
	t.Helper()
	sharedOnce.Do(func() { sharedValidator, sharedErr = New() })
	if sharedErr != nil {
		t.Fatalf("New: %v", sharedErr)
	}
	return sharedValidator
}

// decodeOne reads a manifest holding exactly one object.
func decodeOne(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	objs, err := manifests.Decode(t.Name(), []byte(manifest))
	if err != nil || len(objs) != 1 {
		t.Fatalf("test manifest does not decode to one object (%d): %v", len(objs), err)
	}
	return objs[0].Unstructured
}

func TestSamplesAreAccepted(t *testing.T) {
	v := validator(t)
	objs, err := manifests.LoadPaths("../../config/samples")
	if err != nil {
		t.Fatalf("load samples: %v", err)
	}
	kinds := map[string]int{}
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if errs := v.Validate(o.Unstructured); len(errs) > 0 {
			t.Errorf("%s is refused: %v", o.Origin(), errs.ToAggregate())
		}
		kinds[o.GetKind()]++
		byName[o.GetKind()+"/"+o.GetName()] = o.Unstructured
	}
	for kind, atLeast := range map[string]int{"Source": 4, "SourceEnvironment": 4, "EventMapping": 4, "Secret": 4} {
		if kinds[kind] < atLeast {
			t.Errorf("samples hold %d %s objects, want at least %d", kinds[kind], kind, atLeast)
		}
	}

	// The schema's defaults were applied in place, and the result reads as the Go types.
	var github v1alpha1.Source
	fromUnstructured(t, byName["Source/github"], &github)
	hmac := github.Spec.HTTP.Verification.HMAC
	if hmac.SignedContent != v1alpha1.SignedBody || hmac.TimestampUnit != v1alpha1.TimestampSeconds {
		t.Errorf("hmac defaults = signedContent %q, timestampUnit %q; want body, seconds", hmac.SignedContent, hmac.TimestampUnit)
	}
	var clerk v1alpha1.SourceEnvironment
	fromUnstructured(t, byName["SourceEnvironment/clerk-production"], &clerk)
	if got := clerk.Spec.SigningSecretRefs[0].Key; got != "secret" {
		t.Errorf("signingSecretRefs[0].key defaulted to %q, want secret", got)
	}
	if !clerk.Spec.IdempotencyEnabled() || clerk.Spec.IdempotencyWindow().String() != "24h0m0s" {
		t.Errorf("idempotency = %v, %v; want on, 24h", clerk.Spec.IdempotencyEnabled(), clerk.Spec.IdempotencyWindow())
	}
	// Other kinds are left alone.
	secret := byName["Secret/clerk-webhook"]
	if _, found, _ := unstructured.NestedString(secret.Object, "stringData", "secret"); !found {
		t.Errorf("the Secret was changed: %v", secret.Object)
	}
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if u == nil {
		t.Fatalf("sample object not found")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true); err != nil {
		t.Fatalf("%s %s does not read as %T: %v", u.GetKind(), u.GetName(), into, err)
	}
}

// TestInvalidManifestsAreRefused checks the offline validator against the table the
// envtest suite checks against a real kube-apiserver (api/testdata/invalid-manifests.yaml).
func TestInvalidManifestsAreRefused(t *testing.T) {
	tests, err := apitest.InvalidManifests()
	if err != nil {
		t.Fatal(err)
	}
	v := validator(t)
	for _, tc := range tests {
		t.Run(tc.Name, func(t *testing.T) {
			errs := v.Validate(decodeOne(t, tc.Manifest))
			if len(errs) == 0 {
				t.Fatalf("accepted; want a refusal mentioning %q", tc.Want)
			}
			msg := errs.ToAggregate().Error()
			t.Log(msg)
			for _, w := range tc.Want {
				if !strings.Contains(msg, w) {
					t.Errorf("refusal %q\ndoes not mention %q", msg, w)
				}
			}
		})
	}
}

// TestServerBehaviour checks what the API server does besides the schema and CEL rules,
// as read in apiextensions-apiserver's customresource handler and strategy.
func TestServerBehaviour(t *testing.T) {
	const stripe = "apiVersion: inlet.dev/v1alpha1\nkind: Source\nmetadata: {name: stripe}\nspec: {type: stripe}\n"
	tests := map[string]struct {
		manifest string
		want     []string // substrings of the aggregate; none means valid
		check    func(t *testing.T, obj *unstructured.Unstructured, errs field.ErrorList)
	}{
		"not an inlet kind": {
			manifest: "apiVersion: v1\nkind: Secret\nmetadata: {name: Not_A_Name}\nspec: {x: 1}",
		},
		"unknown version": {
			manifest: strings.Replace(stripe, "v1alpha1", "v1", 1),
			want:     []string{`apiVersion: Unsupported value: "inlet.dev/v1": supported values: "inlet.dev/v1alpha1"`},
		},
		"unknown kind in the group": {
			manifest: strings.Replace(stripe, "kind: Source", "kind: Sauce", 1),
			want:     []string{`kind: Unsupported value: "Sauce"`, `"SourceEnvironment"`},
		},
		"no namespace is fine, a bad one is not": {
			manifest: strings.Replace(stripe, "{name: stripe}", "{name: stripe, namespace: Team_A}", 1),
			want:     []string{`metadata.namespace: Invalid value: "Team_A"`},
		},
		"name that is not a DNS subdomain": {
			manifest: strings.Replace(stripe, "{name: stripe}", "{name: Stripe_Live}", 1),
			want:     []string{`metadata.name: Invalid value: "Stripe_Live": a lowercase RFC 1123 subdomain`},
		},
		"no name": {
			manifest: strings.Replace(stripe, "{name: stripe}", "{labels: {a: b}}", 1),
			want:     []string{"metadata.name: Required value: name or generateName is required"},
		},
		"generateName": {
			manifest: strings.Replace(stripe, "{name: stripe}", "{generateName: stripe-}", 1),
			check: func(t *testing.T, obj *unstructured.Unstructured, _ field.ErrorList) {
				if obj.GetName() != "" {
					t.Errorf("the name was set to %q; only the API server generates names", obj.GetName())
				}
			},
		},
		"bad label": {
			manifest: strings.Replace(stripe, "{name: stripe}", "{name: stripe, labels: {'a b': c}}", 1),
			want:     []string{`metadata.labels: Invalid value: "a b"`},
		},
		"status is dropped on create": {
			// The API server prunes and warns before it drops status.
			manifest: stripe + "status: {environments: 3, bogus: true}\n",
			want:     []string{`unknown field "status.bogus"`},
			check: func(t *testing.T, obj *unstructured.Unstructured, _ field.ErrorList) {
				if _, found := obj.Object["status"]; found {
					t.Errorf("status kept: %v", obj.Object["status"])
				}
			},
		},
		"duplicate map-list keys": {
			manifest: "apiVersion: inlet.dev/v1alpha1\nkind: SourceEnvironment\nmetadata: {name: e}\n" +
				"spec: {sourceRef: {name: s}, environment: dev, variables: [{name: x, value: a}, {name: x, value: b}]}",
			want: []string{`spec.variables[1]: Duplicate value: {"name":"x"}`},
		},
		"CEL rules are skipped after a blocking error": {
			manifest: "apiVersion: inlet.dev/v1alpha1\nkind: Source\nmetadata: {name: s}\nspec: {type: paypal, headerAuth: {scheme: bearer, header: X-A}}",
			want:     []string{`spec.type: Unsupported value: "paypal"`, "some validation rules were not checked because the object was invalid"},
			check: func(t *testing.T, _ *unstructured.Unstructured, errs field.ErrorList) {
				if msg := errs.ToAggregate().Error(); strings.Contains(msg, "header is only used with scheme header") {
					t.Errorf("a CEL rule ran: %s", msg)
				}
			},
		},
	}
	v := validator(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			objs, err := manifests.Decode(name, []byte(tc.manifest))
			if err != nil || len(objs) != 1 {
				t.Fatalf("test manifest does not decode to one object (%d): %v", len(objs), err)
			}
			obj := objs[0].Unstructured
			errs := v.Validate(obj)
			if len(tc.want) == 0 && len(errs) > 0 {
				t.Errorf("refused: %v", errs.ToAggregate())
			}
			if len(tc.want) > 0 && len(errs) == 0 {
				t.Errorf("accepted; want %q", tc.want)
			}
			for _, w := range tc.want {
				if msg := errs.ToAggregate(); msg == nil || !strings.Contains(msg.Error(), w) {
					t.Errorf("errors %v\ndo not mention %q", msg, w)
				}
			}
			if tc.check != nil {
				tc.check(t, obj, errs)
			}
		})
	}
}

func TestUnknownFields(t *testing.T) {
	v := validator(t)
	obj := decodeOne(t, `apiVersion: inlet.dev/v1alpha1
kind: EventMapping
metadata: {name: m, colour: red}
spec:
  sourceEnvironmentRef: {name: s, namespace: other}
  eventType: a
  actions: [{deleteTenant: {id: body.id, soft: true}}]
  priority: 3
`)
	errs := v.Validate(obj)
	var unknown []string
	for _, err := range errs {
		if !IsUnknownField(err) {
			t.Errorf("unexpected error: %v", err)
			continue
		}
		unknown = append(unknown, err.Error())
	}
	want := []string{
		`metadata.colour: Forbidden: unknown field "metadata.colour"`,
		`spec.actions[0].deleteTenant.soft: Forbidden: unknown field "spec.actions[0].deleteTenant.soft"`,
		`spec.priority: Forbidden: unknown field "spec.priority"`,
		`spec.sourceEnvironmentRef.namespace: Forbidden: unknown field "spec.sourceEnvironmentRef.namespace"`,
	}
	if strings.Join(unknown, "\n") != strings.Join(want, "\n") {
		t.Errorf("unknown fields:\n%s\nwant:\n%s", strings.Join(unknown, "\n"), strings.Join(want, "\n"))
	}
	// They are pruned, as the API server stores the object.
	for _, path := range [][]string{{"spec", "priority"}, {"spec", "sourceEnvironmentRef", "namespace"}, {"metadata", "colour"}} {
		if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, path...); found {
			t.Errorf("%s was not pruned", strings.Join(path, "."))
		}
	}
	actions, _, _ := unstructured.NestedSlice(obj.Object, "spec", "actions")
	if _, found := actions[0].(map[string]any)["deleteTenant"].(map[string]any)["soft"]; found {
		t.Errorf("spec.actions[0].deleteTenant.soft was not pruned")
	}
}

// TestGoValues checks that an object built in Go, with int rather than int64 values,
// validates as its JSON would.
func TestGoValues(t *testing.T) {
	v := validator(t)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "inlet.dev/v1alpha1",
		"kind":       "SourceEnvironment",
		"metadata":   map[string]any{"name": "e"},
		"spec": map[string]any{
			"sourceRef":   map[string]any{"name": "s"},
			"environment": "dev",
			"ingress":     map[string]any{"replicas": 101},
		},
	}}
	msg := v.Validate(obj).ToAggregate()
	if msg == nil || !strings.Contains(msg.Error(), "spec.ingress.replicas: Invalid value: 101") {
		t.Errorf("errors = %v; want replicas above the maximum", msg)
	}
}
