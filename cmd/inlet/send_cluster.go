package main

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/internal/scheme"
)

// tokenPlaceholder stands for the endpoint token in status.endpoint.
const tokenPlaceholder = "{token}"

// clusterTarget reads the SourceEnvironment, its Source, its first signing Secret and
// its endpoint token Secret through the kubeconfig, and sends to --url or to the
// endpoint in the SourceEnvironment's status.
func (o *sendOptions) clusterTarget(ctx context.Context) (*target, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	kc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.context})
	cfg, err := kc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig: %w", err)
	}
	namespace := o.namespace
	if !o.namespaceGiven {
		if namespace, _, err = kc.Namespace(); err != nil {
			return nil, fmt.Errorf("read kubeconfig: %w", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, fmt.Errorf("connect to the API server at %s: %w", cfg.Host, err)
	}
	r := clusterReader{c: c, namespace: namespace, host: cfg.Host}

	tg := &target{se: &v1alpha1.SourceEnvironment{}, src: &v1alpha1.Source{}}
	if err := r.get(ctx, "SourceEnvironment", o.sourceEnvironment, tg.se); err != nil {
		return nil, err
	}
	if err := r.get(ctx, "Source", tg.se.Spec.SourceRef.Name, tg.src); err != nil {
		return nil, fmt.Errorf("the Source of SourceEnvironment %s: %w", tg.se.Name, err)
	}
	tg.in = config.Inputs{Sources: []v1alpha1.Source{*tg.src}, SourceEnvironments: []v1alpha1.SourceEnvironment{*tg.se}}
	if refs := tg.se.Spec.SigningSecretRefs; len(refs) > 0 && !o.unsigned {
		var secret corev1.Secret
		if err := r.get(ctx, "Secret", refs[0].Name, &secret); err != nil {
			return nil, fmt.Errorf("the signing Secret of SourceEnvironment %s: %w", tg.se.Name, err)
		}
		if key := cmp.Or(refs[0].Key, "secret"); !hasKey(&secret, key) {
			return nil, fmt.Errorf("the signing Secret %s/%s of SourceEnvironment %s has no key %s", namespace, secret.Name, tg.se.Name, key)
		}
		tg.in.Secrets = append(tg.in.Secrets, secret)
	}
	token := ""
	if provider.UsesEndpointToken(&tg.src.Spec) {
		if token, err = r.endpointToken(ctx, tg.se); err != nil {
			return nil, err
		}
	}
	if err := o.endpoint(tg, token); err != nil {
		return nil, err
	}
	return tg, nil
}

// endpoint sets the target's URL: --url's base with the SourceEnvironment's path, or
// the endpoint in its status, with the token in place of {token}.
func (o *sendOptions) endpoint(tg *target, token string) error {
	se := tg.se
	if o.urlGiven {
		tg.shown = strings.TrimSuffix(o.url, "/") + "/e/" + se.Namespace + "/" + se.Name
		if token != "" {
			tg.shown += "/" + tokenPlaceholder
		}
	} else {
		tg.shown = se.Status.Endpoint
		if tg.shown == "" {
			return fmt.Errorf("SourceEnvironment %s/%s reports no endpoint yet (is the operator running?): "+
				"give the ingress's address with --url", se.Namespace, se.Name)
		}
		tg.hint = inClusterHint(tg.shown)
	}
	tg.url = strings.Replace(tg.shown, tokenPlaceholder, token, 1)
	return nil
}

// inClusterHint says how to reach an endpoint whose host is a Service's in-cluster
// name, which resolves only inside the cluster; "" for any other endpoint.
func inClusterHint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	host := u.Hostname()
	labels := strings.Split(host, ".")
	if len(labels) < 3 || (!strings.HasSuffix(host, ".svc") && !strings.Contains(host, ".svc.")) {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return fmt.Sprintf("\nthat address is the ingress Service's inside the cluster; from here, forward a port to it and give --url:\n"+
		"  kubectl port-forward -n %s svc/%s 8080:%s &\n  inlet send --cluster --url http://127.0.0.1:8080 ...", labels[1], labels[0], port)
}

// clusterReader gets objects of one namespace, with errors a person can act on.
type clusterReader struct {
	c         client.Client
	namespace string
	host      string
}

func (r clusterReader) get(ctx context.Context, kind, name string, obj client.Object) error {
	err := r.c.Get(ctx, types.NamespacedName{Namespace: r.namespace, Name: name}, obj)
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return quietError{fmt.Sprintf("no %s %s/%s in the cluster at %s", kind, r.namespace, name, r.host), err}
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not read %s %s/%s (inlet send --cluster needs get on sourceenvironments, sources and their Secrets): %w",
			kind, r.namespace, name, err)
	}
	return fmt.Errorf("get %s %s/%s from %s: %w", kind, r.namespace, name, r.host, err)
}

func hasKey(s *corev1.Secret, key string) bool {
	_, ok := config.SecretKeyValue(s, key)
	return ok
}

// quietError is an error whose message says it all; it wraps the one it stands for.
type quietError struct {
	msg string
	err error
}

func (e quietError) Error() string { return e.msg }
func (e quietError) Unwrap() error { return e.err }

// endpointToken reads the endpoint token of a SourceEnvironment whose Source signs
// nothing from the Secret the operator generated.
func (r clusterReader) endpointToken(ctx context.Context, se *v1alpha1.SourceEnvironment) (string, error) {
	ref := v1alpha1.SecretKeyReference{Name: config.EndpointTokenSecretName(se.Name), Key: config.EndpointTokenKey}
	if se.Status.EndpointTokenSecretRef != nil {
		ref = *se.Status.EndpointTokenSecretRef
	}
	var secret corev1.Secret
	if err := r.get(ctx, "Secret", ref.Name, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("%w: the operator generates the endpoint token when it reconciles SourceEnvironment %s; is it running?",
				err, se.Name)
		}
		return "", err
	}
	token, ok := config.SecretKeyValue(&secret, ref.Key)
	if !ok || token == "" {
		return "", fmt.Errorf("the endpoint token Secret %s/%s has no key %s", r.namespace, ref.Name, ref.Key)
	}
	return token, nil
}
