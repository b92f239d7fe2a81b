package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	inletjs "inlet.dev/inlet/ingress/jetstream"
)

// ConfigMapNATSURL is the key of the operator's ConfigMap (Options.ConfigMap) that
// holds the NATS server of SourceEnvironments that set no spec.publish.natsURL, such
// as nats://nats.nats:4222. A comma-separated list of servers is accepted.
const ConfigMapNATSURL = "NATS_URL"

// natsDefaults tells the NATS URL of SourceEnvironments that name none: NATS_URL of
// the operator's ConfigMap, read from the manager's cache (which watches that one
// ConfigMap) so that an edit takes effect at once, or Options.NATSURL when there is no
// ConfigMap or it sets no URL. It is safe for concurrent use.
type natsDefaults struct {
	reader    client.Reader
	configMap types.NamespacedName
	fallback  string

	mu sync.Mutex
	// logged is the last setting logged, so that each change is logged once.
	logged string
}

// enabled reports whether a ConfigMap is watched.
func (d *natsDefaults) enabled() bool { return d != nil && d.configMap.Name != "" }

// url returns the default NATS URL now. It fails only when the ConfigMap cannot be
// read for another reason than its absence.
func (d *natsDefaults) url(ctx context.Context) (string, error) {
	if !d.enabled() {
		if d == nil {
			return "", nil
		}
		return d.fallback, nil
	}
	cm := &corev1.ConfigMap{}
	err := d.reader.Get(ctx, d.configMap, cm)
	switch {
	case apierrors.IsNotFound(err):
		d.log(ctx, d.fallback, fmt.Sprintf("ConfigMap %s not found: using the --nats-url default", d.configMap))
		return d.fallback, nil
	case err != nil:
		return "", fmt.Errorf("read ConfigMap %s: %w", d.configMap, err)
	}
	u := strings.TrimSpace(cm.Data[ConfigMapNATSURL])
	if u == "" {
		d.log(ctx, d.fallback, fmt.Sprintf("ConfigMap %s sets no %s: using the --nats-url default", d.configMap, ConfigMapNATSURL))
		return d.fallback, nil
	}
	d.log(ctx, u, fmt.Sprintf("NATS URL from ConfigMap %s", d.configMap))
	return u, nil
}

// log logs the setting in use when it differs from the one logged last.
func (d *natsDefaults) log(ctx context.Context, natsURL, why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.logged == why+"\x00"+natsURL {
		return
	}
	d.logged = why + "\x00" + natsURL
	logf.FromContext(ctx).Info(why, "natsURL", inletjs.RedactURLs(natsURL))
}

// isConfigMap reports whether o is the watched ConfigMap.
func (d *natsDefaults) isConfigMap(o client.Object) bool {
	return d.enabled() && o.GetNamespace() == d.configMap.Namespace && o.GetName() == d.configMap.Name
}
