package controllers

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/intstr"

	"inlet.dev/inlet/api/v1alpha1"
)

var dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

func TestIngressName(t *testing.T) {
	long := strings.Repeat("a", 250)
	tests := map[string]struct {
		in, want string
	}{
		"plain":        {in: "stripe-production", want: "stripe-production-ingress"},
		"dots":         {in: "stripe.production"},
		"digit first":  {in: "1password-prod"},
		"prefixed":     {in: "inlet-1password-prod"},
		"just fits 63": {in: strings.Repeat("b", 55), want: strings.Repeat("b", 55) + "-ingress"},
		"too long":     {in: long},
		"too long too": {in: long[:249] + "b"},
	}
	seen := map[string]string{}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := ingressName(tt.in)
			if tt.want != "" && got != tt.want {
				t.Errorf("ingressName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > 63 || !dnsLabel.MatchString(got) {
				t.Errorf("ingressName(%q) = %q is not a DNS label", tt.in, got)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("%q and %q share the name %q", tt.in, other, got)
			}
			seen[got] = tt.in
			if l := instanceLabel(tt.in); len(l) > 63 {
				t.Errorf("instance label %q is too long", l)
			}
		})
	}
}

func TestIngressSecretNames(t *testing.T) {
	se := func(mod func(*v1alpha1.SourceEnvironmentSpec)) *v1alpha1.SourceEnvironment {
		e := &v1alpha1.SourceEnvironment{ObjectMeta: metav1.ObjectMeta{Name: "segment-production"}}
		mod(&e.Spec)
		return e
	}
	value := "https://app.example.com"
	tests := map[string]struct {
		se        *v1alpha1.SourceEnvironment
		usesToken bool
		want      []string
	}{
		"nothing": {
			se: se(func(*v1alpha1.SourceEnvironmentSpec) {}),
		},
		"token only": {
			se: se(func(*v1alpha1.SourceEnvironmentSpec) {}), usesToken: true,
			want: []string{"segment-production-endpoint-token"},
		},
		"every kind of reference, once each, sorted": {
			se: se(func(s *v1alpha1.SourceEnvironmentSpec) {
				s.SigningSecretRefs = []v1alpha1.SecretKeyReference{{Name: "webhook-new"}, {Name: "webhook-old"}, {Name: "webhook-new", Key: "other"}}
				s.Variables = []v1alpha1.Variable{
					{Name: "apiKey", SecretKeyRef: &v1alpha1.SecretKeyReference{Name: "api"}},
					{Name: "url", Value: &value},
				}
				s.Publish.CredentialsSecretRef = &v1alpha1.SecretKeyReference{Name: "nats", Key: "creds"}
			}),
			usesToken: true,
			want:      []string{"api", "nats", "segment-production-endpoint-token", "webhook-new", "webhook-old"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ingressSecretNames(tt.se, tt.usesToken); !slices.Equal(got, tt.want) {
				t.Errorf("secret names %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIngressRoleRules(t *testing.T) {
	inlet := rbacv1.PolicyRule{
		APIGroups: []string{"inlet.dev"},
		Resources: []string{"sources", "sourceenvironments", "eventmappings"},
		Verbs:     []string{"get", "list", "watch"},
	}
	peers := rbacv1.PolicyRule{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list"}}
	tests := map[string]struct {
		secrets []string
		want    []rbacv1.PolicyRule
	}{
		// A secrets rule without names would grant every Secret of the namespace.
		"no secret, no secret rule": {want: []rbacv1.PolicyRule{inlet, peers}},
		"named secrets only": {
			secrets: []string{"a", "b"},
			want: []rbacv1.PolicyRule{inlet, peers, {
				APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"a", "b"},
				Verbs: []string{"get", "list", "watch"},
			}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := ingressRoleRules(tt.secrets)
			if !equality.Semantic.DeepEqual(got, tt.want) {
				t.Errorf("rules differ:\n%s", diff.Diff(tt.want, got))
			}
		})
	}
}

func TestIngressDeployment(t *testing.T) {
	creds := &v1alpha1.SecretKeyReference{Name: "nats", Key: "user.creds"}
	custom := &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}}
	existing := func(replicas int32) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "x", CreationTimestamp: metav1.Now()}}
		d.Spec.Replicas = new(replicas)
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"kept": "as is"}}
		d.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "now"}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "sidecar", Image: "proxy"}}
		return d
	}
	tests := map[string]struct {
		pod          ingressPod
		have         *appsv1.Deployment
		replicas     *int32
		wantReplicas int32
		check        func(t *testing.T, d *appsv1.Deployment)
	}{
		"new, replicas unset: two": {
			pod:  ingressPod{SourceEnvironment: "stripe-production", Image: "inlet:dev", NATSURL: "nats://nats:4222"},
			have: &appsv1.Deployment{}, wantReplicas: 2,
			check: checkDefaultIngressDeployment,
		},
		"new, replicas set to one": {
			pod: ingressPod{SourceEnvironment: "x", Image: "i"}, have: &appsv1.Deployment{}, replicas: new(int32(1)), wantReplicas: 1,
		},
		"new, replicas set": {
			pod: ingressPod{SourceEnvironment: "x", Image: "i"}, have: &appsv1.Deployment{}, replicas: new(int32(3)), wantReplicas: 3,
		},
		"scaled by someone else, replicas unset: left alone": {
			pod: ingressPod{SourceEnvironment: "x", Image: "i"}, have: existing(7), wantReplicas: 7,
		},
		"scaled by someone else, replicas set: spec wins": {
			pod: ingressPod{SourceEnvironment: "x", Image: "i"}, have: existing(7), replicas: new(int32(2)), wantReplicas: 2,
		},
		"others' fields kept": {
			pod: ingressPod{SourceEnvironment: "x", Image: "i"}, have: existing(1), wantReplicas: 1,
			check: func(t *testing.T, d *appsv1.Deployment) {
				spec := d.Spec.Template.Spec
				if len(spec.Containers) != 2 || spec.Containers[0].Name != "sidecar" || spec.Containers[1].Name != "ingress" {
					t.Errorf("containers %v", spec.Containers)
				}
				if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] != "now" || d.Spec.Selector.MatchLabels["kept"] != "as is" {
					t.Errorf("annotations %v, selector %v", d.Spec.Template.Annotations, d.Spec.Selector)
				}
			},
		},
		"credentials and resources": {
			pod:  ingressPod{SourceEnvironment: "x", Image: "i", NATSURL: "tls://n:4222", Credentials: creds, Resources: custom},
			have: &appsv1.Deployment{}, wantReplicas: 2,
			check: func(t *testing.T, d *appsv1.Deployment) {
				c := d.Spec.Template.Spec.Containers[0]
				if c.Args[len(c.Args)-1] != "--nats-creds=/var/run/inlet/nats/creds" {
					t.Errorf("args %v", c.Args)
				}
				if len(c.VolumeMounts) != 1 || !c.VolumeMounts[0].ReadOnly || c.VolumeMounts[0].MountPath != "/var/run/inlet/nats" {
					t.Errorf("mounts %+v", c.VolumeMounts)
				}
				v := d.Spec.Template.Spec.Volumes
				if len(v) != 1 || v[0].Secret.SecretName != "nats" || v[0].Secret.Items[0] != (corev1.KeyToPath{Key: "user.creds", Path: "creds"}) {
					t.Errorf("volumes %+v", v)
				}
				if !equality.Semantic.DeepEqual(c.Resources, *custom) {
					t.Errorf("resources %+v", c.Resources)
				}
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			d := tt.have
			tt.pod.mutateDeployment(d, tt.replicas)
			if *d.Spec.Replicas != tt.wantReplicas {
				t.Errorf("replicas = %d, want %d", *d.Spec.Replicas, tt.wantReplicas)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
			// Applying again changes nothing.
			again := d.DeepCopy()
			tt.pod.mutateDeployment(again, tt.replicas)
			if !equality.Semantic.DeepEqual(d, again) {
				t.Errorf("a second apply changes the Deployment:\n%s", diff.Diff(d, again))
			}
		})
	}
}

// checkDefaultIngressDeployment checks the Deployment of an ingressPod that sets
// only its SourceEnvironment, image and NATS URL.
func checkDefaultIngressDeployment(t *testing.T, d *appsv1.Deployment) {
	c := d.Spec.Template.Spec.Containers[0]
	wantArgs := []string{"--namespace=$(POD_NAMESPACE)", "--source-environment=stripe-production", "--listen=:8080",
		"--metrics-listen=:9090", "--nats-url=nats://nats:4222", "--shutdown-delay=5s", "--drain=10s", "--peers-service=stripe-production-ingress"}
	if c.Name != "ingress" || c.Image != "inlet:dev" || !slices.Equal(c.Command, []string{"/inlet-ingress"}) || !slices.Equal(c.Args, wantArgs) {
		t.Errorf("container %s %s %v %v", c.Name, c.Image, c.Command, c.Args)
	}
	if c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.namespace" || c.Env[1].ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("env %+v", c.Env)
	}
	wantPorts := []corev1.ContainerPort{
		{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
		{Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP},
	}
	if !slices.Equal(c.Ports, wantPorts) || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("ports %+v, probes %+v %+v", c.Ports, c.LivenessProbe, c.ReadinessProbe)
	}
	if !equality.Semantic.DeepEqual(c.Resources, defaultIngressResources()) {
		t.Errorf("resources %+v", c.Resources)
	}
	sc, psc := c.SecurityContext, d.Spec.Template.Spec.SecurityContext
	if *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !*sc.RunAsNonRoot || *sc.RunAsUser != 65532 ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		!*psc.RunAsNonRoot || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("security %+v %+v", sc, psc)
	}
	spec := d.Spec.Template.Spec
	if spec.ServiceAccountName != "stripe-production-ingress" || !*spec.AutomountServiceAccountToken || len(spec.Volumes) != 0 {
		t.Errorf("service account %q, automount %v, volumes %v", spec.ServiceAccountName, *spec.AutomountServiceAccountToken, spec.Volumes)
	}
	want := map[string]string{LabelName: IngressAppName, LabelInstance: "stripe-production"}
	if !equality.Semantic.DeepEqual(d.Spec.Selector.MatchLabels, want) || d.Spec.Template.Labels[LabelManagedBy] != ManagedBy {
		t.Errorf("selector %v, template labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
}

// TestIngressPodComesAndGoesUnnoticed checks the pod spec against what the kubelet
// and the ingress do: a new pod is probed ready within 2s of serving, a stopping pod
// answers through its shutdown delay and drain before it can be killed, a rollout never
// goes below the wanted ready pods.
func TestIngressPodComesAndGoesUnnoticed(t *testing.T) {
	d := &appsv1.Deployment{}
	ingressPod{SourceEnvironment: "x", Image: "i", NATSURL: "nats://n:4222"}.mutateDeployment(d, nil)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]

	// The kubelet runs no probe before initialDelaySeconds, then one per period: the
	// first success comes at most initialDelay + period after the pod can serve.
	r := c.ReadinessProbe
	if worst := r.InitialDelaySeconds + r.PeriodSeconds*r.SuccessThreshold; worst > 2 || r.TimeoutSeconds > 1 {
		t.Errorf("readiness probe %+v: Ready up to %ds after the pod can serve, want at most 2s", r, worst)
	}
	l := c.LivenessProbe
	if l.PeriodSeconds*l.FailureThreshold < 10 || l.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v restarts a pod after %ds of silence; too eager", l, l.PeriodSeconds*l.FailureThreshold)
	}

	// The grace period covers the shutdown delay and the drain the pod is told.
	flag := func(name string) time.Duration {
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
				d, err := time.ParseDuration(v)
				if err != nil {
					t.Fatalf("%s: %v", a, err)
				}
				return d
			}
		}
		t.Fatalf("no --%s in %v", name, c.Args)
		return 0
	}
	delay, drain := flag("shutdown-delay"), flag("drain")
	if delay < 5*time.Second {
		t.Errorf("shutdown delay %s: too short for the pod to leave the endpoints", delay)
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	if grace <= delay+drain {
		t.Errorf("terminationGracePeriodSeconds %s leaves no time after the %s delay and %s drain", grace, delay, drain)
	}

	// A rollout adds a pod before it removes one.
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
		t.Errorf("strategy %+v", d.Spec.Strategy)
	}
}

func TestIngressPodTemplateIgnoresMappingsAndSigningSecrets(t *testing.T) {
	// The pod template is a function of these inputs only; nothing about mappings or
	// signing Secrets goes in, so their changes cannot roll the Deployment. Only the
	// NATS credentials' digest does.
	base := ingressPod{SourceEnvironment: "x", Image: "i", NATSURL: "nats://n:4222"}
	a, b := &appsv1.Deployment{}, &appsv1.Deployment{}
	base.mutateDeployment(a, nil)
	base.mutateDeployment(b, nil)
	if !equality.Semantic.DeepEqual(a.Spec.Template, b.Spec.Template) {
		t.Fatal("the same inputs give different pod templates")
	}
	withCreds := base
	withCreds.Credentials = &v1alpha1.SecretKeyReference{Name: "nats"}
	withCreds.mutateDeployment(b, nil)
	if equality.Semantic.DeepEqual(a.Spec.Template, b.Spec.Template) {
		t.Fatal("credentials did not change the pod template")
	}
	// Rotated credentials roll the pods (a NATS connection authenticates once); a
	// digest that could not be computed keeps the pods as they are.
	withCreds.CredentialsDigest = credentialsDigest([]byte("old"))
	withCreds.mutateDeployment(b, nil)
	before := b.Spec.Template.DeepCopy()
	withCreds.CredentialsDigest = credentialsDigest([]byte("new"))
	withCreds.mutateDeployment(b, nil)
	if equality.Semantic.DeepEqual(before, &b.Spec.Template) {
		t.Error("rotated NATS credentials did not change the pod template")
	}
	rotated := b.Spec.Template.DeepCopy()
	withCreds.CredentialsDigest = ""
	withCreds.mutateDeployment(b, nil)
	if !equality.Semantic.DeepEqual(rotated, &b.Spec.Template) {
		t.Errorf("unreadable credentials changed the pod template:\n%s", diff.Diff(rotated, &b.Spec.Template))
	}
	// Removing the credentials removes their volume, mount, flag and digest.
	base.mutateDeployment(b, nil)
	if !equality.Semantic.DeepEqual(a.Spec.Template, b.Spec.Template) {
		t.Errorf("removing credentials leaves traces:\n%s", diff.Diff(a.Spec.Template, b.Spec.Template))
	}
}

func TestIngressServiceAndPDB(t *testing.T) {
	svc := &corev1.Service{}
	svc.Spec.ClusterIP = "10.0.0.7"
	mutateService(svc, "x")
	p := svc.Spec.Ports
	if len(p) != 1 || p[0].Port != 8080 || p[0].TargetPort.StrVal != "http" || svc.Spec.ClusterIP != "10.0.0.7" || svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("service %+v", svc.Spec)
	}

	// Disruptions take one pod at a time; a PDB written by an earlier version with
	// minAvailable moves to maxUnavailable.
	old := intstr.FromInt32(1)
	pdb := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &old}}
	mutatePDB(pdb, "x")
	if pdb.Spec.MinAvailable != nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 ||
		!equality.Semantic.DeepEqual(pdb.Spec.Selector.MatchLabels, ingressSelector("x")) {
		t.Errorf("PDB %+v", pdb.Spec)
	}
	if !equality.Semantic.DeepEqual(svc.Spec.Selector, ingressSelector("x")) {
		t.Errorf("selector %v", svc.Spec.Selector)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}}
	mutateRoleBinding(rb, "x")
	if rb.RoleRef.Name != "x-ingress" || rb.RoleRef.Kind != "Role" || rb.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: "x-ingress", Namespace: "ns"}) {
		t.Errorf("role binding %+v", rb)
	}
}
