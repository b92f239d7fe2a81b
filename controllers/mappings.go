package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
)

// mappingCache remembers whether each EventMapping generation compiles, so that the
// SourceEnvironment reconciler can count an environment's live mappings without
// compiling them all again on every resync. It is safe for concurrent use.
type mappingCache struct {
	mu      sync.Mutex
	entries map[types.NamespacedName]mappingVerdict
}

type mappingVerdict struct {
	uid        types.UID
	generation int64
	err        error
}

func newMappingCache() *mappingCache {
	return &mappingCache{entries: map[types.NamespacedName]mappingVerdict{}}
}

// compile compiles m with the CEL environment the ingress uses (config.CompileMapping)
// and returns its error, a *celext.CompileError when an expression is at fault. A
// generation already compiled is answered from the cache.
func (c *mappingCache) compile(m *v1alpha1.EventMapping) error {
	key := types.NamespacedName{Namespace: m.Namespace, Name: m.Name}
	c.mu.Lock()
	if v, ok := c.entries[key]; ok && v.uid == m.UID && v.generation == m.Generation {
		c.mu.Unlock()
		return v.err
	}
	c.mu.Unlock()

	// A nil environment is celext.NewEnv's, built once per process and shared with the
	// ingress code.
	_, err := config.CompileMapping(nil, m)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = mappingVerdict{uid: m.UID, generation: m.Generation, err: err}
	return err
}

// forget drops what is known of a deleted mapping.
func (c *mappingCache) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}
