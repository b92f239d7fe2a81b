package watch_test

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/watch"
)

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: "ns", Name: name} }

func testInputs() config.Inputs {
	value := "v"
	return config.Inputs{
		Sources: []v1alpha1.Source{
			{ObjectMeta: meta("stripe"), Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}},
			{ObjectMeta: meta("segment"), Spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSegment}},
		},
		SourceEnvironments: []v1alpha1.SourceEnvironment{
			{ObjectMeta: meta("stripe-production"), Spec: v1alpha1.SourceEnvironmentSpec{
				SourceRef:         v1alpha1.LocalObjectReference{Name: "stripe"},
				SigningSecretRefs: []v1alpha1.SecretKeyReference{{Name: "stripe-a"}, {Name: "stripe-b"}},
				Variables: []v1alpha1.Variable{
					{Name: "plain", Value: &value},
					{Name: "apiKey", SecretKeyRef: &v1alpha1.SecretKeyReference{Name: "stripe-vars", Key: "k"}},
				},
			}},
			{ObjectMeta: meta("segment-production"), Spec: v1alpha1.SourceEnvironmentSpec{
				SourceRef: v1alpha1.LocalObjectReference{Name: "segment"},
			}},
			{ObjectMeta: meta("orphan"), Spec: v1alpha1.SourceEnvironmentSpec{
				SourceRef: v1alpha1.LocalObjectReference{Name: "missing"},
			}},
		},
		EventMappings: []v1alpha1.EventMapping{
			{ObjectMeta: meta("a"), Spec: v1alpha1.EventMappingSpec{SourceEnvironmentRef: v1alpha1.LocalObjectReference{Name: "stripe-production"}}},
			{ObjectMeta: meta("b"), Spec: v1alpha1.EventMappingSpec{SourceEnvironmentRef: v1alpha1.LocalObjectReference{Name: "segment-production"}}},
		},
	}
}

func names[T interface{ GetName() string }](items []T) []string {
	var out []string
	for _, i := range items {
		out = append(out, i.GetName())
	}
	return out
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func TestSelect(t *testing.T) {
	tests := map[string]struct {
		sourceEnvironment               string
		sources, environments, mappings []string
	}{
		"everything":     {"", []string{"stripe", "segment"}, []string{"stripe-production", "segment-production", "orphan"}, []string{"a", "b"}},
		"one":            {"stripe-production", []string{"stripe"}, []string{"stripe-production"}, []string{"a"}},
		"missing source": {"orphan", nil, []string{"orphan"}, nil},
		"unknown":        {"nope", nil, nil, nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := watch.Select(testInputs(), tt.sourceEnvironment)
			if s := names(ptrs(got.Sources)); !slices.Equal(s, tt.sources) {
				t.Errorf("sources = %v, want %v", s, tt.sources)
			}
			if s := names(ptrs(got.SourceEnvironments)); !slices.Equal(s, tt.environments) {
				t.Errorf("sourceEnvironments = %v, want %v", s, tt.environments)
			}
			if s := names(ptrs(got.EventMappings)); !slices.Equal(s, tt.mappings) {
				t.Errorf("eventMappings = %v, want %v", s, tt.mappings)
			}
		})
	}
}

func TestSecretRefs(t *testing.T) {
	tests := map[string]struct {
		sourceEnvironment string
		want              []string
	}{
		"signing secrets and secret variables":          {"stripe-production", []string{"stripe-a", "stripe-b", "stripe-vars"}},
		"endpoint token of a source that signs nothing": {"segment-production", []string{config.EndpointTokenSecretName("segment-production")}},
		"none until the source is known":                {"orphan", nil},
		"all":                                           {"", []string{"segment-production-endpoint-token", "stripe-a", "stripe-b", "stripe-vars"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for ref := range watch.SecretRefs(watch.Select(testInputs(), tt.sourceEnvironment)) {
				if ref.Namespace != "ns" {
					t.Errorf("ref %s in another namespace", ref)
				}
				got = append(got, ref.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("refs = %v, want %v", got, tt.want)
			}
		})
	}
}
