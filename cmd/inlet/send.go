package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"inlet.dev/inlet/api/v1alpha1"
	sampleevents "inlet.dev/inlet/config/samples/events"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/local"
	"inlet.dev/inlet/ingress/provider"
)

type sendOptions struct {
	sourceEnvironment string
	sample            string
	file              string
	data              string
	headers           []string
	dir               string
	dataDir           string
	url               string
	namespace         string
	unsigned          bool
	handshake         bool
	cluster           bool
	kubeconfig        string
	context           string

	urlGiven, namespaceGiven bool
}

func newSendCommand() *cobra.Command {
	o := sendOptions{}
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Send an event to a SourceEnvironment, signed exactly as its provider signs",
		Long: `send posts a sample or a given payload to a SourceEnvironment's endpoint, signed with
its signing secret the way the provider does (Stripe-Signature, Svix headers,
WorkOS-Signature, X-Signature, the http source's HMAC or Standard Webhooks scheme, or
its header token), so you can try mappings without the provider.

By default it reads the SourceEnvironment, its Source and Secrets from the manifests
in --dir, as inlet dev serves them, and endpoint tokens from inlet dev's --data-dir.

With --cluster (or --kubeconfig or --context, which imply it) it reads them from the
cluster instead, as kubectl does: the SourceEnvironment in --namespace (default: the
context's namespace), its Source, its first signing Secret and, for sources that sign
nothing, the endpoint token Secret the operator generated. It sends to the endpoint in
the SourceEnvironment's status, or to --url, the ingress's base URL as you reach it
(kubectl port-forward, a node port, your load balancer). You need get on
sourceenvironments and sources (inlet.dev) and on those Secrets. Secret values and
tokens are never printed.`,
		Example: `  inlet send --source-environment stripe-production --sample customer.subscription.created
  inlet send --source-environment clerk-production --file user.json
  inlet send --source-environment github-development --sample issues.assigned
  inlet send --source-environment whatsapp-development --handshake

  # in a cluster, through a port-forward to the ingress Service:
  kubectl port-forward svc/stripe-production-ingress 8080 &
  inlet send --cluster --url http://127.0.0.1:8080 -e stripe-production --sample customer.subscription.created`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			o.urlGiven, o.namespaceGiven = f.Changed("url"), f.Changed("namespace")
			o.cluster = o.cluster || f.Changed("kubeconfig") || f.Changed("context")
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.sourceEnvironment, "source-environment", "e", "", "the SourceEnvironment to send to (required)")
	f.StringVar(&o.sample, "sample", "", "send the sample payload of this event type (see config/samples/events)")
	f.StringVarP(&o.file, "file", "f", "", "send this payload file")
	f.StringVarP(&o.data, "data", "d", "", "send this payload")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "an extra header, 'Name: value' (repeatable)")
	f.StringVar(&o.dir, "dir", "config/samples", "folder of manifests describing the SourceEnvironment (not with --cluster)")
	f.StringVar(&o.dataDir, "data-dir", ".inlet/dev", "inlet dev's data folder, where endpoint tokens are kept (not with --cluster)")
	f.StringVar(&o.url, "url", "http://127.0.0.1:8080",
		"the ingress's base URL; with --cluster, the SourceEnvironment's status.endpoint when not given")
	f.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the SourceEnvironment; with --cluster, the context's when not given")
	f.BoolVar(&o.unsigned, "unsigned", false, "send without a signature, to see a 401")
	f.BoolVar(&o.handshake, "handshake", false,
		"send the endpoint handshake the sender makes (slack, meta, microsoftGraph, zoom, okta) and check the answer")
	f.BoolVar(&o.cluster, "cluster", false,
		"read the SourceEnvironment, its Source and Secrets from the cluster of your kubeconfig, not from --dir")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file of the cluster (implies --cluster); KUBECONFIG or ~/.kube/config when empty")
	f.StringVar(&o.context, "context", "", "kubeconfig context to use (implies --cluster)")
	_ = cmd.MarkFlagRequired("source-environment")
	return cmd
}

// target is where a send goes and what signs it: the SourceEnvironment, its Source,
// the Secrets it names, and its endpoint URL, whose token (if any) must not be shown.
type target struct {
	in  config.Inputs
	se  *v1alpha1.SourceEnvironment
	src *v1alpha1.Source
	// url is the endpoint to post to; shown is the same with its token as {token}.
	url, shown string
	// hint is added to a connection error.
	hint string
}

func (o *sendOptions) run(ctx context.Context, out io.Writer) error {
	var tg *target
	var err error
	if o.cluster {
		tg, err = o.clusterTarget(ctx)
	} else {
		tg, err = o.localTarget()
	}
	if err != nil {
		return err
	}
	if o.handshake {
		return o.sendHandshake(ctx, out, tg)
	}
	body, sampleHeaders, err := o.payload(tg.src.Spec.Type)
	if err != nil {
		return err
	}
	header, err := requestHeaders(tg.in, tg.se, tg.src, body, !o.unsigned, append(sampleHeaders, o.headers...))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tg.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("endpoint %s: %w", tg.shown, withoutURL(err))
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The error would repeat the URL, token included: say it without.
		return fmt.Errorf("send to %s: %w%s", tg.shown, withoutURL(err), tg.hint)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(out, "%s %s\n", resp.Status, bytes.TrimSpace(answer))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("the ingress answered %s", resp.Status)
	}
	var summary struct {
		EventIDs   []string `json:"eventIds"`
		Idempotent bool     `json:"idempotent"`
	}
	if json.Unmarshal(answer, &summary) == nil && len(summary.EventIDs) > 0 {
		if summary.Idempotent {
			fmt.Fprintln(out, "every action was already stored by an earlier delivery: nothing new was published")
		}
		fmt.Fprintf(out, "see it with: inlet events %s\n", tg.se.Name)
	}
	return nil
}

// localTarget reads the SourceEnvironment from the manifests in --dir and its endpoint
// token from inlet dev's data folder, and sends to --url.
func (o *sendOptions) localTarget() (*target, error) {
	in, _, _, err := local.Load(nil, o.namespace, o.dir)
	if err != nil {
		return nil, err
	}
	se := findSourceEnvironment(in, o.namespace, o.sourceEnvironment)
	if se == nil {
		return nil, fmt.Errorf("no SourceEnvironment %s/%s in %s (--cluster reads it from your cluster)", o.namespace, o.sourceEnvironment, o.dir)
	}
	src := findSource(in, se)
	if src == nil {
		return nil, fmt.Errorf("SourceEnvironment %s refers to Source %q, which is not in %s", se.Name, se.Spec.SourceRef.Name, o.dir)
	}
	tg := &target{in: in, se: se, src: src, hint: " (is inlet dev running?)"}
	tg.url = strings.TrimSuffix(o.url, "/") + "/e/" + se.Namespace + "/" + se.Name
	tg.shown = tg.url
	if provider.UsesEndpointToken(&src.Spec) {
		token, err := savedToken(filepath.Join(o.dataDir, "endpoint-tokens.json"), se.Namespace+"/"+se.Name)
		if err != nil {
			return nil, err
		}
		tg.url += "/" + token
		tg.shown += "/{token}"
	}
	return tg, nil
}

// withoutURL returns the error of a failed request without the URL it names.
func withoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

func (o *sendOptions) payload(sourceType v1alpha1.SourceType) ([]byte, []string, error) {
	switch {
	case o.sample != "":
		body, err := sampleevents.Sample(string(sourceType), o.sample)
		return body, sampleevents.Headers(string(sourceType), o.sample), err
	case o.file != "":
		body, err := os.ReadFile(o.file)
		return body, nil, err
	case o.data != "":
		return []byte(o.data), nil, nil
	}
	return nil, nil, fmt.Errorf("say what to send with --sample (one of: %s), --file or --data",
		strings.Join(sampleevents.List(string(sourceType)), ", "))
}

// requestHeaders returns the headers a delivery of body to se carries: signed as its
// Source's sender signs, with its first signing secret, when signed is true, then the
// extra "Name: value" headers.
func requestHeaders(
	in config.Inputs, se *v1alpha1.SourceEnvironment, src *v1alpha1.Source, body []byte, signed bool, extra []string,
) (http.Header, error) {
	header := http.Header{"Content-Type": {"application/json"}}
	if signed {
		secret := ""
		if len(se.Spec.SigningSecretRefs) > 0 {
			var err error
			if secret, err = secretValue(in, se.Namespace, se.Spec.SigningSecretRefs[0]); err != nil {
				return nil, err
			}
		}
		var err error
		if header, err = provider.Sign(&src.Spec, secret, time.Now(), body); err != nil {
			return nil, err
		}
	}
	for _, h := range extra {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("header %q is not 'Name: value'", h)
		}
		header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return header, nil
}

func findSource(in config.Inputs, se *v1alpha1.SourceEnvironment) *v1alpha1.Source {
	for i := range in.Sources {
		if in.Sources[i].Namespace == se.Namespace && in.Sources[i].Name == se.Spec.SourceRef.Name {
			return &in.Sources[i]
		}
	}
	return nil
}

func findSourceEnvironment(in config.Inputs, namespace, name string) *v1alpha1.SourceEnvironment {
	for i := range in.SourceEnvironments {
		if se := &in.SourceEnvironments[i]; se.Namespace == namespace && se.Name == name {
			return se
		}
	}
	return nil
}

func secretValue(in config.Inputs, namespace string, ref v1alpha1.SecretKeyReference) (string, error) {
	key := ref.Key
	if key == "" {
		key = "secret"
	}
	for i := range in.Secrets {
		if s := &in.Secrets[i]; s.Namespace == namespace && s.Name == ref.Name {
			if v, ok := config.SecretKeyValue(s, key); ok {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("the signing secret %s/%s (key %s) is not in the manifests", namespace, ref.Name, key)
}

func savedToken(file, key string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("no endpoint token yet (%v): start inlet dev first, it generates them", err)
	}
	tokens := map[string]string{}
	if err := json.Unmarshal(data, &tokens); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	if tokens[key] == "" {
		return "", errors.New("no endpoint token for " + key + " yet: inlet dev generates it when it loads the SourceEnvironment")
	}
	return tokens[key], nil
}
