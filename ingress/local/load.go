// Package local is the file-based twin of ingress/watch, for self-hosted mode (inlet
// dev) and the CLI (inlet test, inlet send): it reads Source, SourceEnvironment,
// EventMapping and Secret manifests from files, validates them with the CRDs' own
// schemas, gives the SourceEnvironments whose Source signs nothing an endpoint token
// kept in a file (where the operator keeps it in a Secret), and, as a Folder, rebuilds
// the snapshot whenever a file changes.
package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/api/validation"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/provider"
)

// Load reads the manifests in paths (files or folders), puts those without namespace
// in namespace, and validates each with the CRDs' schemas when v is not nil. It returns
// what is valid, where each object was read, and a message for each refused object. It
// fails only when nothing could be read at all.
func Load(v *validation.Validator, namespace string, paths ...string) (config.Inputs, Origins, []string, error) {
	objs, err := manifests.LoadPaths(paths...)
	var bad []string
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) && len(objs) == 0 {
			return config.Inputs{}, nil, nil, err
		}
		bad = append(bad, err.Error())
	}
	var in config.Inputs
	where := Origins{}
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
		if v != nil {
			if errs := v.Validate(o.Unstructured); len(errs) > 0 {
				bad = append(bad, fmt.Sprintf("%s: %v", o.Origin(), errs.ToAggregate()))
				continue
			}
		}
		if _, err := in.Add(o.Unstructured); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", o.Origin(), err))
			continue
		}
		where[originKey{o.GetKind(), types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}] = o.Origin()
	}
	return in, where, bad, nil
}

// Origins says where each loaded object was read: "dir/m.yaml#0 (EventMapping m)".
type Origins map[originKey]string

type originKey struct {
	kind string
	key  types.NamespacedName
}

// Problem formats a problem of the compiled configuration the way schema errors are
// formatted: where the object was read, then what is wrong. An expression of a Source
// that does not compile is reported on its SourceEnvironments; it names the Source's
// file, where the expression is.
func (o Origins) Problem(in config.Inputs, p config.Problem) string {
	where := o.Of(p.Kind, p.Object)
	if p.Kind == "SourceEnvironment" && p.Reason == v1alpha1.ReasonInvalidExpression {
		for _, se := range in.SourceEnvironments {
			if se.Namespace != p.Object.Namespace || se.Name != p.Object.Name {
				continue
			}
			src := types.NamespacedName{Namespace: se.Namespace, Name: se.Spec.SourceRef.Name}
			if file, ok := o[originKey{"Source", src}]; ok {
				where = fmt.Sprintf("%s, for %s", file, where)
			}
			break
		}
	}
	return fmt.Sprintf("%s: %s: %s", where, p.Reason, p.Message)
}

// Of names an object by where it was read, or by kind and name when that is unknown.
func (o Origins) Of(kind string, key types.NamespacedName) string {
	if file, ok := o[originKey{kind, key}]; ok {
		return file
	}
	return fmt.Sprintf("%s %s", kind, key)
}

// EndpointTokens returns, as Secrets, an endpoint token for each SourceEnvironment
// whose Source signs nothing, generating and saving (0600) the ones not yet in file;
// with no file, the tokens are generated and not kept.
func EndpointTokens(file string, in config.Inputs) ([]corev1.Secret, error) {
	tokens := map[string]string{}
	if file != "" {
		saved, err := ReadTokens(file)
		var unreadable *os.PathError
		switch {
		case err == nil:
			tokens = saved
		case !errors.As(err, &unreadable):
			return nil, err
		}
	}
	sources := map[string]*v1alpha1.Source{}
	for i := range in.Sources {
		sources[in.Sources[i].Namespace+"/"+in.Sources[i].Name] = &in.Sources[i]
	}
	changed := false
	var secrets []corev1.Secret
	for _, se := range in.SourceEnvironments {
		src := sources[se.Namespace+"/"+se.Spec.SourceRef.Name]
		if src == nil || !provider.UsesEndpointToken(&src.Spec) {
			continue
		}
		key := se.Namespace + "/" + se.Name
		if tokens[key] == "" {
			tokens[key] = config.NewEndpointToken()
			changed = true
		}
		secrets = append(secrets, corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: se.Namespace, Name: config.EndpointTokenSecretName(se.Name)},
			Data:       map[string][]byte{config.EndpointTokenKey: []byte(tokens[key])},
		})
	}
	if changed && file != "" {
		if err := WriteTokens(file, tokens); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(secrets, func(a, b corev1.Secret) int { return strings.Compare(a.Name, b.Name) })
	return secrets, nil
}

// TokensFile is the name of the endpoint tokens file in a data folder, the one `inlet
// send --data-dir` reads.
const TokensFile = "endpoint-tokens.json"

// ReadTokens reads an endpoint tokens file: tokens by "<namespace>/<name>" of their
// SourceEnvironment. A file that cannot be read is an *os.PathError.
func ReadTokens(file string) (map[string]string, error) {
	tokens := map[string]string{}
	data, err := os.ReadFile(file)
	if err != nil {
		return tokens, err
	}
	if err := json.Unmarshal(data, &tokens); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return tokens, nil
}

// WriteTokens writes an endpoint tokens file, readable by its owner only.
func WriteTokens(file string, tokens map[string]string) error {
	data, _ := json.MarshalIndent(tokens, "", "  ")
	return os.WriteFile(file, data, 0o600)
}

// SnapshotTokens returns the endpoint tokens of the SourceEnvironments a snapshot
// serves, for WriteTokens.
func SnapshotTokens(snap *config.Snapshot) map[string]string {
	tokens := map[string]string{}
	for _, e := range snap.Environments() {
		if e.UsesEndpointToken {
			tokens[e.Key.String()] = e.EndpointToken
		}
	}
	return tokens
}
