// Package config compiles inlet's resources into the immutable snapshot the ingress
// serves from: for each SourceEnvironment, its verifier, its CEL programs, and its
// EventMappings indexed by event type. The operator compiles with the same code to
// validate, so a mapping the operator reports Ready is exactly what the ingress runs.
//
// Building never fails as a whole: a resource that does not compile is reported in
// Snapshot.Problems and skipped, and never takes the others down.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/celext"
	"inlet.dev/inlet/ingress/events"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/ingress/ratelimit"
	"inlet.dev/inlet/ingress/verify"
)

// EndpointTokenKey is the key of the endpoint token in its Secret.
const EndpointTokenKey = "token"

// EndpointTokenSecretName is the name of the Secret holding a SourceEnvironment's
// endpoint token, for sources that sign nothing.
func EndpointTokenSecretName(sourceEnvironment string) string {
	return sourceEnvironment + "-endpoint-token"
}

// Inputs are the resources an ingress serves: SourceEnvironments with the Sources,
// EventMappings and Secrets they refer to. Objects of other namespaces than their
// referrer are ignored.
type Inputs struct {
	Sources            []v1alpha1.Source
	SourceEnvironments []v1alpha1.SourceEnvironment
	EventMappings      []v1alpha1.EventMapping
	Secrets            []corev1.Secret
	// Partitions is the number of partitions of the action stream of a
	// SourceEnvironment that does not set spec.publish.partitions (the operator's
	// --action-partitions); 0 means 1.
	Partitions int32
}

// Problem is a resource that could not be compiled, with the reason and message its
// Ready condition should carry.
type Problem struct {
	Kind       string
	Object     types.NamespacedName
	Generation int64
	Reason     string
	Message    string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s %s: %s: %s", p.Kind, p.Object, p.Reason, p.Message)
}

// Snapshot is a compiled, immutable configuration. It is safe for concurrent use.
type Snapshot struct {
	environments map[types.NamespacedName]*Environment
	// Problems lists the resources that were skipped, in a stable order.
	Problems []Problem
	// Built is when the snapshot was compiled.
	Built time.Time
}

// Environment is one compiled SourceEnvironment: everything the data path needs for an
// event sent to its endpoint.
type Environment struct {
	// Key is the SourceEnvironment's namespace and name.
	Key types.NamespacedName
	// Generation is the SourceEnvironment's metadata.generation.
	Generation int64
	// Environment is spec.environment (production, development, ...).
	Environment string
	// Source is the Source's name, and SourceType its type.
	Source     string
	SourceType v1alpha1.SourceType

	// Verifier checks every request's authenticity.
	Verifier verify.Verifier
	// EndpointToken is the token the endpoint's URL must carry; empty for sources that
	// sign their requests.
	EndpointToken string
	// UsesEndpointToken says the source signs nothing and needs EndpointToken.
	UsesEndpointToken bool

	// IdempotencyEnabled and IdempotencyWindow control de-duplication.
	IdempotencyEnabled bool
	IdempotencyWindow  time.Duration
	// IdentifyUsers turns CDP identify calls into identifyUser actions.
	IdentifyUsers bool
	// MaxBodySize is the largest request body accepted, in bytes.
	MaxBodySize int64
	// RateLimit bounds the requests accepted per second; unlimited when zero.
	RateLimit ratelimit.Limit
	// ActionStream and LogStream are the JetStream streams published to.
	ActionStream string
	LogStream    string
	// Partitions is the number of streams the action stream is split into
	// (spec.publish.partitions); 1 publishes to ActionStream itself.
	Partitions int
	// LogRetention is how long event and action logs are kept.
	LogRetention time.Duration
	// Vars are the variables CEL sees as vars; secret values among them.
	Vars map[string]string
	// Redaction is what of its requests must never reach the event log.
	Redaction *Redaction

	// Describer finds each event's type, idempotency key, user id and data, as the
	// Source's provider says.
	Describer provider.Describer
	// Handshake answers the sender's endpoint handshake; nil when there is none.
	Handshake provider.Handshake
	// Reads are the parts of each payload the environment reads (its provider, its
	// mappings' expressions, identifyUsers), which are all the data path decodes of a
	// body ([events.DecodePaths]); nil reads the whole payload.
	Reads *events.Paths

	mappings map[string][]*Mapping
	count    int
}

// Mapping is one compiled EventMapping.
type Mapping struct {
	Name       string
	Generation int64
	EventType  string
	When       *celext.Program
	// Actions are in publishing order (v1alpha1.ActionOrder), stable for equal kinds.
	Actions []Action
}

// Action is one compiled action of a mapping.
type Action struct {
	Kind v1alpha1.ActionKind
	// Position is the action's index in spec.actions; it is part of the message id, so
	// reordering a mapping's actions re-keys them.
	Position int
	// Literals are the action's literal names: workflow, collection, audience.
	Literals map[string]string
	// Fields are the action's CEL fields that are set, in v1alpha1.ActionTypes order.
	Fields []Field
}

// Field is one compiled CEL field of an action.
type Field struct {
	// ActionField describes the field: name, type, whether required, bounds.
	*v1alpha1.ActionField
	Program *celext.Program
}

// Lookup returns the compiled SourceEnvironment, or nil when there is none (or it was
// skipped for a problem).
func (s *Snapshot) Lookup(key types.NamespacedName) *Environment {
	if s == nil {
		return nil
	}
	return s.environments[key]
}

// Environments returns the compiled SourceEnvironments in name order.
func (s *Snapshot) Environments() []*Environment {
	out := make([]*Environment, 0, len(s.environments))
	for _, e := range s.environments {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Environment) int {
		return cmp.Or(cmp.Compare(a.Key.Namespace, b.Key.Namespace), cmp.Compare(a.Key.Name, b.Key.Name))
	})
	return out
}

// Mappings returns the mappings for an event type, in name order. The lookup is a map
// access: its cost does not grow with the number of mappings installed.
func (e *Environment) Mappings(eventType string) []*Mapping {
	return e.mappings[eventType]
}

// MappingCount is the number of compiled mappings.
func (e *Environment) MappingCount() int { return e.count }

// Build compiles the inputs. It never fails as a whole: what cannot be compiled is
// listed in Problems and left out.
func Build(in Inputs) *Snapshot {
	env, err := celext.NewEnv()
	if err != nil {
		// The environment is built from code alone; failing here is a programming error
		// that every test would catch.
		panic(fmt.Sprintf("build CEL environment: %v", err))
	}
	b := &builder{
		env:        env,
		partitions: in.Partitions,
		sources:    map[types.NamespacedName]*v1alpha1.Source{},
		secrets:    map[types.NamespacedName]*corev1.Secret{},
		snapshot:   &Snapshot{environments: map[types.NamespacedName]*Environment{}, Built: time.Now()},
	}
	for i := range in.Sources {
		s := &in.Sources[i]
		b.sources[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}
	for i := range in.Secrets {
		s := &in.Secrets[i]
		b.secrets[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = s
	}
	for i := range in.SourceEnvironments {
		se := &in.SourceEnvironments[i]
		key := types.NamespacedName{Namespace: se.Namespace, Name: se.Name}
		e, problem := b.environment(se)
		if problem != nil {
			problem.Kind, problem.Object, problem.Generation = "SourceEnvironment", key, se.Generation
			b.snapshot.Problems = append(b.snapshot.Problems, *problem)
			continue
		}
		b.snapshot.environments[key] = e
	}
	for i := range in.EventMappings {
		m := &in.EventMappings[i]
		key := types.NamespacedName{Namespace: m.Namespace, Name: m.Spec.SourceEnvironmentRef.Name}
		report := func(reason, msg string) {
			b.snapshot.Problems = append(b.snapshot.Problems, Problem{
				Kind: "EventMapping", Object: types.NamespacedName{Namespace: m.Namespace, Name: m.Name},
				Generation: m.Generation, Reason: reason, Message: msg,
			})
		}
		compiled, err := CompileMapping(env, m)
		if err != nil {
			report(v1alpha1.ReasonInvalidExpression, err.Error())
			continue
		}
		e := b.snapshot.environments[key]
		if e == nil {
			report(v1alpha1.ReasonSourceEnvironmentNotFound,
				fmt.Sprintf("SourceEnvironment %q is not served: it does not exist or is not ready", key.Name))
			continue
		}
		e.mappings[m.Spec.EventType] = append(e.mappings[m.Spec.EventType], compiled)
		e.count++
	}
	for _, e := range b.snapshot.environments {
		for _, ms := range e.mappings {
			slices.SortFunc(ms, func(a, b *Mapping) int { return cmp.Compare(a.Name, b.Name) })
		}
		e.Reads = e.bodyReads()
	}
	slices.SortFunc(b.snapshot.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Object.Namespace, b.Object.Namespace), cmp.Compare(a.Object.Name, b.Object.Name))
	})
	return b.snapshot
}

type builder struct {
	env        *cel.Env
	partitions int32
	sources    map[types.NamespacedName]*v1alpha1.Source
	secrets    map[types.NamespacedName]*corev1.Secret
	snapshot   *Snapshot
}

// secretValue reads one key of a Secret, trimming the trailing newline that files
// turned into Secrets often carry.
func (b *builder) secretValue(namespace string, ref v1alpha1.SecretKeyReference) (string, error) {
	key := cmp.Or(ref.Key, "secret")
	s := b.secrets[types.NamespacedName{Namespace: namespace, Name: ref.Name}]
	if s == nil {
		return "", fmt.Errorf("Secret %q not found", ref.Name)
	}
	if v, ok := SecretKeyValue(s, key); ok {
		return v, nil
	}
	return "", fmt.Errorf("Secret %q has no key %q", ref.Name, key)
}

// SecretKeyValue reads one key of a Secret as the API server would store it
// (stringData wins over data), trimming the trailing newline that files turned into
// Secrets often carry.
func SecretKeyValue(s *corev1.Secret, key string) (string, bool) {
	if v, ok := s.StringData[key]; ok {
		return strings.TrimRight(v, "\r\n"), true
	}
	if v, ok := s.Data[key]; ok {
		return strings.TrimRight(string(v), "\r\n"), true
	}
	return "", false
}

func (b *builder) environment(se *v1alpha1.SourceEnvironment) (*Environment, *Problem) {
	ns := se.Namespace
	src := b.sources[types.NamespacedName{Namespace: ns, Name: se.Spec.SourceRef.Name}]
	if src == nil {
		return nil, &Problem{Reason: v1alpha1.ReasonSourceNotFound, Message: fmt.Sprintf("Source %q not found", se.Spec.SourceRef.Name)}
	}
	var secrets []string
	for _, ref := range se.Spec.SigningSecretRefs {
		v, err := b.secretValue(ns, ref)
		if err != nil {
			return nil, &Problem{Reason: v1alpha1.ReasonSecretNotFound, Message: "signingSecretRefs: " + err.Error()}
		}
		secrets = append(secrets, v)
	}
	vars := make(map[string]string, len(se.Spec.Variables))
	var secretVars []string
	for _, v := range se.Spec.Variables {
		switch {
		case v.Value != nil:
			vars[v.Name] = *v.Value
		case v.SecretKeyRef != nil:
			val, err := b.secretValue(ns, *v.SecretKeyRef)
			if err != nil {
				return nil, &Problem{Reason: v1alpha1.ReasonSecretNotFound, Message: fmt.Sprintf("variables[%s]: %v", v.Name, err)}
			}
			vars[v.Name] = val
			secretVars = append(secretVars, val)
		}
	}
	e := &Environment{
		Key:                types.NamespacedName{Namespace: ns, Name: se.Name},
		Generation:         se.Generation,
		Environment:        se.Spec.Environment,
		Source:             src.Name,
		SourceType:         src.Spec.Type,
		UsesEndpointToken:  provider.UsesEndpointToken(&src.Spec),
		IdempotencyEnabled: se.Spec.IdempotencyEnabled(),
		IdempotencyWindow:  se.Spec.IdempotencyWindow(),
		IdentifyUsers:      se.Spec.IdentifyUsers,
		MaxBodySize:        se.Spec.MaxBodySize(),
		RateLimit:          rateLimit(se.Spec.Ingress.RateLimit),
		ActionStream:       se.Spec.ActionStream(),
		Partitions:         int(se.Spec.ActionPartitions(b.partitions)),
		LogStream:          se.Spec.LogStream(),
		LogRetention:       se.Spec.LogRetention(),
		Vars:               vars,
		mappings:           map[string][]*Mapping{},
	}
	if e.UsesEndpointToken {
		token, err := b.secretValue(ns, v1alpha1.SecretKeyReference{Name: EndpointTokenSecretName(se.Name), Key: EndpointTokenKey})
		if err != nil {
			return nil, &Problem{Reason: v1alpha1.ReasonSecretNotFound, Message: "endpoint token: " + err.Error()}
		}
		if len(token) < 22 { // 128 bits in base64url
			return nil, &Problem{Reason: v1alpha1.ReasonInvalidSpec, Message: "endpoint token is shorter than 128 bits"}
		}
		e.EndpointToken = token
	}
	compiled, err := b.source(src, secrets, vars)
	if err != nil {
		if _, ok := errors.AsType[*celext.CompileError](err); ok {
			return nil, &Problem{Reason: v1alpha1.ReasonInvalidExpression, Message: fmt.Sprintf("Source %q: %v", src.Name, err)}
		}
		return nil, &Problem{Reason: v1alpha1.ReasonInvalidSpec, Message: err.Error()}
	}
	e.Verifier, e.Describer, e.Handshake = compiled.Verifier, compiled.Describer, compiled.Handshake
	e.Redaction = redaction(src, secrets, append(secretVars, e.EndpointToken)...)
	return e, nil
}

// StreamNeeds are the JetStream streams a set of SourceEnvironments publishes to: for
// each action stream the longest duplicate window asked of it and the most partitions,
// for each log stream the longest retention.
type StreamNeeds struct {
	ActionStreams    map[string]time.Duration
	ActionPartitions map[string]int
	LogStreams       map[string]time.Duration
}

// Add counts one SourceEnvironment publishing actions to actionStream, split into
// partitions, with an idempotency window and logs to logStream with a retention: a
// stream shared by several gets the longest window, the most partitions and the longest
// retention asked of it. It is the one place of that rule, for the operator and for
// self-hosted mode.
func (n *StreamNeeds) Add(actionStream string, partitions int, window time.Duration, logStream string, retention time.Duration) {
	if n.ActionStreams == nil {
		n.ActionStreams = map[string]time.Duration{}
	}
	if n.ActionPartitions == nil {
		n.ActionPartitions = map[string]int{}
	}
	if n.LogStreams == nil {
		n.LogStreams = map[string]time.Duration{}
	}
	n.ActionStreams[actionStream] = max(n.ActionStreams[actionStream], window)
	n.ActionPartitions[actionStream] = max(n.ActionPartitions[actionStream], partitions, 1)
	n.LogStreams[logStream] = max(n.LogStreams[logStream], retention)
}

// Streams returns the streams the snapshot's SourceEnvironments publish to.
func (s *Snapshot) Streams() StreamNeeds {
	var needs StreamNeeds
	for _, e := range s.environments {
		needs.Add(e.ActionStream, e.Partitions, e.IdempotencyWindow, e.LogStream, e.LogRetention)
	}
	return needs
}
