package logsapi

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
)

// APIServiceName is the name of the APIService that registers the API.
var APIServiceName = logsv1alpha1.SchemeGroupVersion.Version + "." + logsv1alpha1.GroupName

var apiServiceGVK = schema.GroupVersionKind{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"}

// Registration registers a logs API server running outside the cluster's network
// (in a test, or `inlet cluster`) with the kube-apiserver: an ExternalName Service
// for Host and the APIService pointing at it. In a cluster, config/default registers
// the operator's Service instead.
type Registration struct {
	// Namespace and Service name the Service.
	Namespace, Service string
	// Host and Port are where the server listens, as the kube-apiserver reaches it.
	Host string
	Port int32
	// CABundle is the CA of the serving certificate; empty skips verification, for a
	// server with a certificate made in memory on the same machine.
	CABundle []byte
}

// Register creates or updates the Service and the APIService.
func Register(ctx context.Context, c client.Client, r Registration) error {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: r.Service, Namespace: r.Namespace}}
	if err := c.Get(ctx, client.ObjectKeyFromObject(svc), svc); apierrors.IsNotFound(err) {
		svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: r.Host}
		if err := c.Create(ctx, svc); err != nil {
			return fmt.Errorf("create Service %s/%s: %w", r.Namespace, r.Service, err)
		}
	} else if err != nil {
		return fmt.Errorf("get Service %s/%s: %w", r.Namespace, r.Service, err)
	}
	spec := map[string]any{
		"group": logsv1alpha1.GroupName, "version": logsv1alpha1.SchemeGroupVersion.Version,
		"groupPriorityMinimum": int64(1000), "versionPriority": int64(15),
		"service": map[string]any{"namespace": r.Namespace, "name": r.Service, "port": int64(r.Port)},
	}
	if len(r.CABundle) > 0 {
		spec["caBundle"] = r.CABundle
	} else {
		spec["insecureSkipTLSVerify"] = true
	}
	apiService := &unstructured.Unstructured{}
	apiService.SetGroupVersionKind(apiServiceGVK)
	apiService.SetName(APIServiceName)
	err := c.Get(ctx, client.ObjectKeyFromObject(apiService), apiService)
	if apierrors.IsNotFound(err) {
		apiService.Object["spec"] = spec
		err = c.Create(ctx, apiService)
	} else if err == nil {
		apiService.Object["spec"] = spec
		err = c.Update(ctx, apiService)
	}
	if err != nil {
		return fmt.Errorf("register APIService %s: %w", APIServiceName, err)
	}
	return nil
}

// WaitServed waits until the kube-apiserver serves the API (its APIService is
// available), or ctx ends.
func WaitServed(ctx context.Context, cfg *rest.Config) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	for {
		_, err := dc.ServerResourcesForGroupVersion(logsv1alpha1.SchemeGroupVersion.String())
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the kube-apiserver does not serve %s: %w", logsv1alpha1.SchemeGroupVersion, err)
		case <-timeAfter():
		}
	}
}

func timeAfter() <-chan time.Time { return time.After(200 * time.Millisecond) }
