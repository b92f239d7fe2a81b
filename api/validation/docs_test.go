package validation

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/config/crd"
)

// docsSources holds the user docs, one page per Source type (docs/sources/README.md).
const docsSources = "../../docs/sources"

// hasAPIVersion matches a block holding at least one whole manifest. A YAML block
// without a top-level apiVersion is a fragment (a few fields of a larger manifest) and
// is not checked.
var hasAPIVersion = regexp.MustCompile(`(?m)^apiVersion:`)

// TestDocsManifestsAreAccepted validates every manifest in the ```yaml blocks of
// docs/sources/*.md, which users copy, as TestSamplesAreAccepted does for
// config/samples. Each Source type must have its page, holding a Source of that type.
func TestDocsManifestsAreAccepted(t *testing.T) {
	v := validator(t)
	pages, err := filepath.Glob(filepath.Join(docsSources, "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in %s: %v", docsSources, err)
	}
	blocks, fragments, objects := 0, 0, 0
	// sourceTypes counts, per page name, the Sources of that type the page holds.
	sourceTypes := map[string]int{}
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		name := "docs/sources/" + filepath.Base(page)
		pageType := strings.TrimSuffix(filepath.Base(page), ".md")
		for i, b := range yamlBlocks(t, name, string(data)) {
			origin := fmt.Sprintf("%s block %d (line %d)", name, i+1, b.line)
			if !hasAPIVersion.MatchString(b.text) {
				fragments++
				continue
			}
			blocks++
			objs, err := manifests.Decode(origin, []byte(b.text))
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

// block is one fenced YAML block of a Markdown page.
type block struct {
	// line is the line of the opening fence, from 1.
	line int
	text string
}

// yamlBlocks returns the ```yaml and ```yml blocks of a Markdown page, in order. A
// fence may be indented (in a list); that indentation is removed from the block's lines.
func yamlBlocks(t *testing.T, name, page string) []block {
	t.Helper()
	var blocks []block
	var open *block
	var indent string
	scanner := bufio.NewScanner(strings.NewReader(page))
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case open == nil && (trimmed == "```yaml" || trimmed == "```yml"):
			open = &block{line: n}
			indent = line[:strings.Index(line, "`")]
		case open != nil && trimmed == "```":
			blocks = append(blocks, *open)
			open = nil
		case open != nil:
			open.text += strings.TrimPrefix(line, indent) + "\n"
		}
	}
	if open != nil {
		t.Errorf("%s: the yaml block at line %d is not closed", name, open.line)
	}
	return blocks
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
