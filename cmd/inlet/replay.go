package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/local"
	"inlet.dev/inlet/ingress/watch"
	"inlet.dev/inlet/ingress/wire"
	"inlet.dev/inlet/internal/ingresscmd"
	"inlet.dev/inlet/internal/scheme"
)

type replayOptions struct {
	dryRun     bool
	since      string
	until      string
	types      []string
	ids        []string
	outcomes   []string
	natsURL    string
	namespace  string
	dir        string
	cluster    bool
	kubeconfig string
	context    string
	output     string

	namespaceGiven bool
}

func newReplayCommand() *cobra.Command {
	o := replayOptions{}
	cmd := &cobra.Command{
		Use:   "replay SOURCE_ENVIRONMENT",
		Short: "Run stored events through today's mappings and publish the actions they are missing",
		Long: `replay reads events a SourceEnvironment received from the event log, runs each one's
stored payload and headers through the mappings as they are configured now, and
publishes the actions the event does not already have stored: those of a mapping added
or fixed since. Signatures were verified when the events arrived, so they are not
verified again, and only events that passed verification can be replayed.

Select the events with --since/--until, --type, --id and --outcome (every condition
must hold), look first with --dry-run, then run it again without. An action the event
already has stored, on arrival or by an earlier replay, is never published again; two
replays at once store each action once. Every replay is logged: an event record of its
own, marked with the id of the event replayed (see inlet events).

By default the configuration is read from the manifests in --dir, as inlet dev serves
them. With --cluster (or --kubeconfig or --context, which imply it) it is read from the
cluster, as kubectl does: the SourceEnvironment in --namespace, its Source, its
EventMappings and the Secrets it refers to (you need get on sourceenvironments and
sources, list on eventmappings, get on those Secrets). The log and action streams are
reached at --nats-url: in a cluster, forward a port to your NATS server first.`,
		Example: `  inlet replay stripe-production --outcome no-actions --since 24h --dry-run
  inlet replay stripe-production --outcome no-actions --since 24h
  inlet replay stripe-production --type invoice.payment_failed --outcome failed
  inlet replay stripe-production --id 3vWPSwuifqiXnSXEzOSqLt --dry-run -o json

  # in a cluster, through a port-forward to NATS:
  kubectl port-forward -n nats svc/nats 4222 &
  kubectl inlet replay --cluster -n shop stripe-production --since 2026-12-01T00:00:00Z --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			o.namespaceGiven = f.Changed("namespace")
			o.cluster = o.cluster || f.Changed("kubeconfig") || f.Changed("context")
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.dryRun, "dry-run", false, "show what each event would now publish; publish nothing, log nothing")
	f.StringVar(&o.since, "since", "", "events received at or after this time: a duration ago (24h) or an RFC 3339 time")
	f.StringVar(&o.until, "until", "", "events received at or before this time: a duration ago (1h) or an RFC 3339 time")
	f.StringArrayVar(&o.types, "type", nil, "events of this type (repeatable)")
	f.StringSliceVar(&o.ids, "id", nil, "the event with this id, as inlet events shows it (repeatable)")
	f.StringSliceVar(&o.outcomes, "outcome", nil, "events whose outcome on arrival was: "+outcomeNames()+" (repeatable)")
	f.StringVar(&o.natsURL, "nats-url", "nats://127.0.0.1:4222", "the NATS server holding the log and action streams")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the SourceEnvironment; with --cluster, the context's when not given")
	f.StringVar(&o.dir, "dir", "config/samples", "folder of manifests configuring the SourceEnvironment (not with --cluster)")
	f.BoolVar(&o.cluster, "cluster", false, "read the configuration from the cluster of your kubeconfig, not from --dir")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster (implies --cluster); KUBECONFIG or ~/.kube/config when empty")
	f.StringVar(&o.context, "context", "", "kubeconfig context to use (implies --cluster)")
	f.StringVarP(&o.output, "output", "o", "table", "table or json (one JSON object per event, then the summary)")
	return cmd
}

func outcomeNames() string {
	names := make([]string, len(ingress.ReplayOutcomes))
	for i, o := range ingress.ReplayOutcomes {
		names[i] = string(o)
	}
	return strings.Join(names, ", ")
}

func (o *replayOptions) run(ctx context.Context, out, errOut io.Writer, name string) error {
	if o.output != outputTable && o.output != outputJSON {
		return fmt.Errorf("--output is table or json, not %q", o.output)
	}
	sel, err := o.selection(time.Now())
	if err != nil {
		return err
	}
	var env *config.Environment
	if o.cluster {
		env, err = o.clusterEnvironment(ctx, name, errOut)
	} else {
		env, err = o.localEnvironment(name, errOut)
	}
	if err != nil {
		return err
	}
	connectCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nc, err := jetstream.Connect(connectCtx, o.natsURL, jetstream.WithName("inlet-replay"))
	if err != nil {
		hint := "is inlet dev running?"
		if o.cluster {
			hint = "forward a port to your NATS server: kubectl port-forward -n <namespace> svc/<nats> 4222"
		}
		return fmt.Errorf("connect to %s (%s): %w", ingresscmd.RedactURL(o.natsURL), hint, err)
	}
	defer nc.Close()

	p := newReplayPrinter(out, o.output, o.dryRun)
	r := &ingress.Replayer{Env: env, Client: nc, DryRun: o.dryRun, Event: p.event, ProgressEvery: 2 * time.Second,
		Progress: func(s ingress.ReplaySummary) {
			fmt.Fprintf(errOut, "replaying %s: %s read, %d replayed, %s %s\n", env.Key, counted(s.Considered, "event"), s.Replayed,
				counted(s.Published, "action"), map[bool]string{true: "to publish", false: wire.ActionPublished}[o.dryRun])
		}}
	sum, runErr := r.Run(ctx, sel)
	p.summary(env.Key, sum)
	return runErr
}

// selection turns the flags into a replay selection; times are relative to now.
func (o *replayOptions) selection(now time.Time) (ingress.ReplaySelection, error) {
	var sel ingress.ReplaySelection
	var err error
	if sel.Since, err = parseWhen("--since", o.since, now); err != nil {
		return sel, err
	}
	if sel.Until, err = parseWhen("--until", o.until, now); err != nil {
		return sel, err
	}
	if !sel.Since.IsZero() && !sel.Until.IsZero() && sel.Until.Before(sel.Since) {
		return sel, errors.New("--until is before --since")
	}
	sel.Types, sel.IDs = o.types, o.ids
	for _, v := range o.outcomes {
		oc := ingress.ReplayOutcome(v)
		if !slices.Contains(ingress.ReplayOutcomes, oc) {
			return sel, fmt.Errorf("--outcome is one of %s, not %q", outcomeNames(), v)
		}
		sel.Outcomes = append(sel.Outcomes, oc)
	}
	return sel, nil
}

// parseWhen reads a time flag: empty, a duration before now, or an RFC 3339 time.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%s %s: a duration ago is positive", flag, v)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is a duration ago (24h) or an RFC 3339 time (2026-12-01T00:00:00Z), not %q", flag, v)
	}
	return t, nil
}

// localEnvironment builds the SourceEnvironment from the manifests in --dir, as inlet
// dev does. Endpoint tokens are throwaway ones: a replay verifies nothing.
func (o *replayOptions) localEnvironment(name string, errOut io.Writer) (*config.Environment, error) {
	in, where, bad, err := local.Load(nil, o.namespace, o.dir)
	if err != nil {
		return nil, err
	}
	for _, msg := range bad {
		fmt.Fprintln(errOut, "warning: left out:", msg)
	}
	in = watch.Select(in, name)
	if findSourceEnvironment(in, o.namespace, name) == nil {
		return nil, fmt.Errorf("no SourceEnvironment %s/%s in %s (--cluster reads it from your cluster)", o.namespace, name, o.dir)
	}
	return buildEnvironment(in, types.NamespacedName{Namespace: o.namespace, Name: name}, errOut,
		func(p config.Problem) string { return where.Problem(in, p) })
}

// buildEnvironment compiles the inputs of one SourceEnvironment, with throwaway
// endpoint tokens, and warns of each mapping left out: a replay runs without them.
func buildEnvironment(in config.Inputs, key types.NamespacedName, errOut io.Writer,
	describe func(config.Problem) string) (*config.Environment, error) {
	tokens, err := local.EndpointTokens("", in)
	if err != nil {
		return nil, err
	}
	in.Secrets = append(in.Secrets, tokens...)
	snap := config.Build(in)
	env := snap.Lookup(key)
	for _, p := range snap.Problems {
		if p.Kind == "SourceEnvironment" && p.Object == key {
			return nil, fmt.Errorf("SourceEnvironment %s cannot be served: %s", key, describe(p))
		}
		fmt.Fprintln(errOut, "warning: left out of the replay:", describe(p))
	}
	if env == nil {
		return nil, fmt.Errorf("SourceEnvironment %s cannot be served", key)
	}
	return env, nil
}

// replayPrinter prints what became of each event, and the summary.
type replayPrinter struct {
	out    io.Writer
	json   bool
	dryRun bool
	tw     *tabwriter.Writer
	header bool
}

func newReplayPrinter(out io.Writer, output string, dryRun bool) *replayPrinter {
	return &replayPrinter{out: out, json: output == outputJSON, dryRun: dryRun, tw: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
}

// replayedEventJSON is one line of -o json.
type replayedEventJSON struct {
	Event    string               `json:"event"`
	Type     string               `json:"type,omitempty"`
	Received time.Time            `json:"received,omitzero"`
	Replay   string               `json:"replay,omitempty"`
	Skipped  string               `json:"skipped,omitempty"`
	Error    string               `json:"error,omitempty"`
	Actions  []replayedActionJSON `json:"actions,omitempty"`
}

type replayedActionJSON struct {
	Mapping  string          `json:"mapping"`
	Action   string          `json:"action,omitempty"`
	Position int             `json:"position"`
	Status   string          `json:"status"`
	Error    string          `json:"error,omitempty"`
	Message  json.RawMessage `json:"message,omitempty"`
}

// actionStatus is what the output says became of an action.
func (p *replayPrinter) actionStatus(a *ingress.ReplayedAction) string {
	switch {
	case a.AlreadyStored:
		return "already stored"
	case a.Status == "" && p.dryRun:
		return "would publish"
	}
	return a.Status
}

func (p *replayPrinter) event(e *ingress.ReplayedEvent) {
	orig := &e.Original
	if p.json {
		line := replayedEventJSON{Event: orig.ID, Type: orig.Type, Received: orig.Time, Replay: e.ID, Skipped: e.Skipped, Error: e.Error}
		for i := range e.Actions {
			a := &e.Actions[i]
			line.Actions = append(line.Actions, replayedActionJSON{Mapping: a.Mapping, Action: a.Action, Position: a.Position,
				Status: p.actionStatus(a), Error: a.Error, Message: a.Message})
		}
		data, _ := json.Marshal(line)
		fmt.Fprintln(p.out, string(data))
		return
	}
	if !p.header {
		p.header = true
		fmt.Fprintln(p.tw, "RECEIVED\tEVENT ID\tTYPE\tMAPPING\tACTION\tSTATUS\tPARAMS OR ERROR")
	}
	when := "-"
	if !orig.Time.IsZero() {
		when = orig.Time.Local().Format(time.DateTime)
	}
	if e.Skipped != "" {
		fmt.Fprintf(p.tw, "%s\t%s\t%s\t-\t-\tskipped\t%s\n", when, orig.ID, dash(orig.Type), short(joinNonEmpty(e.Skipped, e.Error), 100))
		return
	}
	if len(e.Actions) == 0 {
		fmt.Fprintf(p.tw, "%s\t%s\t%s\t-\t-\tno actions\tno mapping matches it\n", when, orig.ID, dash(orig.Type))
	}
	for i := range e.Actions {
		a := &e.Actions[i]
		detail := a.Error
		if detail == "" && !a.AlreadyStored {
			detail = params(a.Message)
		}
		fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", when, orig.ID, dash(orig.Type), a.Mapping, dash(a.Action),
			p.actionStatus(a), dash(short(detail, 100)))
	}
	if e.Error != "" {
		fmt.Fprintf(p.tw, "%s\t%s\t%s\t-\t-\twarning\t%s\n", when, orig.ID, dash(orig.Type), e.Error)
	}
}

// params returns an action message's parameters, as one line of JSON.
func params(message []byte) string {
	var m struct {
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(message, &m) != nil || len(m.Params) == 0 {
		return ""
	}
	return oneLine(m.Params)
}

// counted says "1 event", "2 events".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func joinNonEmpty(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

func (p *replayPrinter) summary(key types.NamespacedName, s ingress.ReplaySummary) {
	if p.json {
		data, _ := json.Marshal(map[string]any{"summary": map[string]any{
			"sourceEnvironment": key.String(), "dryRun": p.dryRun, "considered": s.Considered, "replayed": s.Replayed,
			"published": s.Published, "duplicate": s.Duplicate, "alreadyStored": s.AlreadyStored, "failed": s.Failed,
			"unavailable": s.Unavailable, "skipped": s.Skipped,
		}})
		fmt.Fprintln(p.out, string(data))
		return
	}
	_ = p.tw.Flush()
	if p.header {
		fmt.Fprintln(p.out)
	}
	verb := wire.ActionPublished
	if p.dryRun {
		verb = "would be published"
	}
	fmt.Fprintf(p.out, "%s considered in %s, %d replayed: %s %s", counted(s.Considered, "event"), key, s.Replayed,
		counted(s.Published, "action"), verb)
	if s.Duplicate > 0 {
		fmt.Fprintf(p.out, ", %d stored meanwhile by another replay", s.Duplicate)
	}
	fmt.Fprintf(p.out, ", %d already stored, %d failed", s.AlreadyStored, s.Failed)
	if s.Unavailable > 0 {
		fmt.Fprintf(p.out, ", %d not acknowledged by JetStream", s.Unavailable)
	}
	fmt.Fprintln(p.out)
	for _, reason := range slices.Sorted(maps.Keys(s.Skipped)) {
		fmt.Fprintf(p.out, "skipped %d: %s\n", s.Skipped[reason], reason)
	}
	switch {
	case p.dryRun && s.Published > 0:
		fmt.Fprintln(p.out, "dry run: nothing was published; run the same command without --dry-run to publish them")
	case p.dryRun:
		fmt.Fprintln(p.out, "dry run: nothing was published")
	case s.Replayed > 0:
		fmt.Fprintf(p.out, "each replay is in the event log, marked with the event it replayed: inlet events %s\n", key.Name)
	}
}

// clusterEnvironment builds the SourceEnvironment from the cluster: it, its Source,
// its EventMappings and the Secrets it refers to (signing secrets, which the
// configuration needs to compile, and secret variables, which mappings read).
func (o *replayOptions) clusterEnvironment(ctx context.Context, name string, errOut io.Writer) (*config.Environment, error) {
	r, err := newClusterReader(o.kubeconfig, o.context, o.namespace, o.namespaceGiven)
	if err != nil {
		return nil, err
	}
	se := &v1alpha1.SourceEnvironment{}
	if err := r.get(ctx, "SourceEnvironment", name, se); err != nil {
		return nil, err
	}
	src := &v1alpha1.Source{}
	if err := r.get(ctx, "Source", se.Spec.SourceRef.Name, src); err != nil {
		return nil, fmt.Errorf("the Source of SourceEnvironment %s: %w", se.Name, err)
	}
	in := config.Inputs{Sources: []v1alpha1.Source{*src}, SourceEnvironments: []v1alpha1.SourceEnvironment{*se}}
	var mappings v1alpha1.EventMappingList
	if err := r.list(ctx, "EventMappings", &mappings); err != nil {
		return nil, err
	}
	for _, m := range mappings.Items {
		if m.Spec.SourceEnvironmentRef.Name == se.Name {
			in.EventMappings = append(in.EventMappings, m)
		}
	}
	token := types.NamespacedName{Namespace: r.namespace, Name: config.EndpointTokenSecretName(se.Name)}
	for ref := range watch.SecretRefs(in) {
		if ref == token {
			continue // a replay verifies nothing: a throwaway token does
		}
		secret := &corev1.Secret{}
		if err := r.get(ctx, "Secret", ref.Name, secret); err != nil {
			return nil, fmt.Errorf("a Secret SourceEnvironment %s refers to: %w", se.Name, err)
		}
		in.Secrets = append(in.Secrets, *secret)
	}
	key := types.NamespacedName{Namespace: r.namespace, Name: se.Name}
	return buildEnvironment(in, key, errOut, func(p config.Problem) string { return p.String() })
}

// newClusterReader connects to the API server of a kubeconfig, as kubectl does: the
// namespace is the context's unless one is given.
func newClusterReader(kubeconfig, kubeContext, namespace string, namespaceGiven bool) (clusterReader, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	kc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	cfg, err := kc.ClientConfig()
	if err != nil {
		return clusterReader{}, fmt.Errorf("read kubeconfig: %w", err)
	}
	if !namespaceGiven {
		if namespace, _, err = kc.Namespace(); err != nil {
			return clusterReader{}, fmt.Errorf("read kubeconfig: %w", err)
		}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return clusterReader{}, fmt.Errorf("connect to the API server at %s: %w", cfg.Host, err)
	}
	return clusterReader{c: c, namespace: namespace, host: cfg.Host}, nil
}

// list lists the objects of a kind in the reader's namespace.
func (r clusterReader) list(ctx context.Context, kind string, list client.ObjectList) error {
	err := r.c.List(ctx, list, client.InNamespace(r.namespace))
	switch {
	case err == nil:
		return nil
	case apierrors.IsForbidden(err):
		return fmt.Errorf("you may not list %s in %s (inlet replay --cluster needs list on eventmappings): %w", kind, r.namespace, err)
	}
	return fmt.Errorf("list %s in %s from %s: %w", kind, r.namespace, r.host, err)
}
