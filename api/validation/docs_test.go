package validation

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/config/crd"
	"inlet.dev/inlet/internal/testdocs"
)

// TestDocsManifestsAreAccepted validates every manifest in the ```yaml blocks of
// docs/sources/*.md, which users copy, as TestSamplesAreAccepted does for
// config/samples. Each Source type must have its page, holding a Source of that type.
func TestDocsManifestsAreAccepted(t *testing.T) {
	v := validator(t)
	pages, err := testdocs.SourcePages("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks, fragments, objects := 0, 0, 0
	// sourceTypes counts, per page name, the Sources of that type the page holds.
	sourceTypes := map[string]int{}
	for _, page := range pages {
		name, pageType := page.Name, page.Base
		for i, b := range page.Blocks {
			origin := fmt.Sprintf("%s block %d (line %d)", name, i+1, b.Line)
			if !b.Manifest() {
				fragments++
				continue
			}
			blocks++
			objs, err := manifests.Decode(origin, []byte(b.Text))
			if err != nil {
				t.Errorf("does not decode: %v", err)
			}
			for _, o := range objs {
				objects++
				if errs := v.Validate(o.Unstructured); len(errs) > 0 {
					t.Errorf("%s is refused: %v", o.Origin(), errs.ToAggregate())
				}
				if o.GetAPIVersion() == "inlet.dev/v1alpha1" && o.GetKind() == "Source" {
					if typ, _, _ := unstructured.NestedString(o.Object, "spec", "type"); typ == pageType {
						sourceTypes[pageType]++
					}
				}
			}
		}
	}
	t.Logf("validated %d objects in %d blocks; skipped %d fragments", objects, blocks, fragments)

	for _, typ := range crdSourceTypes(t) {
		if sourceTypes[typ] == 0 {
			t.Errorf("docs/sources/%s.md holds no Source of type %s", typ, typ)
		}
	}
}

// crdSourceTypes returns the values the Source CRD allows for spec.type.
func crdSourceTypes(t *testing.T) []string {
	t.Helper()
	crds, err := crd.CustomResourceDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range crds {
		if c.Spec.Names.Kind != "Source" {
			continue
		}
		for _, v := range c.Spec.Versions {
			for _, e := range v.Schema.OpenAPIV3Schema.Properties["spec"].Properties["type"].Enum {
				types = append(types, strings.Trim(string(e.Raw), `"`))
			}
		}
	}
	if len(types) == 0 {
		t.Fatal("the Source CRD lists no spec.type values")
	}
	return types
}
