package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
)

// The pod contract of ingress Deployments, which the ingress command matches.
const (
	// IngressContainerName is the name of the ingress container.
	IngressContainerName = "ingress"
	// IngressCommand is what the ingress container runs: the inlet-ingress binary of
	// the image (cmd/inlet-ingress), the ingress alone, smaller than /inlet, the
	// entrypoint, which carries the operator and the CLI.
	IngressCommand = "/inlet-ingress"
	// IngressPort is the port the ingress serves events, /healthz and /readyz on: the
	// one port of its Service.
	IngressPort = 8080
	// IngressPortName names IngressPort on the container and the Service.
	IngressPortName = "http"
	// IngressMetricsPort is the port the ingress serves /metrics on, apart from the
	// public one and not exposed by the Service: scrape the pods.
	IngressMetricsPort = 9090
	// IngressMetricsPortName names IngressMetricsPort on the container.
	IngressMetricsPortName = "metrics"
	// DefaultIngressReplicas is the number of ingress pods a Deployment starts with
	// when spec.ingress.replicas is unset: two, so that one pod can go (deleted,
	// evicted, rolled) while the other serves.
	DefaultIngressReplicas = 2
	// IngressUID is the user and group the ingress runs as: nonroot in distroless.
	IngressUID = 65532
	// NATSCredentialsPath is where a SourceEnvironment's NATS credentials Secret key is
	// mounted in ingress pods.
	NATSCredentialsPath = "/var/run/inlet/nats/creds"

	natsCredentialsVolume = "nats-credentials"
	natsCredentialsDir    = "/var/run/inlet/nats"
)

// How an ingress pod stops. On SIGTERM the ingress keeps serving for
// ingressShutdownDelay while the endpoints controller and kube-proxy take the
// terminating pod out of the Service, then stops accepting and waits up to
// ingressDrain for the requests in flight, then flushes its logs and counters. The
// termination grace period covers all three, so that the kubelet never kills a pod
// that is still answering.
const (
	ingressShutdownDelay  = 5 * time.Second
	ingressDrain          = 10 * time.Second
	ingressShutdownMargin = 5 * time.Second
)

// ingressTerminationGracePeriod is the pod's terminationGracePeriodSeconds.
var ingressTerminationGracePeriod = int64((ingressShutdownDelay + ingressDrain + ingressShutdownMargin) / time.Second)

// AnnotationNATSCredentials on an ingress pod template is a digest of the NATS
// credentials the pods were started with, so that rotated credentials roll them.
const AnnotationNATSCredentials = "inlet.dev/nats-credentials-digest"

// credentialsDigest is the AnnotationNATSCredentials value of credentials.
func credentialsDigest(credentials []byte) string {
	if len(credentials) == 0 {
		return ""
	}
	sum := sha256.Sum256(credentials)
	return hex.EncodeToString(sum[:8])
}

// Labels on everything the operator creates for an ingress.
const (
	// LabelName is app.kubernetes.io/name; IngressAppName its value.
	LabelName = "app.kubernetes.io/name"
	// LabelInstance is app.kubernetes.io/instance: the SourceEnvironment's name.
	LabelInstance = "app.kubernetes.io/instance"
	// LabelManagedBy is app.kubernetes.io/managed-by; ManagedBy its value.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// IngressAppName is the LabelName value of ingress objects.
	IngressAppName = "inlet-ingress"
	// ManagedBy is the LabelManagedBy value of objects the operator owns.
	ManagedBy = "inlet"
)

// ingressName is the name of a SourceEnvironment's ServiceAccount, Role, RoleBinding,
// Deployment, Service and PodDisruptionBudget: "<name>-ingress". It is a valid DNS
// label, as Service names must be. A name that is not one as it stands (it holds dots,
// starts with a digit, or is too long) is made one: dots become dashes, an "inlet-"
// prefix goes before a digit, the name is shortened, and a hash of the original name
// keeps names of different SourceEnvironments apart.
func ingressName(sourceEnvironment string) string {
	const suffix = "-ingress"
	if len(sourceEnvironment)+len(suffix) <= 63 && dnsLabelStart(sourceEnvironment) && !strings.Contains(sourceEnvironment, ".") {
		return sourceEnvironment + suffix
	}
	base := strings.ReplaceAll(sourceEnvironment, ".", "-")
	if !dnsLabelStart(base) {
		base = "inlet-" + base
	}
	sum := sha256.Sum256([]byte(sourceEnvironment))
	hash := hex.EncodeToString(sum[:])[:8]
	keep := min(len(base), 63-len(suffix)-len(hash)-1)
	return strings.TrimRight(base[:keep], "-") + "-" + hash + suffix
}

// dnsLabelStart reports whether s starts as a DNS label must: with a lowercase letter.
func dnsLabelStart(s string) bool {
	return s != "" && s[0] >= 'a' && s[0] <= 'z'
}

// instanceLabel is the LabelInstance value: the SourceEnvironment's name, or its
// ingress name when the name is longer than a label value may be.
func instanceLabel(sourceEnvironment string) string {
	if len(sourceEnvironment) <= 63 {
		return sourceEnvironment
	}
	return ingressName(sourceEnvironment)
}

// ingressSelector are the labels that select a SourceEnvironment's ingress pods.
func ingressSelector(sourceEnvironment string) map[string]string {
	return map[string]string{LabelName: IngressAppName, LabelInstance: instanceLabel(sourceEnvironment)}
}

// ingressLabels are the labels of every ingress object.
func ingressLabels(sourceEnvironment string) map[string]string {
	l := ingressSelector(sourceEnvironment)
	l[LabelManagedBy] = ManagedBy
	return l
}

// mergeLabels sets want's labels on have, keeping others' labels.
func mergeLabels(have map[string]string, want map[string]string) map[string]string {
	if have == nil {
		have = map[string]string{}
	}
	maps.Copy(have, want)
	return have
}

// referencedSecretNames are the Secrets a SourceEnvironment's spec names: signing
// secrets, secret variables and the NATS credentials, sorted and without repeats.
func referencedSecretNames(se *v1alpha1.SourceEnvironment) []string {
	var names []string
	for _, r := range se.Spec.SigningSecretRefs {
		names = append(names, r.Name)
	}
	for _, v := range se.Spec.Variables {
		if v.SecretKeyRef != nil {
			names = append(names, v.SecretKeyRef.Name)
		}
	}
	if c := se.Spec.Publish.CredentialsSecretRef; c != nil {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// ingressSecretNames are the Secrets an ingress may read: the referenced ones and, for
// sources that sign nothing, the endpoint token's.
func ingressSecretNames(se *v1alpha1.SourceEnvironment, usesToken bool) []string {
	names := referencedSecretNames(se)
	if usesToken {
		names = append(names, config.EndpointTokenSecretName(se.Name))
		slices.Sort(names)
		names = slices.Compact(names)
	}
	return names
}

var readVerbs = []string{"get", "list", "watch"}

// ingressRoleRules are the least privileges an ingress needs: read inlet's resources in
// its namespace, and read exactly the Secrets named. A Secret rule without names would
// grant every Secret, so there is none when no Secret is named. Reading a named Secret
// with list or watch requires a field selector on metadata.name.
func ingressRoleRules(secretNames []string) []rbacv1.PolicyRule {
	rules := []rbacv1.PolicyRule{{
		APIGroups: []string{v1alpha1.GroupVersion.Group},
		Resources: []string{"sources", "sourceenvironments", "eventmappings"},
		Verbs:     slices.Clone(readVerbs),
	}, {
		// The pods behind the ingress's Service, for readiness (see args).
		APIGroups: []string{discoveryv1.GroupName},
		Resources: []string{"endpointslices"},
		Verbs:     []string{"list"},
	}}
	if len(secretNames) > 0 {
		rules = append(rules, rbacv1.PolicyRule{
			APIGroups:     []string{""},
			Resources:     []string{"secrets"},
			ResourceNames: slices.Clone(secretNames),
			Verbs:         slices.Clone(readVerbs),
		})
	}
	return rules
}

// mutateRole sets the fields of an ingress Role the operator owns.
func mutateRole(role *rbacv1.Role, sourceEnvironment string, secretNames []string) {
	role.Labels = mergeLabels(role.Labels, ingressLabels(sourceEnvironment))
	role.Rules = ingressRoleRules(secretNames)
}

// mutateRoleBinding binds an ingress's Role to its ServiceAccount. roleRef cannot
// change once created, and never needs to: both carry the same name.
func mutateRoleBinding(rb *rbacv1.RoleBinding, sourceEnvironment string) {
	name := ingressName(sourceEnvironment)
	rb.Labels = mergeLabels(rb.Labels, ingressLabels(sourceEnvironment))
	rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
	rb.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: rb.Namespace}}
}

// mutateServiceAccount sets the labels of an ingress's ServiceAccount.
func mutateServiceAccount(sa *corev1.ServiceAccount, sourceEnvironment string) {
	sa.Labels = mergeLabels(sa.Labels, ingressLabels(sourceEnvironment))
}

// mutateService points an ingress's Service at its pods. The cluster IP and other
// fields the API server fills are kept.
func mutateService(svc *corev1.Service, sourceEnvironment string) {
	svc.Labels = mergeLabels(svc.Labels, ingressLabels(sourceEnvironment))
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	svc.Spec.Selector = ingressSelector(sourceEnvironment)
	svc.Spec.Ports = []corev1.ServicePort{{
		Name:       IngressPortName,
		Protocol:   corev1.ProtocolTCP,
		Port:       IngressPort,
		TargetPort: intstr.FromString(IngressPortName),
	}}
}

// mutatePDB lets voluntary disruptions (node drains, evictions) take one ingress pod
// at a time, whatever the replica count.
func mutatePDB(pdb *policyv1.PodDisruptionBudget, sourceEnvironment string) {
	pdb.Labels = mergeLabels(pdb.Labels, ingressLabels(sourceEnvironment))
	one := intstr.FromInt32(1)
	pdb.Spec.MinAvailable = nil
	pdb.Spec.MaxUnavailable = &one
	pdb.Spec.Selector = &metav1.LabelSelector{MatchLabels: ingressSelector(sourceEnvironment)}
}

// ingressPod is what an ingress pod template is made of. Nothing in it changes when
// mappings or Secret contents change: the ingress reloads those live, so only a change
// here rolls the Deployment.
type ingressPod struct {
	// SourceEnvironment is the environment's name.
	SourceEnvironment string
	// Image is the ingress image.
	Image string
	// NATSURL is the server the ingress publishes to.
	NATSURL string
	// Credentials is the Secret key holding NATS credentials, nil for none.
	Credentials *v1alpha1.SecretKeyReference
	// CredentialsDigest identifies the credentials' content; when it changes the pods
	// roll, since a NATS connection authenticates once. Empty when the content could not
	// be read: the pods keep the digest they have.
	CredentialsDigest string
	// Resources are the container's; nil for the defaults.
	Resources *corev1.ResourceRequirements
	// Partitions is the operator's default number of action stream partitions, for
	// a SourceEnvironment that sets none; 0 or 1 for none.
	Partitions int32
}

// defaultIngressResources are the container's requests and limits when
// spec.ingress.resources is unset.
func defaultIngressResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("50m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse("256Mi"),
		},
	}
}

// args are the ingress binary's arguments (IngressCommand's flags).
func (p ingressPod) args() []string {
	args := []string{
		"--namespace=$(POD_NAMESPACE)",
		"--source-environment=" + p.SourceEnvironment,
		"--listen=:" + strconv.Itoa(IngressPort),
		"--metrics-listen=:" + strconv.Itoa(IngressMetricsPort),
		"--nats-url=" + p.NATSURL,
		"--shutdown-delay=" + ingressShutdownDelay.String(),
		"--drain=" + ingressDrain.String(),
		// Its peers are the other pods behind its Service: readiness asks them
		// whether NATS is down for everyone or for this pod alone.
		"--peers-service=" + ingressName(p.SourceEnvironment),
	}
	if p.Credentials != nil {
		args = append(args, "--nats-creds="+NATSCredentialsPath)
	}
	if p.Partitions > 1 {
		args = append(args, "--action-partitions="+strconv.Itoa(int(p.Partitions)))
	}
	return args
}

// readinessProbe asks /readyz every second from the start: the kubelet runs no probe
// within initialDelaySeconds and then waits a whole period between two, so a new pod
// is Ready within about a second of being able to serve (NATS reached, configuration
// loaded). Three failures in a row (3s) take a pod out of the Service; losing NATS
// afterwards is one only while another pod of the Service reaches NATS, so that in an
// outage of NATS the pods stay in the Service and answer 503 with Retry-After.
func readinessProbe() *corev1.Probe {
	return probe("/readyz", 0, 1, 3)
}

// livenessProbe restarts an ingress whose /healthz has not answered for 30s. /healthz
// says only that the process serves: it stays up while NATS is down, so that an outage
// does not turn into a restart loop.
func livenessProbe() *corev1.Probe {
	return probe("/healthz", 10, 10, 3)
}

// probe checks path on the ingress port, with every field set as the API server would
// otherwise default it, so that a Deployment read back compares equal.
func probe(path string, initialDelay, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path:   path,
			Port:   intstr.FromString(IngressPortName),
			Scheme: corev1.URISchemeHTTP,
		}},
		InitialDelaySeconds: initialDelay,
		TimeoutSeconds:      1,
		PeriodSeconds:       period,
		SuccessThreshold:    1,
		FailureThreshold:    failures,
	}
}

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path},
	}}
}

// mutateContainer sets the fields of the ingress container the operator owns; fields
// the API server defaults (image pull policy, termination message) are kept.
func (p ingressPod) mutateContainer(c *corev1.Container) {
	c.Name = IngressContainerName
	c.Image = p.Image
	c.Command = []string{IngressCommand}
	c.Args = p.args()
	c.Env = []corev1.EnvVar{
		fieldEnv("POD_NAMESPACE", "metadata.namespace"),
		fieldEnv("POD_NAME", "metadata.name"),
		fieldEnv("POD_IP", "status.podIP"),
	}
	c.Ports = []corev1.ContainerPort{
		{Name: IngressPortName, ContainerPort: IngressPort, Protocol: corev1.ProtocolTCP},
		{Name: IngressMetricsPortName, ContainerPort: IngressMetricsPort, Protocol: corev1.ProtocolTCP},
	}
	c.LivenessProbe = livenessProbe()
	c.ReadinessProbe = readinessProbe()
	if p.Resources != nil {
		c.Resources = *p.Resources.DeepCopy()
	} else {
		c.Resources = defaultIngressResources()
	}
	c.SecurityContext = &corev1.SecurityContext{
		AllowPrivilegeEscalation: new(false),
		ReadOnlyRootFilesystem:   new(true),
		RunAsNonRoot:             new(true),
		RunAsUser:                new(int64(IngressUID)),
		RunAsGroup:               new(int64(IngressUID)),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	c.VolumeMounts = nil
	if p.Credentials != nil {
		c.VolumeMounts = []corev1.VolumeMount{{Name: natsCredentialsVolume, MountPath: natsCredentialsDir, ReadOnly: true}}
	}
}

// mutatePodTemplate sets the fields of an ingress pod template the operator owns and
// keeps the rest (annotations and containers added by others, API server defaults).
func (p ingressPod) mutatePodTemplate(t *corev1.PodTemplateSpec) {
	t.Labels = mergeLabels(t.Labels, ingressLabels(p.SourceEnvironment))
	switch {
	case p.Credentials == nil:
		delete(t.Annotations, AnnotationNATSCredentials)
		if len(t.Annotations) == 0 {
			t.Annotations = nil
		}
	case p.CredentialsDigest != "":
		t.Annotations = mergeLabels(t.Annotations, map[string]string{AnnotationNATSCredentials: p.CredentialsDigest})
	}
	spec := &t.Spec
	spec.ServiceAccountName = ingressName(p.SourceEnvironment)
	spec.AutomountServiceAccountToken = new(true)
	spec.TerminationGracePeriodSeconds = new(ingressTerminationGracePeriod)
	spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   new(true),
		RunAsUser:      new(int64(IngressUID)),
		RunAsGroup:     new(int64(IngressUID)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}

	spec.Volumes = slices.DeleteFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == natsCredentialsVolume })
	if p.Credentials != nil {
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name: natsCredentialsVolume,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName:  p.Credentials.Name,
				Items:       []corev1.KeyToPath{{Key: secretKey(*p.Credentials), Path: "creds"}},
				DefaultMode: new(corev1.SecretVolumeSourceDefaultMode),
			}},
		})
	}
	if len(spec.Volumes) == 0 {
		spec.Volumes = nil
	}

	i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == IngressContainerName })
	if i < 0 {
		spec.Containers = append(spec.Containers, corev1.Container{})
		i = len(spec.Containers) - 1
	}
	p.mutateContainer(&spec.Containers[i])
}

// mutateDeployment sets the fields of an ingress Deployment the operator owns.
// replicas is spec.ingress.replicas: when nil, DefaultIngressReplicas is set on
// creation and the count is never touched afterwards, so that an autoscaler or a person
// owns it. The selector is set on creation only: it cannot change. A rolling update
// starts each new pod before it stops an old one, so that the ingress never has fewer
// ready pods than wanted.
func (p ingressPod) mutateDeployment(d *appsv1.Deployment, replicas *int32) {
	d.Labels = mergeLabels(d.Labels, ingressLabels(p.SourceEnvironment))
	creating := d.CreationTimestamp.IsZero()
	if creating {
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: ingressSelector(p.SourceEnvironment)}
	}
	switch {
	case replicas != nil:
		d.Spec.Replicas = new(*replicas)
	case creating:
		d.Spec.Replicas = new(int32(DefaultIngressReplicas))
	}
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	d.Spec.Strategy = appsv1.DeploymentStrategy{
		Type:          appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &one},
	}
	p.mutatePodTemplate(&d.Spec.Template)
}

// secretKey is a reference's key, "secret" when unset as the schema defaults it.
func secretKey(ref v1alpha1.SecretKeyReference) string {
	if ref.Key == "" {
		return "secret"
	}
	return ref.Key
}
