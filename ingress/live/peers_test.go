package live_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"

	"inlet.dev/inlet/ingress/live"
	"inlet.dev/inlet/internal/testenv"
)

// TestServicePeers reads the peers of an ingress pod from its Service's EndpointSlices
// on a real API server: every other pod's address on the port named http, ready or
// not, and nothing of another Service.
func TestServicePeers(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs the control plane `make test` builds")
	}
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	dc, err := discoveryclient.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ptr := func(s string) *string { return &s }
	port := func(p int32) *int32 { return &p }
	notReady := false
	for _, s := range []discoveryv1.EndpointSlice{
		{
			ObjectMeta:  metav1.ObjectMeta{Name: "stripe-production-ingress-a", Labels: map[string]string{discoveryv1.LabelServiceName: "stripe-production-ingress"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("metrics"), Port: port(9090)}, {Name: ptr("http"), Port: port(8080)}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.0.0.1"}}, // this pod
				{Addresses: []string{"10.0.0.2"}},
				{Addresses: []string{"10.0.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
			},
		},
		{
			ObjectMeta:  metav1.ObjectMeta{Name: "clerk-production-ingress-a", Labels: map[string]string{discoveryv1.LabelServiceName: "clerk-production-ingress"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: port(8080)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.9"}}},
		},
	} {
		if _, err := dc.EndpointSlices("default").Create(ctx, &s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	peers, err := live.ServicePeers(dc, "default", "stripe-production-ingress", "http", "10.0.0.1")(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(peers)
	if want := []string{"10.0.0.2:8080", "10.0.0.3:8080"}; !slices.Equal(peers, want) {
		t.Errorf("peers = %v, want %v", peers, want)
	}
	if peers, err := live.ServicePeers(dc, "default", "nothing-ingress", "http", "10.0.0.1")(ctx); err != nil || len(peers) != 0 {
		t.Errorf("a Service without endpoints: %v, %v; want none", peers, err)
	}
}
