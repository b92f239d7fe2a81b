package controllers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	inletjs "inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/stats"
)

// reconcileSource reads the referenced Source; a missing one is reported by
// reconcileConfig, and the Source watch brings the environment back when it appears.
func (r *SourceEnvironmentReconciler) reconcileSource(ctx context.Context, s *sourceEnvironmentScope) (ctrl.Result, error) {
	src := &v1alpha1.Source{}
	err := r.client.Get(ctx, types.NamespacedName{Namespace: s.se.Namespace, Name: s.se.Spec.SourceRef.Name}, src)
	switch {
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("get source %s: %w", s.se.Spec.SourceRef.Name, err)
	}
	s.source = src
	return ctrl.Result{}, nil
}

// reconcileSecrets reads the Secrets the spec names. Missing ones are reported by
// reconcileConfig; the Secret watch brings the environment back when they appear.
func (r *SourceEnvironmentReconciler) reconcileSecrets(ctx context.Context, s *sourceEnvironmentScope) (ctrl.Result, error) {
	var errs []error
	for _, name := range referencedSecretNames(s.se) {
		sec := &corev1.Secret{}
		err := r.secrets.Get(ctx, types.NamespacedName{Namespace: s.se.Namespace, Name: name}, sec)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("get secret %s: %w", name, err))
			continue
		}
		s.secrets[name] = sec
	}
	return ctrl.Result{}, kerrors.NewAggregate(errs)
}

// reconcileEndpointToken makes sure a source that signs nothing has its endpoint token:
// 32 random bytes, base64url, in the Secret config.EndpointTokenSecretName, owned by
// the SourceEnvironment. An existing Secret is never overwritten, so deleting it is how
// a token is rotated. The token is never logged, put in status or in an Event.
func (r *SourceEnvironmentReconciler) reconcileEndpointToken(ctx context.Context, s *sourceEnvironmentScope) (ctrl.Result, error) {
	if !s.usesToken() {
		return ctrl.Result{}, nil
	}
	name := config.EndpointTokenSecretName(s.se.Name)
	sec := &corev1.Secret{}
	err := r.secrets.Get(ctx, types.NamespacedName{Namespace: s.se.Namespace, Name: name}, sec)
	switch {
	case err == nil:
		s.tokenSecret = sec
		return ctrl.Result{}, nil
	case !apierrors.IsNotFound(err):
		return ctrl.Result{}, fmt.Errorf("get endpoint token secret %s: %w", name, err)
	}
	token := config.NewEndpointToken()
	sec = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.se.Namespace, Labels: ingressLabels(s.se.Name)},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{config.EndpointTokenKey: []byte(token)},
	}
	if err := controllerutil.SetControllerReference(s.se, sec, r.scheme); err != nil {
		return ctrl.Result{}, fmt.Errorf("own endpoint token secret: %w", err)
	}
	if err := r.client.Create(ctx, sec); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Created meanwhile by an earlier reconcile; read it on the next one.
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, fmt.Errorf("create endpoint token secret %s: %w", name, err)
	}
	s.tokenSecret = sec
	r.recorder.Eventf(s.se, sec, corev1.EventTypeNormal, v1alpha1.EventEndpointTokenCreated, "CreateSecret",
		"generated the endpoint token into Secret %s (key %s); delete the Secret to rotate it", name, config.EndpointTokenKey)
	return ctrl.Result{}, nil
}

// reconcileConfig compiles this environment alone with config.Build, exactly as the
// ingress will, and keeps its verdict: a missing Source or Secret, a stripe source
// without signing secret, an invalid expression. It also checks the NATS credentials
// Secret, which the ingress reads from a mounted file.
func (r *SourceEnvironmentReconciler) reconcileConfig(ctx context.Context, s *sourceEnvironmentScope) (ctrl.Result, error) {
	in := config.Inputs{SourceEnvironments: []v1alpha1.SourceEnvironment{*s.se}}
	if s.source != nil {
		in.Sources = []v1alpha1.Source{*s.source}
	}
	for _, sec := range s.secrets {
		in.Secrets = append(in.Secrets, *sec)
	}
	if s.tokenSecret != nil {
		in.Secrets = append(in.Secrets, *s.tokenSecret)
	}
	for _, p := range config.Build(in).Problems {
		if p.Kind == "SourceEnvironment" {
			s.problem = &p
			break
		}
	}
	defaultURL, err := r.defaults.url(ctx)
	if err != nil {
		s.defaultURLErr = err
		s.natsErr = err
		return ctrl.Result{}, err
	}
	s.defaultURL = defaultURL
	s.nats, s.natsErr = natsTargetFor(s.se, defaultURL, func(name string) *corev1.Secret { return s.secrets[name] })
	if s.problem == nil && s.natsErr != nil && s.se.Spec.Publish.CredentialsSecretRef != nil {
		s.problem = &config.Problem{Reason: v1alpha1.ReasonSecretNotFound, Message: s.natsErr.Error()}
	}
	return ctrl.Result{}, nil
}

// natsTargetFor says where a SourceEnvironment's streams live: spec.publish.natsURL or
// the operator's default URL, with the credentials of spec.publish.credentialsSecretRef.
func natsTargetFor(se *v1alpha1.SourceEnvironment, defaultURL string, secret func(name string) *corev1.Secret) (natsTarget, error) {
	t := natsTarget{URL: se.Spec.Publish.NATSURL}
	if t.URL == "" {
		t.URL = defaultURL
	}
	ref := se.Spec.Publish.CredentialsSecretRef
	if ref == nil {
		return t, nil
	}
	sec := secret(ref.Name)
	if sec == nil {
		return t, fmt.Errorf("publish.credentialsSecretRef: Secret %q not found", ref.Name)
	}
	creds, ok := sec.Data[secretKey(*ref)]
	if !ok || len(creds) == 0 {
		return t, fmt.Errorf("publish.credentialsSecretRef: Secret %q has no key %q", ref.Name, secretKey(*ref))
	}
	t.Credentials = creds
	return t, nil
}

// natsTarget reads a SourceEnvironment's NATS target outside a reconcile's scope.
func (r *SourceEnvironmentReconciler) natsTarget(ctx context.Context, se *v1alpha1.SourceEnvironment) (natsTarget, error) {
	defaultURL, err := r.defaults.url(ctx)
	if err != nil {
		return natsTarget{}, err
	}
	return natsTargetFor(se, defaultURL, func(name string) *corev1.Secret {
		sec := &corev1.Secret{}
		if err := r.secrets.Get(ctx, types.NamespacedName{Namespace: se.Namespace, Name: name}, sec); err != nil {
			return nil
		}
		return sec
	})
}

// reconcileIngress applies the objects of the ingress: a ServiceAccount, a Role that
// reads only this namespace's inlet resources and exactly the referenced Secrets, its
// RoleBinding, the Deployment, its Service, and a PodDisruptionBudget while there is
// more than one replica. Each is owned by the SourceEnvironment and only the fields
// the operator owns are set. Nothing is created in in-process mode.
func (r *SourceEnvironmentReconciler) reconcileIngress(ctx context.Context, s *sourceEnvironmentScope) (ctrl.Result, error) {
	if r.opts.InProcessIngress {
		return ctrl.Result{}, nil
	}
	se := s.se
	name := ingressName(se.Name)
	objectMeta := func() metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: se.Namespace} }
	var errs []error

	sa := &corev1.ServiceAccount{ObjectMeta: objectMeta()}
	errs = append(errs, r.apply(ctx, se, sa, func() { mutateServiceAccount(sa, se.Name) }))

	role := &rbacv1.Role{ObjectMeta: objectMeta()}
	secretNames := ingressSecretNames(se, s.usesToken())
	errs = append(errs, r.apply(ctx, se, role, func() { mutateRole(role, se.Name, secretNames) }))

	rb := &rbacv1.RoleBinding{ObjectMeta: objectMeta()}
	errs = append(errs, r.apply(ctx, se, rb, func() { mutateRoleBinding(rb, se.Name) }))

	dep := &appsv1.Deployment{ObjectMeta: objectMeta()}
	pod := ingressPod{
		SourceEnvironment: se.Name,
		Image:             r.opts.IngressImage,
		NATSURL:           s.nats.URL,
		Credentials:       se.Spec.Publish.CredentialsSecretRef,
		CredentialsDigest: credentialsDigest(s.nats.Credentials),
		Resources:         se.Spec.Ingress.Resources,
		Partitions:        r.opts.Streams.Partitions,
	}
	switch {
	case s.defaultURLErr != nil:
		// The NATS URL is unknown, so the pod template cannot be written: keep the
		// Deployment as it is, and retry.
		if err := r.client.Get(ctx, client.ObjectKeyFromObject(dep), dep); err == nil {
			s.deployment = dep
		}
	default:
		if err := r.apply(ctx, se, dep, func() { pod.mutateDeployment(dep, se.Spec.Ingress.Replicas) }); err != nil {
			errs = append(errs, err)
		} else {
			s.deployment = dep
		}
	}

	svc := &corev1.Service{ObjectMeta: objectMeta()}
	errs = append(errs, r.apply(ctx, se, svc, func() { mutateService(svc, se.Name) }))

	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta()}
	if s.deployment != nil && replicasOf(s.deployment) > 1 {
		errs = append(errs, r.apply(ctx, se, pdb, func() { mutatePDB(pdb, se.Name) }))
	} else {
		errs = append(errs, r.deleteOwned(ctx, se, pdb))
	}
	return ctrl.Result{}, kerrors.NewAggregate(errs)
}

// replicasOf is a Deployment's desired replica count, 1 when unset as the API server
// defaults it.
func replicasOf(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// apply creates obj or updates the fields mutate sets, and makes the SourceEnvironment
// its controller. An update is sent only when something changed.
func (r *SourceEnvironmentReconciler) apply(ctx context.Context, se *v1alpha1.SourceEnvironment, obj client.Object, mutate func()) error {
	op, err := controllerutil.CreateOrUpdate(ctx, r.client, obj, func() error {
		mutate()
		return controllerutil.SetControllerReference(se, obj, r.scheme)
	})
	if err != nil {
		return fmt.Errorf("apply %T %s: %w", obj, obj.GetName(), err)
	}
	if op != controllerutil.OperationResultNone {
		logf.FromContext(ctx).V(1).Info("applied ingress object", "kind", fmt.Sprintf("%T", obj), "name", obj.GetName(), "operation", op)
	}
	return nil
}

// deleteOwned deletes obj when it exists and the SourceEnvironment controls it.
func (r *SourceEnvironmentReconciler) deleteOwned(ctx context.Context, se *v1alpha1.SourceEnvironment, obj client.Object) error {
	if err := r.client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return client.IgnoreNotFound(err)
	}
	if ref := metav1.GetControllerOf(obj); ref == nil || ref.UID != se.UID {
		return nil
	}
	if err := r.client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

// reconcileStreams ensures the action stream and the log stream exist with the
// configuration wanted. A stream may be shared by SourceEnvironments of any namespace
// publishing to the same NATS, so its duplicate window is the longest idempotency
// window among them and the log retention the longest retention. An Event says when a
// stream was created, re-created (it had been ready: someone deleted it) or updated.
// A NATS failure is reported in StreamsReady, not returned: retrying sooner than the
// resync would not bring NATS back.
func (r *SourceEnvironmentReconciler) reconcileStreams(ctx context.Context, s *sourceEnvironmentScope) (ctrl.Result, error) {
	if s.natsErr != nil {
		s.streamsErr = fmt.Errorf("%w: %w", inletjs.ErrUnavailable, s.natsErr)
		return ctrl.Result{}, nil
	}
	var all v1alpha1.SourceEnvironmentList
	if err := r.client.List(ctx, &all); err != nil {
		return ctrl.Result{}, fmt.Errorf("list sourceenvironments: %w", err)
	}
	needs := streamNeedsFor(s.se, all.Items, s.defaultURL, r.opts.Streams)
	// A stream created while StreamsReady said it existed, for this same spec, or that
	// this operator has seen before, had been deleted behind the operator's back.
	c := meta.FindStatusCondition(s.before.Status.Conditions, v1alpha1.ConditionStreamsReady)
	wasReady := c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == s.se.Generation
	wants := needs.streams(s.se)
	results := map[inletjs.EnsureResult][]string{}
	have := make([]jetstream.StreamConfig, len(wants))
	s.streamsErr = r.nats.WithJetStream(ctx, s.nats, func(ctx context.Context, js jetstream.JetStream) error {
		for i, w := range wants {
			if w.cfg.AllowAtomicPublish && !inletjs.AtomicBatches(js.Conn()) {
				// A server before 2.12 has no atomic batches: the ingress
				// publishes an event's actions one at a time instead.
				w.cfg.AllowAtomicPublish = false
				wants[i] = w
			}
			res, err := inletjs.EnsureStream(ctx, js, w.cfg)
			if err != nil {
				return err
			}
			if res == inletjs.StreamCreated && r.streamsSeen.seen(s.nats.URL, w.cfg.Name) {
				res = streamRecreated
			}
			r.streamsSeen.remember(s.nats.URL, w.cfg.Name)
			results[res] = append(results[res], w.cfg.Name)
			// Read back what the stream has: replicas, storage and placement may be
			// more than asked, as a stream is never downgraded.
			st, err := js.Stream(ctx, w.cfg.Name)
			if err != nil {
				return fmt.Errorf("get stream %s: %w", w.cfg.Name, err)
			}
			have[i] = st.CachedInfo().Config
		}
		return nil
	})
	if u := inletjs.RedactURLs(s.nats.URL); s.streamsErr != nil && !strings.Contains(s.streamsErr.Error(), u) {
		// Name the server, without credentials, unless the error already does.
		s.streamsErr = fmt.Errorf("NATS at %s: %w", u, s.streamsErr)
	}
	if wasReady {
		results[streamRecreated] = append(results[streamRecreated], results[inletjs.StreamCreated]...)
		delete(results, inletjs.StreamCreated)
	}
	r.recordStreamResults(ctx, s.se, results)
	if s.streamsErr == nil {
		s.streams = describeStreams(wants, have)
	}
	return ctrl.Result{}, nil
}

// describeStreams says, for StreamsReady, what the streams are: their replicas,
// storage, placement, duplicate window or retention and size bound, and where a
// stream keeps more than was asked because the operator never downgrades one.
func describeStreams(wants []streamWant, have []jetstream.StreamConfig) string {
	parts := make([]string, 0, len(wants))
	// The partitions of an action stream are described once when they are alike:
	// partitions are the names of such a run, and runText their description.
	var partitions []string
	var runText string
	for i, w := range wants {
		h := have[i]
		attrs := []string{fmt.Sprintf("R%d", max(h.Replicas, 1))}
		if h.Replicas > w.cfg.Replicas {
			attrs[0] += fmt.Sprintf(" (R%d asked: replicas are never lowered)", w.cfg.Replicas)
		}
		attrs = append(attrs, strings.ToLower(h.Storage.String())+" storage")
		if h.Storage != w.cfg.Storage && w.storageAsked {
			attrs[len(attrs)-1] += fmt.Sprintf(" (%s asked: JetStream cannot change an existing stream's storage; delete the stream to recreate it)",
				w.cfg.Storage.String())
		}
		if p := h.Placement; p != nil && (p.Cluster != "" || len(p.Tags) > 0) {
			attrs = append(attrs, "placed"+placementText(p))
		}
		if w.actions {
			attrs = append(attrs, fmt.Sprintf("duplicate window %s", h.Duplicates))
			if !h.AllowAtomicPublish {
				attrs = append(attrs, "no atomic batches: each event's actions are published one at a time "+
					"(NATS 2.12 or later stores them all or none)")
			}
		} else {
			attrs = append(attrs, fmt.Sprintf("retention %s", h.MaxAge))
			if h.MaxBytes > 0 {
				attrs = append(attrs, "at most "+resource.NewQuantity(h.MaxBytes, resource.BinarySI).String())
			}
		}
		text := strings.Join(attrs, ", ")
		if w.actions && len(wants) > 2 {
			if len(partitions) > 0 && text == runText {
				partitions = append(partitions, h.Name)
				parts[len(parts)-1] = fmt.Sprintf("streams %s to %s (%d partitions, %s)", partitions[0], h.Name, len(partitions), text)
				continue
			}
			partitions, runText = []string{h.Name}, text
		}
		parts = append(parts, fmt.Sprintf("stream %s (%s)", h.Name, text))
	}
	return strings.Join(parts, " and ") + " exist"
}

// placementText is " in cluster C with tags a, b" for a placement.
func placementText(p *jetstream.Placement) string {
	var s string
	if p.Cluster != "" {
		s += " in cluster " + p.Cluster
	}
	if len(p.Tags) > 0 {
		s += " on servers tagged " + strings.Join(p.Tags, ", ")
	}
	return s
}

// streamRecreated marks a stream EnsureStream created that had existed before.
const streamRecreated inletjs.EnsureResult = "Recreated"

// recordStreamResults records one Event for the streams created, one for those
// re-created and one for those updated: Events of the same reason about one object are
// merged into a series, which would hide the second stream's name.
func (r *SourceEnvironmentReconciler) recordStreamResults(
	ctx context.Context, se *v1alpha1.SourceEnvironment, results map[inletjs.EnsureResult][]string,
) {
	if created := results[inletjs.StreamCreated]; len(created) > 0 {
		logf.FromContext(ctx).Info("streams created", "streams", created)
		r.recorder.Eventf(se, nil, corev1.EventTypeNormal, v1alpha1.EventStreamCreated, "EnsureStream",
			"created JetStream %s", streamList(created))
	}
	if recreated := results[streamRecreated]; len(recreated) > 0 {
		logf.FromContext(ctx).Info("streams re-created", "streams", recreated)
		r.recorder.Eventf(se, nil, corev1.EventTypeNormal, v1alpha1.EventStreamRecreated, "EnsureStream",
			"re-created JetStream %s, which had disappeared", streamList(recreated))
	}
	if updated := results[inletjs.StreamUpdated]; len(updated) > 0 {
		logf.FromContext(ctx).Info("streams updated", "streams", updated)
		r.recorder.Eventf(se, nil, corev1.EventTypeNormal, v1alpha1.EventStreamUpdated, "EnsureStream",
			"updated JetStream %s to the settings wanted (duplicate window, retention, size, replicas, placement)", streamList(updated))
	}
}

// streamMemory remembers the streams this operator has seen exist, by server and
// name, so that one created again is known to have been deleted meanwhile. It is safe
// for concurrent use.
type streamMemory struct{ m sync.Map }

func (s *streamMemory) remember(url, stream string) { s.m.Store(url+"\x00"+stream, struct{}{}) }

func (s *streamMemory) seen(url, stream string) bool {
	_, ok := s.m.Load(url + "\x00" + stream)
	return ok
}

// streamList names streams for an Event: "stream A" or "streams A and B".
func streamList(names []string) string {
	if len(names) == 1 {
		return "stream " + names[0]
	}
	return "streams " + strings.Join(names, " and ")
}

// streamNeeds is what the streams of one SourceEnvironment must provide.
type streamNeeds struct {
	// partitions is the number of streams the SourceEnvironment's actions are
	// split into.
	partitions      int
	duplicateWindow time.Duration
	logRetention    time.Duration
	logMaxBytes     int64
	actions, logs   streamSettings
	defaults        StreamDefaults
}

// streamSettings are the settings asked for one stream: the highest replicas among
// the SourceEnvironments sharing it (each asking its own or the default), and the
// storage and placement of the first of them that sets them.
type streamSettings struct {
	replicas int32
	// storage is set when a SourceEnvironment asks for it: then it is required.
	storage   v1alpha1.StreamStorage
	placement *v1alpha1.StreamPlacement
}

// add merges one SourceEnvironment's settings, in namespace and name order.
func (s *streamSettings) add(spec v1alpha1.StreamSettings, d StreamDefaults) {
	replicas := d.Replicas
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	s.replicas = max(s.replicas, replicas, 1)
	if s.storage == "" {
		s.storage = spec.Storage
	}
	if s.placement == nil {
		s.placement = spec.Placement
	}
}

// streamWant is a stream's configuration, whether a SourceEnvironment asked for its
// storage (rather than the default applying), and whether it holds actions.
type streamWant struct {
	cfg          jetstream.StreamConfig
	storageAsked bool
	actions      bool
}

// streams returns the configurations of the action stream (or of each of its
// partitions) and of the log stream.
func (n streamNeeds) streams(se *v1alpha1.SourceEnvironment) []streamWant {
	var wants []streamWant
	for _, cfg := range inletjs.ActionStreamConfigs(se.Spec.ActionStream(), n.partitions, n.duplicateWindow, 1, jetstream.FileStorage) {
		w := n.actions.apply(cfg, n.defaults)
		w.actions = true
		wants = append(wants, w)
	}
	logs := n.logs.apply(inletjs.LogStreamConfig(se.Spec.LogStream(), n.logRetention, 1, jetstream.FileStorage), n.defaults)
	logs.cfg.MaxBytes = n.logMaxBytes
	return append(wants, logs)
}

// apply sets replicas, storage and placement on cfg. The storage is used to create
// the stream: JetStream cannot change it in place, so a stream found with another one
// keeps it and StreamsReady's message says so when a SourceEnvironment asked for it.
// Without a placement asked the default one applies, or none (the stream keeps its
// own).
func (s streamSettings) apply(cfg jetstream.StreamConfig, d StreamDefaults) streamWant {
	w := streamWant{cfg: cfg}
	w.cfg.Replicas = int(max(s.replicas, 1))
	storage := s.storage
	if storage != "" {
		w.storageAsked = true
	} else {
		storage = d.Storage
	}
	if storage == v1alpha1.StreamStorageMemory {
		w.cfg.Storage = jetstream.MemoryStorage
	} else {
		w.cfg.Storage = jetstream.FileStorage
	}
	p := s.placement
	if p == nil {
		p = d.Placement
	}
	if p != nil {
		w.cfg.Placement = &jetstream.Placement{Cluster: p.Cluster, Tags: slices.Clone(p.Tags)}
	}
	return w
}

// streamNeedsFor returns what the streams se publishes to must provide, over every
// SourceEnvironment that shares them (the same stream name on the same NATS): the
// longest idempotency window for the action stream, the longest retention and largest
// size bound for the log stream, and for each the settings of streamSettings.
// Environments being deleted no longer count.
func streamNeedsFor(se *v1alpha1.SourceEnvironment, all []v1alpha1.SourceEnvironment, defaultURL string, d StreamDefaults) streamNeeds {
	url := func(e *v1alpha1.SourceEnvironment) string {
		if e.Spec.Publish.NATSURL != "" {
			return e.Spec.Publish.NATSURL
		}
		return defaultURL
	}
	logMaxBytes := func(e *v1alpha1.SourceEnvironment) int64 {
		if q := e.Spec.Publish.LogMaxBytes; q != nil && q.Value() > 0 {
			return q.Value()
		}
		if d.LogMaxBytes > 0 {
			return d.LogMaxBytes
		}
		return inletjs.DefaultLogMaxBytes
	}
	// se itself counts even when the list does not have it yet; the list's copy of
	// it is older than se.
	sharing := []*v1alpha1.SourceEnvironment{se}
	for i := range all {
		o := &all[i]
		if o.Namespace == se.Namespace && o.Name == se.Name {
			continue
		}
		if o.DeletionTimestamp.IsZero() && url(o) == url(se) {
			sharing = append(sharing, o)
		}
	}
	slices.SortFunc(sharing, func(a, b *v1alpha1.SourceEnvironment) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	needs := streamNeeds{defaults: d, partitions: int(se.Spec.ActionPartitions(d.Partitions))}
	var shared config.StreamNeeds
	for _, o := range sharing {
		shared.Add(o.Spec.ActionStream(), int(o.Spec.ActionPartitions(d.Partitions)), o.Spec.IdempotencyWindow(),
			o.Spec.LogStream(), o.Spec.LogRetention())
		if o.Spec.ActionStream() == se.Spec.ActionStream() {
			needs.actions.add(o.Spec.Publish.ActionStreamSettings, d)
		}
		if o.Spec.LogStream() == se.Spec.LogStream() {
			needs.logMaxBytes = max(needs.logMaxBytes, logMaxBytes(o))
			needs.logs.add(o.Spec.Publish.LogStreamSettings, d)
		}
	}
	needs.duplicateWindow = shared.ActionStreams[se.Spec.ActionStream()]
	needs.logRetention = shared.LogStreams[se.Spec.LogStream()]
	return needs
}

// reconcileMappings counts the environment's EventMappings that compile: those the
// ingress serves.
func (r *SourceEnvironmentReconciler) reconcileMappings(ctx context.Context, s *sourceEnvironmentScope) (ctrl.Result, error) {
	var list v1alpha1.EventMappingList
	if err := r.client.List(ctx, &list, client.InNamespace(s.se.Namespace),
		client.MatchingFields{indexMappingSourceEnvironment: s.se.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list eventmappings: %w", err)
	}
	var n int32
	for i := range list.Items {
		m := &list.Items[i]
		if m.DeletionTimestamp.IsZero() && r.compiled.compile(m) == nil {
			n++
		}
	}
	s.mappings = n
	return ctrl.Result{}, nil
}

// reconcileStats reads the ingress counters from the INLET_STATS bucket, and counts
// the idempotency keys the action stream holds: the messages it stored within its
// duplicate window. NATS failures leave both as they were: StreamsReady reports them.
func (r *SourceEnvironmentReconciler) reconcileStats(ctx context.Context, s *sourceEnvironmentScope) (ctrl.Result, error) {
	if s.natsErr != nil || errors.Is(s.streamsErr, inletjs.ErrUnavailable) {
		return ctrl.Result{}, nil
	}
	var report stats.Report
	var keys keysHeld
	now := r.clock.Now()
	err := r.nats.WithJetStream(ctx, s.nats, func(ctx context.Context, js jetstream.JetStream) error {
		var err error
		if report, err = stats.Read(ctx, js, s.se.Namespace, s.se.Name); err != nil {
			return err
		}
		if !s.se.Spec.IdempotencyEnabled() {
			return nil
		}
		n := int(s.se.Spec.ActionPartitions(r.opts.Streams.Partitions))
		for p := range n {
			k, err := countKeysHeld(ctx, js, inletjs.PartitionStream(s.se.Spec.ActionStream(), p, n), now)
			if err != nil {
				return err
			}
			keys.add(k, n)
		}
		return nil
	})
	if err != nil {
		logf.FromContext(ctx).V(1).Info("cannot read counters", "error", err.Error())
		return ctrl.Result{}, nil
	}
	s.report = &report
	s.keys = &keys
	return ctrl.Result{}, nil
}

// keysHeld is what an action stream's duplicate window holds.
type keysHeld struct {
	// stream is the action stream, and window its duplicate window.
	stream string
	window time.Duration
	// messages is the number of messages stored within the window, and count the
	// ids among them: an event's actions are stored under one id (on the first of
	// them), each kept in the stream's duplicate table until the window has passed.
	messages, count int64
	// partitions is the number of partitions counted, and largest the ids the
	// fullest of them holds: what a server holding one of its replicas keeps.
	partitions int
	largest    int64
}

// add counts the keys another partition of the action stream holds, of partitions.
func (k *keysHeld) add(o keysHeld, partitions int) {
	k.messages += o.messages
	k.count += o.count
	k.window = max(k.window, o.window)
	k.partitions = max(partitions, 1)
	k.largest = max(k.largest, o.count)
	switch {
	case partitions < 2:
		k.stream = o.stream
	case k.stream == "":
		k.stream = o.stream
	default:
		k.stream = fmt.Sprintf("%s to %s (%d partitions)", strings.Fields(k.stream)[0], o.stream, partitions)
	}
}

// natsBytesPerID is what one id held in a duplicate window costs a NATS server that
// holds a replica of the stream, in resident memory: 245 bytes (R1) and 284 (R3),
// measured by BenchmarkWindowCapacity (docs/benchmarks.md).
const natsBytesPerID = 284

// idSample bounds the newest messages countKeysHeld reads to learn which share of
// the messages carries an id.
const idSample = 256

// countKeysHeld counts the ids stream holds in its duplicate window: the messages it
// stored since now minus the window (the stream's message count when every message
// is that recent; otherwise the pending count of a throwaway consumer starting at
// that time), times the share of the newest of them (up to idSample, headers only)
// that carry a Nats-Msg-Id. A missing stream holds none.
func countKeysHeld(ctx context.Context, js jetstream.JetStream, stream string, now time.Time) (keysHeld, error) {
	st, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return keysHeld{stream: stream}, nil
	}
	if err != nil {
		return keysHeld{}, fmt.Errorf("read stream %s: %w", stream, err)
	}
	info := st.CachedInfo()
	k := keysHeld{stream: stream, window: info.Config.Duplicates}
	from := now.Add(-k.window)
	switch {
	case info.State.Msgs == 0 || info.State.LastTime.Before(from):
		return k, nil
	case !info.State.FirstTime.Before(from):
		k.messages = int64(info.State.Msgs)
	default:
		cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{
			DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
			OptStartTime:      &from,
			AckPolicy:         jetstream.AckNonePolicy,
			MemoryStorage:     true,
			InactiveThreshold: 10 * time.Second,
		})
		if err != nil {
			return keysHeld{}, fmt.Errorf("count messages of stream %s since %s: %w", stream, from.Format(time.RFC3339), err)
		}
		ci := cons.CachedInfo()
		// Best effort: the inactive threshold removes it anyway.
		_ = st.DeleteConsumer(ctx, ci.Name)
		k.messages = int64(ci.NumPending)
	}
	share, err := idShare(ctx, st, info.State.LastSeq, min(k.messages, idSample))
	if err != nil {
		return keysHeld{}, fmt.Errorf("sample message ids of stream %s: %w", stream, err)
	}
	k.count = int64(float64(k.messages)*share + 0.5)
	return k, nil
}

// idShare reads the headers of the n messages of st up to sequence last and returns
// the share of them that carry a Nats-Msg-Id; 1 when there are none to read.
func idShare(ctx context.Context, st jetstream.Stream, last uint64, n int64) (float64, error) {
	if n <= 0 || last < uint64(n) {
		return 1, nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   last - uint64(n) + 1,
		HeadersOnly:   true,
	})
	if err != nil {
		return 0, err
	}
	batch, err := cons.Fetch(int(n), jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		return 0, err
	}
	var read, withID int
	for m := range batch.Messages() {
		read++
		if m.Headers().Get(jetstream.MsgIDHeader) != "" {
			withID++
		}
	}
	if err := batch.Error(); err != nil && read == 0 {
		return 0, err
	}
	if read == 0 {
		return 1, nil
	}
	return float64(withID) / float64(read), nil
}
