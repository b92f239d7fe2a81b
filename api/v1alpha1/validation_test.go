package v1alpha1_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(code)
}

// newNamespace creates a namespace of its own for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

func TestSamplesAreAccepted(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	objs, err := manifests.LoadPaths(filepath.Join(testenv.RepoRoot(), "config", "samples"))
	if err != nil {
		t.Fatalf("load samples: %v", err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		o.SetNamespace(ns)
		if err := env.Client.Create(ctx, o.Unstructured); err != nil {
			t.Errorf("%s was refused: %v", o.Origin(), err)
		}
		kinds[o.GetKind()]++
	}
	// Four sources, each with an environment and at least one mapping.
	for kind, atLeast := range map[string]int{"Source": 4, "SourceEnvironment": 4, "EventMapping": 4, "Secret": 4} {
		if kinds[kind] < atLeast {
			t.Errorf("samples hold %d %s objects, want at least %d", kinds[kind], kind, atLeast)
		}
	}

	// The API server applied the schema's defaults.
	var github v1alpha1.Source
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "github"}, &github); err != nil {
		t.Fatalf("get github source: %v", err)
	}
	hmac := github.Spec.HTTP.Verification.HMAC
	if hmac.SignedContent != v1alpha1.SignedBody || hmac.TimestampUnit != v1alpha1.TimestampSeconds {
		t.Errorf("hmac defaults = signedContent %q, timestampUnit %q; want body, seconds", hmac.SignedContent, hmac.TimestampUnit)
	}
	var clerk v1alpha1.SourceEnvironment
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "clerk-production"}, &clerk); err != nil {
		t.Fatalf("get clerk-production: %v", err)
	}
	if got := clerk.Spec.SigningSecretRefs[0].Key; got != "secret" {
		t.Errorf("signingSecretRefs[0].key defaulted to %q, want secret", got)
	}
	if !clerk.Spec.IdempotencyEnabled() || clerk.Spec.IdempotencyWindow().String() != "24h0m0s" {
		t.Errorf("idempotency = %v, %v; want on, 24h", clerk.Spec.IdempotencyEnabled(), clerk.Spec.IdempotencyWindow())
	}
}

func TestInvalidManifestsAreRefused(t *testing.T) {
	const (
		source = "apiVersion: inlet.dev/v1alpha1\nkind: Source\nmetadata: {name: bad}\n"
		srcEnv = "apiVersion: inlet.dev/v1alpha1\nkind: SourceEnvironment\nmetadata: {name: bad}\n"
		evm    = "apiVersion: inlet.dev/v1alpha1\nkind: EventMapping\nmetadata: {name: bad}\n"
	)
	tests := map[string]struct {
		manifest string
		want     []string // each must appear in the API server's message
	}{
		"unknown source type": {
			source + "spec: {type: paypal}",
			[]string{`spec.type: Unsupported value: "paypal"`, `"stripe"`},
		},
		"http source without http": {
			source + "spec: {type: http}",
			[]string{"spec: Invalid value", "spec.http is required when type is http"},
		},
		"stripe source with http": {
			source + "spec: {type: stripe, http: {verification: {type: none}}}",
			[]string{"spec.http is required when type is http and not allowed for other types"},
		},
		"http source with no verification": {
			source + "spec: {type: http, http: {eventType: body.kind}}",
			[]string{"spec.http.verification: Required value"},
		},
		"hmac verification without hmac settings": {
			source + "spec: {type: http, http: {verification: {type: hmac}}}",
			[]string{"spec.http.verification: Invalid value", "hmac is required when type is hmac"},
		},
		"hmac with an unknown algorithm": {
			source + "spec: {type: http, http: {verification: {type: hmac, hmac: {header: X-Sig, algorithm: md5}}}}",
			[]string{`spec.http.verification.hmac.algorithm: Unsupported value: "md5"`},
		},
		"signed timestamp without its header": {
			source + "spec: {type: http, http: {verification: {type: hmac, hmac: {header: X-Sig, signedContent: timestamp.body}}}}",
			[]string{"spec.http.verification.hmac: Invalid value", "timestampHeader is required"},
		},
		"header auth on a signing source": {
			source + "spec: {type: stripe, headerAuth: {scheme: bearer}}",
			[]string{"headerAuth is only for source types that sign nothing"},
		},
		"tolerance that is not a duration": {
			source + "spec: {type: stripe, tolerance: 5 minutes}",
			[]string{"spec.tolerance: Invalid value"},
		},
		"environment with capitals": {
			srcEnv + "spec: {sourceRef: {name: stripe}, environment: Prod_1}",
			[]string{`spec.environment: Invalid value: "Prod_1"`},
		},
		"environment without a source": {
			srcEnv + "spec: {environment: production}",
			[]string{"spec.sourceRef: Required value"},
		},
		"idempotency window too short": {
			srcEnv + "spec: {sourceRef: {name: s}, environment: production, idempotency: {window: 10s}}",
			[]string{"spec.idempotency.window", "window must be between 1m and 168h"},
		},
		"idempotency window in days": {
			srcEnv + "spec: {sourceRef: {name: s}, environment: production, idempotency: {window: 30d}}",
			[]string{`spec.idempotency.window: Invalid value: "30d"`},
		},
		"too many signing secrets": {
			srcEnv + "spec: {sourceRef: {name: s}, environment: production, signingSecretRefs: [{name: a}, {name: b}, {name: c}, {name: d}, {name: e}]}",
			[]string{"spec.signingSecretRefs: Too many"},
		},
		"variable with value and secret": {
			srcEnv + "spec: {sourceRef: {name: s}, environment: production, variables: [{name: x, value: v1, secretKeyRef: {name: z}}]}",
			[]string{"spec.variables[0]: Invalid value", "set exactly one of value and secretKeyRef"},
		},
		"negative replicas": {
			srcEnv + "spec: {sourceRef: {name: s}, environment: production, ingress: {replicas: -1}}",
			[]string{"spec.ingress.replicas: Invalid value: -1"},
		},
		"mapping without actions": {
			evm + "spec: {sourceEnvironmentRef: {name: s}, eventType: invoice.paid, actions: []}",
			[]string{"spec.actions: Invalid value", "at least 1 items"},
		},
		"action setting two kinds": {
			evm + "spec: {sourceEnvironmentRef: {name: s}, eventType: invoice.paid, actions: [{triggerWorkflow: {workflow: w, recipients: '[body.customer]'}, deleteTenant: {id: body.id}}]}",
			[]string{"spec.actions[0]: Invalid value", "each action sets exactly one of triggerWorkflow"},
		},
		"action setting none": {
			evm + "spec: {sourceEnvironmentRef: {name: s}, eventType: invoice.paid, actions: [{}]}",
			[]string{"spec.actions[0]: Invalid value", "each action sets exactly one of"},
		},
		"trigger without recipients": {
			evm + "spec: {sourceEnvironmentRef: {name: s}, eventType: invoice.paid, actions: [{triggerWorkflow: {workflow: w}}]}",
			[]string{"spec.actions[0].triggerWorkflow.recipients: Required value"},
		},
		"workflow key with spaces": {
			evm + "spec: {sourceEnvironmentRef: {name: s}, eventType: invoice.paid, actions: [{triggerWorkflow: {workflow: win back, recipients: '[1]'}}]}",
			[]string{`spec.actions[0].triggerWorkflow.workflow: Invalid value: "win back"`},
		},
		"event type too long": {
			evm + "spec: {sourceEnvironmentRef: {name: s}, eventType: " + strings.Repeat("x", 256) + ", actions: [{deleteTenant: {id: body.id}}]}",
			[]string{"spec.eventType: Too long"},
		},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			objs, err := manifests.Decode(name, []byte(tc.manifest))
			if err != nil || len(objs) != 1 {
				t.Fatalf("test manifest does not decode: %v", err)
			}
			obj := objs[0].Unstructured
			obj.SetNamespace(ns)
			err = env.Client.Create(context.Background(), obj)
			if err == nil {
				t.Fatalf("the API server accepted it; want a refusal mentioning %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q\ndoes not mention %q", err, w)
				}
			}
		})
	}
}

func TestStatusIsASubresource(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	src := &v1alpha1.Source{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stripe"},
		Spec:       v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe},
	}
	if err := env.Client.Create(ctx, src); err != nil {
		t.Fatalf("create: %v", err)
	}
	// Writing status through the main resource is ignored...
	src.Status.Environments = 3
	if err := env.Client.Update(ctx, src); err != nil {
		t.Fatalf("update: %v", err)
	}
	var got v1alpha1.Source
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(src), &got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Status.Environments != 0 {
		t.Errorf("status written through the main resource: environments = %d", got.Status.Environments)
	}
	// ...and works through the status subresource, without bumping the generation.
	got.Status.Environments = 3
	if err := env.Client.Status().Update(ctx, &got); err != nil {
		t.Fatalf("status update: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(src), &got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Status.Environments != 3 || got.Generation != 1 {
		t.Errorf("after status update: environments %d generation %d; want 3, 1", got.Status.Environments, got.Generation)
	}
}

func TestCategoryAndShortNames(t *testing.T) {
	// kubectl resolves `kubectl get inlet`, `src`, `senv` and `evm` from discovery.
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	list, err := dc.ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	want := map[string][]string{"sources": {"src"}, "sourceenvironments": {"srcenv", "senv"}, "eventmappings": {"evm", "emap"}}
	for _, r := range list.APIResources {
		short, ok := want[r.Name]
		if !ok {
			continue
		}
		delete(want, r.Name)
		if !slices.Equal(r.ShortNames, short) {
			t.Errorf("%s short names = %v, want %v", r.Name, r.ShortNames, short)
		}
		if !slices.Equal(r.Categories, []string{"inlet"}) {
			t.Errorf("%s categories = %v, want [inlet]", r.Name, r.Categories)
		}
	}
	if len(want) > 0 {
		t.Errorf("resources missing from discovery: %v", want)
	}
}

// TestPrinterColumns asks the API server for the table kubectl prints.
func TestPrinterColumns(t *testing.T) {
	tests := map[string][]string{
		"sources":            {"Name", "Type", "Environments", "Ready", "Reason", "Age"},
		"sourceenvironments": {"Name", "Source", "Environment", "Ready", "Endpoint", "Mappings", "Events", "Actions", "Last Event", "Reason", "Age"},
		"eventmappings":      {"Name", "Source Environment", "Event Type", "Actions", "Ready", "Matched", "Reason", "Age"},
	}
	httpClient, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatalf("http client: %v", err)
	}
	for resource, want := range tests {
		t.Run(resource, func(t *testing.T) {
			base, _, err := rest.DefaultServerUrlFor(env.Config)
			if err != nil {
				t.Fatalf("server url: %v", err)
			}
			req, _ := http.NewRequest(http.MethodGet, base.JoinPath("apis", "inlet.dev", "v1alpha1", resource).String(), nil)
			req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Fatalf("list as table: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var table metav1.Table
			if err := json.Unmarshal(body, &table); err != nil {
				t.Fatalf("decode table: %v: %.300s", err, body)
			}
			var got []string
			for _, c := range table.ColumnDefinitions {
				got = append(got, c.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("columns = %q, want %q", got, want)
			}
		})
	}
}
