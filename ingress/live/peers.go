package live

import (
	"context"
	"fmt"
	"net"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"
)

// ServicePeers returns the addresses ("ip:port", port being the one named portName)
// of the pods behind service in namespace, read from its EndpointSlices, other than
// self (this pod's IP): the peers an ingress asks whether they reach NATS
// (ingress.PeerChecker). Pods not ready are included: a pod out of the Service
// because it cannot reach NATS itself answers that it does not.
func ServicePeers(
	c discoveryclient.EndpointSlicesGetter, namespace, service, portName, self string,
) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		slices, err := c.EndpointSlices(namespace).List(ctx, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=" + service,
		})
		if err != nil {
			return nil, fmt.Errorf("list the endpoints of service %s/%s: %w", namespace, service, err)
		}
		var peers []string
		for _, s := range slices.Items {
			port := int32(0)
			for _, p := range s.Ports {
				if p.Name != nil && *p.Name == portName && p.Port != nil {
					port = *p.Port
				}
			}
			if port == 0 {
				continue
			}
			for _, e := range s.Endpoints {
				for _, addr := range e.Addresses {
					if addr != self {
						peers = append(peers, net.JoinHostPort(addr, strconv.Itoa(int(port))))
					}
				}
			}
		}
		return peers, nil
	}
}
