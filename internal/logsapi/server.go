package logsapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/request/headerrequest"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/authorization/path"
	"k8s.io/apiserver/pkg/authorization/union"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes"
	clientrest "k8s.io/client-go/rest"
	"k8s.io/component-base/compatibility"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
)

// The kube-apiserver's ConfigMap that tells aggregated API servers which front proxy
// to trust: its CA, the names it may present, and the headers it sets.
const (
	authConfigMapNamespace = metav1.NamespaceSystem
	authConfigMapName      = "extension-apiserver-authentication"
)

// Options configure the event log API server.
type Options struct {
	// Kube is the API server that authentication (TokenReview, the front proxy's CA)
	// and authorization (SubjectAccessReview) are delegated to.
	Kube *clientrest.Config
	// Listener, when set, is where the server listens; otherwise BindAddress and
	// BindPort.
	Listener    net.Listener
	BindAddress net.IP
	BindPort    int
	// CertFile and KeyFile are the serving certificate (a mounted Secret). When both
	// are empty a self-signed certificate is made in memory, never written to disk.
	CertFile, KeyFile string
	// Log is the event log the resources are read from.
	Log *Log
}

// NewScheme returns the scheme of the event log API: its kinds, with the fields each
// may be selected by, and the meta kinds every API server serves.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := logsv1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	s.AddUnversionedTypes(schema.GroupVersion{Version: "v1"},
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
	gv := logsv1alpha1.SchemeGroupVersion
	errs := []error{
		s.AddFieldLabelConversionFunc(gv.WithKind("SourceEvent"), fieldLabelConversion(eventFields)),
		s.AddFieldLabelConversionFunc(gv.WithKind("SourceAction"), fieldLabelConversion(actionFields)),
	}
	return s, utilerrors.NewAggregate(errs)
}

// New returns the API server of logs.inlet.dev: SourceEvents and SourceActions read
// from the event log, every request authenticated and authorized by the cluster's API
// server, as an aggregated API server does. Run it with
// PrepareRun().RunWithContext(ctx).
func New(ctx context.Context, o Options) (*genericapiserver.GenericAPIServer, error) {
	if o.Kube == nil || o.Log == nil {
		return nil, errors.New("logs API: Kube and Log are required")
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, fmt.Errorf("logs API scheme: %w", err)
	}
	codecs := serializer.NewCodecFactory(scheme)
	config := genericapiserver.NewConfig(codecs)
	config.EffectiveVersion = compatibility.NewEffectiveVersionFromString("1.37", "", "")
	// Served for the API server to probe; /metrics stays the operator's own.
	config.EnableMetrics = false
	config.EnableProfiling = false
	config.EnableIndex = false
	setOpenAPI(config, scheme)

	serving := genericoptions.NewSecureServingOptions().WithLoopback()
	serving.BindAddress, serving.BindPort, serving.Listener = o.BindAddress, o.BindPort, o.Listener
	if o.Listener != nil {
		if tcp, ok := o.Listener.Addr().(*net.TCPAddr); ok {
			serving.BindAddress, serving.BindPort = tcp.IP, tcp.Port
		}
	}
	serving.ServerCert.CertDirectory = "" // never write a certificate to disk
	serving.ServerCert.CertKey = genericoptions.CertKey{CertFile: o.CertFile, KeyFile: o.KeyFile}
	if err := serving.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("logs API serving certificate: %w", err)
	}
	if err := serving.ApplyTo(&config.SecureServing, &config.LoopbackClientConfig); err != nil {
		return nil, fmt.Errorf("logs API serving: %w", err)
	}

	kubeConfig := clientrest.CopyConfig(o.Kube)
	kubeConfig.QPS, kubeConfig.Burst = 200, 400
	client, err := kubernetes.NewForConfig(kubeConfig)
	if err != nil {
		return nil, fmt.Errorf("logs API: client for delegated authentication: %w", err)
	}
	if err := delegateAuthentication(ctx, client, &config.Authentication, config.SecureServing); err != nil {
		return nil, err
	}
	if config.Authorization.Authorizer, err = delegateAuthorization(client); err != nil {
		return nil, err
	}

	server, err := config.Complete(nil).New("inlet-logs-api", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("logs API server: %w", err)
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(logsv1alpha1.GroupName, scheme, runtime.NewParameterCodec(scheme), codecs)
	group.VersionedResourcesStorageMap[logsv1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		logsv1alpha1.SourceEvents:  &storage{log: o.Log, authorizer: config.Authorization.Authorizer},
		logsv1alpha1.SourceActions: &storage{log: o.Log, authorizer: config.Authorization.Authorizer, actions: true},
	}
	if err := server.InstallAPIGroup(&group); err != nil {
		return nil, fmt.Errorf("logs API: install %s: %w", logsv1alpha1.GroupName, err)
	}
	return server, nil
}

// delegateAuthentication authenticates requests as aggregated API servers do: the
// front proxy (the kube-apiserver, with its proxy client certificate) by the CA and
// headers in kube-system/extension-apiserver-authentication, bearer tokens by
// TokenReview.
func delegateAuthentication(ctx context.Context, client kubernetes.Interface, authn *genericapiserver.AuthenticationInfo,
	serving *genericapiserver.SecureServingInfo) error {
	ca, err := dynamiccertificates.NewDynamicCAFromConfigMapController("client-ca", authConfigMapNamespace, authConfigMapName,
		"requestheader-client-ca-file", client)
	if err != nil {
		return fmt.Errorf("logs API: front proxy CA: %w", err)
	}
	headers := headerrequest.NewRequestHeaderAuthRequestController(authConfigMapName, authConfigMapNamespace, client,
		"requestheader-username-headers", "requestheader-uid-headers", "requestheader-group-headers",
		"requestheader-extra-headers-prefix", "requestheader-allowed-names")
	rh := &requestHeader{ConfigMapCAController: ca, headers: headers}
	if err := rh.RunOnce(ctx); err != nil {
		return fmt.Errorf("logs API: read %s/%s (is the API server configured for aggregation, with "+
			"--requestheader-client-ca-file?): %w", authConfigMapNamespace, authConfigMapName, err)
	}
	authn.RequestHeaderConfig = &authenticatorfactory.RequestHeaderConfig{
		CAContentProvider:   rh,
		UsernameHeaders:     headerrequest.StringSliceProviderFunc(headers.UsernameHeaders),
		UIDHeaders:          headerrequest.StringSliceProviderFunc(headers.UIDHeaders),
		GroupHeaders:        headerrequest.StringSliceProviderFunc(headers.GroupHeaders),
		ExtraHeaderPrefixes: headerrequest.StringSliceProviderFunc(headers.ExtraHeaderPrefixes),
		AllowedClientNames:  headerrequest.StringSliceProviderFunc(headers.AllowedClientNames),
	}
	if err := authn.ApplyClientCert(rh, serving); err != nil {
		return fmt.Errorf("logs API: front proxy CA: %w", err)
	}
	cfg := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                &apiserver.AnonymousAuthConfig{Enabled: true},
		TokenAccessReviewClient:  client.AuthenticationV1(),
		TokenAccessReviewTimeout: 10 * time.Second,
		WebhookRetryBackoff:      genericoptions.DefaultAuthWebhookRetryBackoff(),
		CacheTTL:                 10 * time.Second,
		RequestHeaderConfig:      authn.RequestHeaderConfig,
	}
	authn.Authenticator, _, err = cfg.New()
	if err != nil {
		return fmt.Errorf("logs API: authenticator: %w", err)
	}
	return nil
}

// delegateAuthorization authorizes requests by SubjectAccessReview; the health
// endpoints are open, for the kubelet's probes and the aggregator's.
func delegateAuthorization(client kubernetes.Interface) (authorizer.Authorizer, error) {
	paths, err := path.NewAuthorizer([]string{"/healthz", "/readyz", "/livez"})
	if err != nil {
		return nil, err
	}
	sar, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: client.AuthorizationV1(),
		AllowCacheTTL:             10 * time.Second,
		DenyCacheTTL:              10 * time.Second,
		WebhookRetryBackoff:       genericoptions.DefaultAuthWebhookRetryBackoff(),
	}.New()
	if err != nil {
		return nil, fmt.Errorf("logs API: authorizer: %w", err)
	}
	return union.New(
		union.NamedAuthorizer{AuthorizerName: "health", Authorizer: paths},
		union.NamedAuthorizer{AuthorizerName: "webhook", Authorizer: sar},
	)
}

// requestHeader is the front proxy's CA and header names, both read from the
// kube-system ConfigMap and kept up to date by the serving stack.
type requestHeader struct {
	*dynamiccertificates.ConfigMapCAController
	headers *headerrequest.RequestHeaderAuthRequestController
}

func (r *requestHeader) RunOnce(ctx context.Context) error {
	return utilerrors.NewAggregate([]error{r.ConfigMapCAController.RunOnce(ctx), r.headers.RunOnce(ctx)})
}

func (r *requestHeader) Run(ctx context.Context, workers int) {
	go r.ConfigMapCAController.Run(ctx, workers)
	go r.headers.Run(ctx, workers)
	<-ctx.Done()
}
