package watch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/provider"
)

// Select returns the part of in that one SourceEnvironment needs: itself, its Source and
// its EventMappings, all in its namespace. An empty name selects everything.
func Select(in config.Inputs, sourceEnvironment string) config.Inputs {
	if sourceEnvironment == "" {
		return in
	}
	out := config.Inputs{Secrets: in.Secrets}
	for _, se := range in.SourceEnvironments {
		if se.Name != sourceEnvironment {
			continue
		}
		out.SourceEnvironments = append(out.SourceEnvironments, se)
		for _, s := range in.Sources {
			if s.Namespace == se.Namespace && s.Name == se.Spec.SourceRef.Name {
				out.Sources = append(out.Sources, s)
			}
		}
		for _, m := range in.EventMappings {
			if m.Namespace == se.Namespace && m.Spec.SourceEnvironmentRef.Name == se.Name {
				out.EventMappings = append(out.EventMappings, m)
			}
		}
	}
	return out
}

// SecretRefs returns the Secrets the SourceEnvironments in in refer to: their signing
// secrets, their secret variables, and the endpoint token Secret of those whose Source
// signs nothing.
func SecretRefs(in config.Inputs) map[types.NamespacedName]bool {
	sources := map[types.NamespacedName]*v1alpha1.Source{}
	for i := range in.Sources {
		s := &in.Sources[i]
		sources[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}
	refs := map[types.NamespacedName]bool{}
	for _, se := range in.SourceEnvironments {
		add := func(name string) { refs[types.NamespacedName{Namespace: se.Namespace, Name: name}] = true }
		for _, ref := range se.Spec.SigningSecretRefs {
			add(ref.Name)
		}
		for _, v := range se.Spec.Variables {
			if v.SecretKeyRef != nil {
				add(v.SecretKeyRef.Name)
			}
		}
		src := sources[types.NamespacedName{Namespace: se.Namespace, Name: se.Spec.SourceRef.Name}]
		if src != nil && provider.UsesEndpointToken(&src.Spec) {
			add(config.EndpointTokenSecretName(se.Name))
		}
	}
	return refs
}

// fingerprint identifies the inputs' content: the uid and generation of each resource
// and the resourceVersion of each Secret. Equal fingerprints compile to equal snapshots.
func fingerprint(in config.Inputs) string {
	var lines []string
	add := func(kind, ns, name string, uid types.UID, version any) {
		lines = append(lines, fmt.Sprintf("%s/%s/%s/%s/%v", kind, ns, name, uid, version))
	}
	for _, o := range in.Sources {
		add("Source", o.Namespace, o.Name, o.UID, o.Generation)
	}
	for _, o := range in.SourceEnvironments {
		add("SourceEnvironment", o.Namespace, o.Name, o.UID, o.Generation)
	}
	for _, o := range in.EventMappings {
		add("EventMapping", o.Namespace, o.Name, o.UID, o.Generation)
	}
	for _, o := range in.Secrets {
		add("Secret", o.Namespace, o.Name, o.UID, o.ResourceVersion)
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
