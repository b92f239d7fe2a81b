package local_test

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/local"
	"inlet.dev/inlet/internal/testdocs"
)

// TestDocsManifestsServe loads the manifests of each page of docs/sources as inlet dev
// does and builds them: every object must be accepted, every Source must compile (as
// the operator checks it, also when no SourceEnvironment of the page uses it), and
// every SourceEnvironment and EventMapping must be served. TestDocsManifestsAreAccepted
// checks the same manifests against the schemas only. Each page is built on its own,
// as pages reuse names.
func TestDocsManifestsServe(t *testing.T) {
	v := validator(t)
	pages, err := testdocs.SourcePages("../..")
	if err != nil {
		t.Fatal(err)
	}
	checked, blocks, environments, mappings := 0, 0, 0, 0
	for _, page := range pages {
		if page.Base == "README" {
			continue // the index of the pages, with no manifest
		}
		checked++
		name := page.Name
		// One file per block, named after the block's line, so that a problem's origin
		// (.../handshakes.md/line-067.yaml#1) points into the page.
		dir := filepath.Join(t.TempDir(), page.Base+".md")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Blocks {
			if !b.Manifest() {
				continue
			}
			blocks++
			file := filepath.Join(dir, fmt.Sprintf("line-%03d.yaml", b.Line))
			if err := os.WriteFile(file, []byte(b.Text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		in, where, refused, err := local.Load(v, "default", dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, msg := range refused {
			t.Errorf("%s: refused %s", name, msg)
		}
		for i := range in.Sources {
			src := &in.Sources[i]
			if err := config.CheckSource(src); err != nil {
				t.Errorf("%s: %s: %v", name, where.Of("Source", client.ObjectKeyFromObject(src)), err)
			}
		}
		for _, s := range placeholderSecrets(in) {
			t.Logf("%s: placeholder for the Secret %s that the page leaves to the reader", name, s.Name)
			in.Secrets = append(in.Secrets, s)
		}
		tokens, err := local.EndpointTokens("", in)
		if err != nil {
			t.Fatal(err)
		}
		in.Secrets = append(in.Secrets, tokens...)

		snap := config.Build(in)
		for _, p := range snap.Problems {
			t.Errorf("%s: not served: %s", name, where.Problem(in, p))
		}
		served := 0
		for _, se := range in.SourceEnvironments {
			if e := snap.Lookup(client.ObjectKeyFromObject(&se)); e != nil {
				served++
				mappings += e.MappingCount()
			}
		}
		if served == 0 {
			t.Errorf("%s: no SourceEnvironment served; a page must hold at least one complete example", name)
		}
		environments += served
	}
	t.Logf("served %d SourceEnvironments and %d EventMappings from %d blocks of %d pages",
		environments, mappings, blocks, checked)
}

// placeholderValue is a valid Svix ("whsec_" and base64) secret, so that it also
// stands for the signing secret of a Source verified with Standard Webhooks.
const placeholderValue = "whsec_ZG9jcy1wbGFjZWhvbGRlcg=="

// placeholderSecrets returns, for a page that defines no Secret, a Secret with a
// placeholder value for each Secret its SourceEnvironments name (signing secrets and
// secret variables). Such a page leaves its Secrets out on purpose, telling the reader
// to create them (kubectl create secret) or pointing to a sample that has them, and
// inlet dev would report them missing. Supplying them, rather than ignoring
// SecretNotFound, still checks everything else about the SourceEnvironments. A page
// that defines Secrets must define all it uses: a misspelt name or a missing key is an
// error of the page.
func placeholderSecrets(in config.Inputs) []corev1.Secret {
	if len(in.Secrets) > 0 {
		return nil
	}
	added := map[types.NamespacedName]*corev1.Secret{}
	for _, se := range in.SourceEnvironments {
		refs := slices.Clone(se.Spec.SigningSecretRefs)
		for _, v := range se.Spec.Variables {
			if v.SecretKeyRef != nil {
				refs = append(refs, *v.SecretKeyRef)
			}
		}
		for _, ref := range refs {
			key := types.NamespacedName{Namespace: se.Namespace, Name: ref.Name}
			if added[key] == nil {
				added[key] = &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
					StringData: map[string]string{},
				}
			}
			added[key].StringData[cmp.Or(ref.Key, "secret")] = placeholderValue
		}
	}
	var out []corev1.Secret
	for _, s := range added {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b corev1.Secret) int { return strings.Compare(a.Name, b.Name) })
	return out
}
