package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/jetstream"
)

type logOptions struct {
	id             string
	natsURL        string
	namespace      string
	namespaceGiven bool
	stream         string
	limit          int
	follow         bool
	output         string
	cluster        bool
	kubeconfig     string
	context        string
	since          time.Duration
}

func newLogCommands() []*cobra.Command {
	return []*cobra.Command{
		newLogCommand("events", "List the latest events a SourceEnvironment received", true),
		newLogCommand("actions", "List the latest actions a SourceEnvironment published", false),
	}
}

func newLogCommand(use, short string, events bool) *cobra.Command {
	o := logOptions{}
	cmd := &cobra.Command{
		Use:   use + " SOURCE_ENVIRONMENT",
		Short: short,
		Long: short + `: time, type, idempotency key, verification,
idempotency, actions, status and error.

Without --cluster they read the event log stream in NATS JetStream, as inlet dev
serves it. With --cluster (or --kubeconfig, --context) they read the cluster's
logs.inlet.dev API, the one kubectl get sourceevents,sourceactions reads, through the
kubeconfig: no access to NATS is needed, and RBAC decides what you see (payloads
need get on sourceevents/payload).`,
		Example: fmt.Sprintf("  inlet %s stripe-production\n  inlet %s stripe-production --follow\n"+
			"  inlet %s stripe-production -o json\n  inlet %s stripe-production --cluster -n shop", use, use, use, use) +
			map[bool]string{true: "\n  inlet events stripe-production --id 3vWPSwuifqiXnSXEzOSqLt", false: ""}[events],
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.namespaceGiven = cmd.Flags().Changed("namespace")
			if o.cluster || o.kubeconfig != "" || o.context != "" {
				if o.output != outputTable && o.output != outputJSON {
					return fmt.Errorf("--output is table or json, not %q", o.output)
				}
				return o.runCluster(cmd.Context(), cmd.OutOrStdout(), args[0], events)
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), args[0], events)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.natsURL, "nats-url", "nats://127.0.0.1:4222", "the NATS server holding the log stream")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the SourceEnvironment; with --cluster, the context's when not given")
	f.StringVar(&o.stream, "stream", v1alpha1.DefaultLogStream, "the log stream")
	f.IntVar(&o.limit, "limit", 20, "how many of the latest records to show")
	f.BoolVar(&o.follow, "follow", false, "keep printing new records as they arrive")
	f.StringVarP(&o.output, "output", "o", "table", "table or json (one JSON object per line)")
	f.BoolVar(&o.cluster, "cluster", false,
		"read the cluster's logs.inlet.dev API (kubectl get sourceevents) through the kubeconfig instead of NATS: "+
			"no NATS access needed, and RBAC decides what you see")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster (implies --cluster); KUBECONFIG or ~/.kube/config when empty")
	f.StringVar(&o.context, "context", "", "kubeconfig context to use (implies --cluster)")
	f.DurationVar(&o.since, "since", 24*time.Hour, "with --cluster, read the records of this long ago onwards (0: all the log stream keeps)")
	if events {
		f.StringVar(&o.id, "id", "", "show one event in full, by its event id: payload, headers (secrets redacted), actions")
	}
	return cmd
}

// The formats of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

func (o *logOptions) run(ctx context.Context, out io.Writer, name string, events bool) error {
	if o.output != outputTable && o.output != outputJSON {
		return fmt.Errorf("--output is table or json, not %q", o.output)
	}
	connectCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	client, err := jetstream.Connect(connectCtx, o.natsURL, jetstream.WithName("inlet-cli"))
	if err != nil {
		return fmt.Errorf("connect to %s (is inlet running?): %w", o.natsURL, err)
	}
	defer client.Close()
	if o.id != "" {
		msg, err := client.EventLog(ctx, o.stream, o.namespace, name, o.id)
		if err != nil {
			return fmt.Errorf("event %s of %s/%s: %w", o.id, o.namespace, name, err)
		}
		r, err := jetstream.DecodeEventRecord(msg.Data)
		if err != nil {
			return fmt.Errorf("event %s of %s/%s: %w", o.id, o.namespace, name, err)
		}
		pretty, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(out, string(pretty))
		return nil
	}
	// Each event's record carries what became of its actions, so both commands read
	// the event log.
	filter := jetstream.EventLogFilter(o.namespace, name)
	msgs, err := client.LastMessages(ctx, o.stream, filter, o.limit)
	if err != nil {
		return err
	}
	p := newRecordPrinter(out, o.output, events)
	for _, m := range msgs {
		p.print(m.Data)
	}
	p.flush()
	if len(msgs) == 0 && !o.follow && o.output == outputTable {
		fmt.Fprintf(out, "no %s recorded yet for %s/%s\n", map[bool]string{true: "events", false: "actions"}[events], o.namespace, name)
	}
	if !o.follow {
		return nil
	}
	cons, err := client.JetStream().OrderedConsumer(ctx, o.stream, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{filter}, DeliverPolicy: natsjs.DeliverNewPolicy,
	})
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); it.Stop() }()
	for {
		msg, err := it.Next()
		if err != nil {
			return nil
		}
		p.print(msg.Data())
		p.flush()
	}
}

type recordPrinter struct {
	out    io.Writer
	json   bool
	events bool
	tw     *tabwriter.Writer
	header bool
}

func newRecordPrinter(out io.Writer, output string, events bool) *recordPrinter {
	return &recordPrinter{out: out, json: output == outputJSON, events: events, tw: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
}

// print prints one event log message, decoded by jetstream.DecodeEventRecord.
func (p *recordPrinter) print(data []byte) {
	r, err := jetstream.DecodeEventRecord(data)
	if p.json {
		switch {
		case err != nil && p.events:
			// A record inlet did not write: still one line.
			fmt.Fprintln(p.out, oneLine(data))
		case err != nil:
		case p.events:
			line, _ := json.Marshal(r)
			fmt.Fprintln(p.out, oneLine(line))
		default:
			for _, a := range r.ActionLog {
				line, _ := json.Marshal(a)
				fmt.Fprintln(p.out, string(line))
			}
		}
		return
	}
	p.printHeader()
	if err != nil {
		return
	}
	if p.events {
		note := short(r.Error, 60)
		if r.RepeatOf != "" {
			note = "repeat of " + r.RepeatOf // its actions are in the first delivery's record
		}
		fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%t\t%t\t%d\t%s\t%s\n", r.Time.Local().Format(time.TimeOnly), r.ID, dash(r.Type),
			dash(short(r.IdempotencyKey, 28)), r.Verified, r.Idempotent, r.Actions, r.Status, dash(note))
		return
	}
	// Each event's record carries what became of its actions.
	for _, a := range r.ActionLog {
		seq := "-"
		if a.Sequence > 0 {
			seq = strconv.FormatUint(a.Sequence, 10)
		}
		fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Time.Local().Format(time.TimeOnly), a.EventID, dash(a.EventType),
			dash(a.Mapping), dash(a.Action), dash(a.Subject), seq, a.Status, dash(short(a.Error, 60)))
	}
}

// printHeader prints the table's header once.
func (p *recordPrinter) printHeader() {
	if p.header {
		return
	}
	p.header = true
	if p.events {
		fmt.Fprintln(p.tw, "TIME\tEVENT ID\tTYPE\tKEY\tVERIFIED\tIDEMPOTENT\tACTIONS\tSTATUS\tERROR")
	} else {
		fmt.Fprintln(p.tw, "TIME\tEVENT ID\tTYPE\tMAPPING\tACTION\tSUBJECT\tSEQ\tSTATUS\tERROR")
	}
}

func (p *recordPrinter) flush() { _ = p.tw.Flush() }

// oneLine returns a record as one line of JSON. A record holds the payload as the
// sender sent it, which may be pretty-printed over several lines: compacting it keeps
// -o json one object per line. Compacting changes no value, not even a number.
func oneLine(data []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		// Not JSON: a record inlet did not write. Still one line.
		return strings.Join(strings.Fields(string(data)), " ")
	}
	return buf.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
