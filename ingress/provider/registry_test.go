package provider

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"inlet.dev/inlet/api/v1alpha1"
	sampleevents "inlet.dev/inlet/config/samples/events"
)

// The registry, the API's schema and the docs name the same source types: a provider
// added here is accepted by the CRD, has a sample and a page, and the CRD does not
// accept a type no provider serves.
func TestRegistryMatchesAPI(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "api", "v1alpha1", "source_types.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\+kubebuilder:validation:Enum=(\S+)\ntype SourceType string`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no Enum marker above type SourceType in api/v1alpha1/source_types.go")
	}
	var enum []v1alpha1.SourceType
	for s := range strings.SplitSeq(string(m[1]), ";") {
		enum = append(enum, v1alpha1.SourceType(s))
	}
	slices.Sort(enum)
	if got := Types(); !slices.Equal(got, enum) {
		t.Errorf("registered providers %v, the SourceType enum %v", got, enum)
	}

	// headerAuth is refused, by a CEL rule, for the types that sign themselves and for
	// http (which sets its verification instead).
	m = regexp.MustCompile(`headerAuth\) \|\| !\(self\.type in \[([^\]]*)\]\)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no headerAuth rule on SourceSpec in api/v1alpha1/source_types.go")
	}
	var refused []v1alpha1.SourceType
	for s := range strings.SplitSeq(string(m[1]), ",") {
		refused = append(refused, v1alpha1.SourceType(strings.Trim(strings.TrimSpace(s), "'")))
	}
	slices.Sort(refused)
	var signing []v1alpha1.SourceType
	for _, typ := range Types() {
		if b, ok := registry[typ].(*builtin); !ok || b.signs {
			signing = append(signing, typ)
		}
	}
	if !slices.Equal(refused, signing) {
		t.Errorf("the headerAuth rule refuses %v; the providers that sign or configure their own verification are %v", refused, signing)
	}

	readme, err := os.ReadFile(filepath.Join("..", "..", "docs", "sources", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range Types() {
		page := filepath.Join("..", "..", "docs", "sources", string(typ)+".md")
		if _, err := os.Stat(page); err != nil {
			t.Errorf("%s: no docs page: %v", typ, err)
		}
		if !strings.Contains(string(readme), "| `"+string(typ)+"` |") {
			t.Errorf("%s: no row in docs/sources/README.md", typ)
		}
		if len(sampleevents.List(string(typ))) == 0 {
			t.Errorf("%s: no sample in config/samples/events/%s/", typ, typ)
		}
	}
}
