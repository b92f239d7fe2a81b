package main_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"inlet.dev/inlet/api/manifests"
	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/internal/testenv"
)

// inlet send --cluster reads the SourceEnvironment, its Source, its signing Secret and
// its endpoint token Secret from a real API server, as a user with nothing but get on
// those, and signs so that a real ingress verifies the events. The cluster's secrets
// differ from the manifests in the working folder, so signing with those would fail.
func TestSendToACluster(t *testing.T) {
	controlPlaneDir(t)
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()

	// The samples as they are in the cluster, with secrets of their own.
	stripeSecret, segmentSecret, segmentToken := "whsec_"+randomText(t), "seg_"+randomText(t), randomText(t)
	manifestsDir := t.TempDir()
	samples, _ := filepath.Glob(filepath.Join(repoRoot(), "config", "samples", "*.yaml"))
	for _, f := range samples {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.NewReplacer("secret: whsec_test_secret", "secret: "+stripeSecret, "secret: abc123", "secret: "+segmentSecret).Replace(string(data))
		if err := os.WriteFile(filepath.Join(manifestsDir, filepath.Base(f)), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := manifests.LoadPaths(manifestsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.SetNamespace("default")
		if err := env.Client.Create(ctx, o.Unstructured); err != nil {
			t.Fatalf("create %s: %v", o.Origin(), err)
		}
	}
	mustCreate(t, env.Client, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "segment-production-endpoint-token"},
		Data:       map[string][]byte{"token": []byte(segmentToken)},
	})

	// A real ingress serving the same resources and secrets: inlet dev, given the token.
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	tokens, _ := json.Marshal(map[string]string{"default/segment-production": segmentToken})
	if err := os.WriteFile(filepath.Join(data, "endpoint-tokens.json"), tokens, 0o600); err != nil {
		t.Fatal(err)
	}
	listen := freePort(t)
	start(t, "inlet dev is up", "dev", "--dir", manifestsDir, "--data", data, "--listen", listen,
		"--metrics-listen", "0", "--nats-listen", freePort(t))

	// What the operator would report: the endpoints, the token's Secret.
	setEndpoint(t, env.Client, "stripe-production", "http://"+listen+"/e/default/stripe-production", nil)
	setEndpoint(t, env.Client, "segment-production", "http://"+listen+"/e/default/segment-production/{token}",
		&v1alpha1.SecretKeyReference{Name: "segment-production-endpoint-token", Key: "token"})

	// A user who may get those resources and nothing else, and one who may not.
	sender := kubeconfigFor(t, env, "sender")
	nobody := kubeconfigFor(t, env, "nobody")
	mustCreate(t, env.Client, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "inlet-sender"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"sourceenvironments", "sources"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		},
	})
	mustCreate(t, env.Client, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "inlet-sender"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "inlet-sender"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "sender"}},
	})

	// send runs inlet send from the repository's root, where config/samples holds the
	// samples with their own secrets.
	send := func(args ...string) (string, error) {
		cmd := exec.Command(binary, append([]string{"send"}, args...)...)
		cmd.Dir = repoRoot()
		out, err := cmd.CombinedOutput()
		for _, secret := range []string{stripeSecret, segmentSecret, segmentToken} {
			if strings.Contains(string(out), secret) {
				t.Errorf("inlet send %v printed a secret:\n%s", args, out)
			}
		}
		return string(out), err
	}
	sample := []string{"-e", "stripe-production", "--sample", "customer.subscription.created"}

	// Signing with the local manifests' secret is refused: the cluster's is another.
	if out, err := send(append([]string{"--url", "http://" + listen}, sample...)...); err == nil || !strings.Contains(out, "401") {
		t.Errorf("send from the local manifests was not refused: %v\n%s", err, out)
	}
	// To the endpoint in the SourceEnvironment's status, signed with the cluster's Secret.
	if out, err := send(append([]string{"--kubeconfig", sender}, sample...)...); err != nil || !strings.HasPrefix(out, "200 OK") || !strings.Contains(out, `"actions":2`) {
		t.Errorf("send --kubeconfig to stripe-production's status.endpoint: %v\n%s", err, out)
	}
	// To --url, through the endpoint token the cluster's Secret holds.
	if out, err := send("--kubeconfig", sender, "-n", "default", "--url", "http://"+listen, "-e", "segment-production", "--sample", "identify"); err != nil || !strings.HasPrefix(out, "200 OK") {
		t.Errorf("send --kubeconfig --url to segment-production: %v\n%s", err, out)
	}
	// Unsigned, the ingress refuses it: the 200s above were verified.
	if out, err := send(append([]string{"--kubeconfig", sender, "--unsigned"}, sample...)...); err == nil || !strings.Contains(out, "401") {
		t.Errorf("send --kubeconfig --unsigned: %v, want 401\n%s", err, out)
	}
	// What a user is told when something is missing or forbidden.
	failures := map[string]struct {
		args []string
		want string
	}{
		"no such SourceEnvironment": {[]string{"--kubeconfig", sender, "-e", "nope", "--data", "{}"}, "no SourceEnvironment default/nope in the cluster at https://"},
		"no right to read":          {append([]string{"--kubeconfig", nobody}, sample...), "you may not read SourceEnvironment default/stripe-production"},
		"no endpoint yet":           {[]string{"--kubeconfig", sender, "-e", "clerk-production", "--sample", "user.created"}, "reports no endpoint yet (is the operator running?): give the ingress's address with --url"},
	}
	for name, tc := range failures {
		t.Run(name, func(t *testing.T) {
			out, err := send(tc.args...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("inlet send %v: %v, want an error saying %q\n%s", tc.args, err, tc.want, out)
			}
		})
	}
}

func mustCreate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// setEndpoint writes a SourceEnvironment's status.endpoint, as the operator does.
func setEndpoint(t *testing.T, c client.Client, name, endpoint string, tokenRef *v1alpha1.SecretKeyReference) {
	t.Helper()
	var se v1alpha1.SourceEnvironment
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "default", Name: name}, &se); err != nil {
		t.Fatal(err)
	}
	se.Status.Endpoint, se.Status.EndpointTokenSecretRef = endpoint, tokenRef
	if err := c.Status().Update(context.Background(), &se); err != nil {
		t.Fatalf("status of %s: %v", name, err)
	}
}

// kubeconfigFor writes a kubeconfig for a new user of the control plane, in no group.
func kubeconfigFor(t *testing.T, env *testenv.Env, user string) string {
	t.Helper()
	u, err := env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// randomText returns 24 random hex digits, which appear nowhere else.
func randomText(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
