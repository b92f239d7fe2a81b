package logsapi_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/internal/logsapi"
	"inlet.dev/inlet/internal/testenv"
)

// The shared fixture: a kube-apiserver configured for aggregation, a NATS server
// holding the log stream, and the logs API server registered with an APIService.
var (
	env    *testenv.Env
	nats   *jetstream.Client
	scheme *runtime.Scheme
)

const logStream = "INLET_LOGS"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	env, err = testenv.StartAggregating()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	if err := setUp(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "set up:", err)
		return 1
	}
	return m.Run()
}

func setUp(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "inlet-logsapi-")
	if err != nil {
		return err
	}
	srv, err := jetstream.RunEmbedded(jetstream.EmbeddedOptions{Port: -1, StoreDir: filepath.Join(dir, "nats"), NoLog: true})
	if err != nil {
		return err
	}
	if nats, err = jetstream.Connect(ctx, srv.ClientURL()); err != nil {
		return err
	}
	if _, err := jetstream.EnsureStream(ctx, nats.JetStream(),
		jetstream.LogStreamConfig(logStream, time.Hour, 1, natsjs.FileStorage)); err != nil {
		return err
	}
	if scheme, err = logsapi.NewScheme(); err != nil {
		return err
	}

	// The serving certificate, as a mounted Secret would hold it.
	cert, key, err := certutil.GenerateSelfSignedCertKey("localhost", []net.IP{net.ParseIP("127.0.0.1")},
		[]string{"inlet-logs-api.default.svc"})
	if err != nil {
		return err
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, cert, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	server, err := logsapi.New(ctx, logsapi.Options{
		Kube: env.Config, Listener: ln, CertFile: certFile, KeyFile: keyFile,
		Log: &logsapi.Log{JetStream: nats.JetStream(), Stream: logStream},
	})
	if err != nil {
		return err
	}
	go func() {
		if err := server.PrepareRun().RunWithContext(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "logs API server:", err)
		}
	}()

	// Register it: an ExternalName Service to this process (an EndpointSlice may not
	// point at a loopback address) and the APIService, trusting the serving certificate.
	err = logsapi.Register(ctx, env.Client, logsapi.Registration{Namespace: "default", Service: "inlet-logs-api",
		Host: "localhost", Port: int32(ln.Addr().(*net.TCPAddr).Port), CABundle: cert})
	if err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return logsapi.WaitServed(wait, env.Config)
}

// logsClient is a REST client of logs.inlet.dev/v1alpha1 through the kube-apiserver.
func logsClient(t *testing.T, cfg *rest.Config) *rest.RESTClient {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.GroupVersion = &logsv1alpha1.SchemeGroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// userConfig is the configuration of a user of the kube-apiserver, with no
// permission until a test grants one.
func userConfig(t *testing.T, name string) *rest.Config {
	t.Helper()
	u, err := env.ControlPlane.AddUser(envtest.User{Name: name}, env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return u.Config()
}

// namespace creates a namespace for one test.
func namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "logs-"}}
	if err := env.Client.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// grant binds user to a Role in namespace with rules.
func grant(t *testing.T, namespace, user string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: namespace}, Rules: rules}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := env.Client.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
}
