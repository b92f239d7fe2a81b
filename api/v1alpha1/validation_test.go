package v1alpha1_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/apitest"
	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.RunTests(m, func(e *testenv.Env) { env = e })
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
	tests, err := apitest.InvalidManifests()
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	for _, tc := range tests {
		t.Run(tc.Name, func(t *testing.T) {
			objs, err := manifests.Decode(tc.Name, []byte(tc.Manifest))
			if err != nil || len(objs) != 1 {
				t.Fatalf("test manifest does not decode: %v", err)
			}
			obj := objs[0].Unstructured
			obj.SetNamespace(ns)
			err = env.Client.Create(context.Background(), obj)
			if err == nil {
				t.Fatalf("the API server accepted it; want a refusal mentioning %q", tc.Want)
			}
			for _, w := range tc.Want {
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
			got := make([]string, 0, len(table.ColumnDefinitions))
			for _, c := range table.ColumnDefinitions {
				got = append(got, c.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("columns = %q, want %q", got, want)
			}
		})
	}
}
