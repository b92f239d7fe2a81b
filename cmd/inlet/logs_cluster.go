package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	logsv1alpha1 "inlet.dev/inlet/api/logs/v1alpha1"
	"inlet.dev/inlet/internal/logsapi"
)

// runCluster is `inlet events` and `inlet actions` against a cluster: they read the
// logs.inlet.dev API that the operator serves through the kube-apiserver, with the
// kubeconfig's credentials and the permissions RBAC gives them, and need no access to
// NATS.
func (o *logOptions) runCluster(ctx context.Context, out io.Writer, name string, events bool) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	kc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.context})
	cfg, err := kc.ClientConfig()
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	namespace := o.namespace
	if !o.namespaceGiven {
		if namespace, _, err = kc.Namespace(); err != nil {
			return fmt.Errorf("read kubeconfig: %w", err)
		}
	}
	rc, params, err := logsClient(cfg)
	if err != nil {
		return err
	}
	explain := func(err error) error {
		if apierrors.IsNotFound(err) && apierrors.ReasonForError(err) == metav1.StatusReasonNotFound && o.id == "" {
			return fmt.Errorf("%s does not serve %s (is the inlet operator deployed with config/default?): %w",
				cfg.Host, logsv1alpha1.SchemeGroupVersion, err)
		}
		return err
	}
	if o.id != "" {
		e := &logsv1alpha1.SourceEvent{}
		if err := rc.Get().Namespace(namespace).Resource(logsv1alpha1.SourceEvents).Name(o.id).Do(ctx).Into(e); err != nil {
			return fmt.Errorf("event %s in %s: %w", o.id, namespace, err)
		}
		if e.SourceEnvironment != name {
			return fmt.Errorf("event %s in %s was received by %s, not %s", o.id, namespace, e.SourceEnvironment, name)
		}
		data, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(out, string(data))
		return nil
	}
	resource := logsv1alpha1.SourceEvents
	if !events {
		resource = logsv1alpha1.SourceActions
	}
	opts := metav1.ListOptions{FieldSelector: logsv1alpha1.FieldSourceEnvironment + "=" + name, Limit: 500}
	if o.since > 0 {
		opts.FieldSelector += "," + logsv1alpha1.FieldSince + "=" + time.Now().Add(-o.since).UTC().Format(time.RFC3339)
	}
	// The API lists oldest first: keep the last --limit of the pages.
	var latest []runtime.Object
	rv := ""
	for {
		list, err := listPage(ctx, rc, params, namespace, resource, opts)
		if err != nil {
			return explain(err)
		}
		latest = append(latest, list.objects...)
		if len(latest) > o.limit {
			latest = latest[len(latest)-o.limit:]
		}
		if rv == "" {
			rv = list.resourceVersion
		}
		if list.continueToken == "" {
			break
		}
		opts.Continue = list.continueToken
	}
	p := newObjectPrinter(out, o.output, events)
	for _, obj := range latest {
		p.print(obj)
	}
	p.flush()
	if len(latest) == 0 && !o.follow && o.output == outputTable {
		fmt.Fprintf(out, "no %s recorded yet for %s/%s\n", resource[len("source"):], namespace, name)
	}
	if !o.follow {
		return nil
	}
	opts.Continue, opts.Limit, opts.ResourceVersion, opts.Watch = "", 0, rv, true
	w, err := rc.Get().Namespace(namespace).Resource(resource).VersionedParams(&opts, params).Watch(ctx)
	if err != nil {
		return explain(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if status, ok := ev.Object.(*metav1.Status); ok {
			return fmt.Errorf("watch %s: %s", resource, status.Message)
		}
		p.print(ev.Object)
		p.flush()
	}
	return ctx.Err()
}

// logsClient is a REST client of logs.inlet.dev/v1alpha1 and its parameter codec.
func logsClient(cfg *rest.Config) (*rest.RESTClient, runtime.ParameterCodec, error) {
	scheme, err := logsapi.NewScheme()
	if err != nil {
		return nil, nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.GroupVersion = &logsv1alpha1.SchemeGroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if cfg.UserAgent == "" {
		cfg.UserAgent = "inlet-cli"
	}
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the API server at %s: %w", cfg.Host, err)
	}
	return rc, runtime.NewParameterCodec(scheme), nil
}

type page struct {
	objects                        []runtime.Object
	resourceVersion, continueToken string
}

func listPage(ctx context.Context, rc *rest.RESTClient, params runtime.ParameterCodec, namespace, resource string,
	opts metav1.ListOptions) (page, error) {
	req := rc.Get().Namespace(namespace).Resource(resource).VersionedParams(&opts, params)
	var list runtime.Object = &logsv1alpha1.SourceActionList{}
	if resource == logsv1alpha1.SourceEvents {
		list = &logsv1alpha1.SourceEventList{}
	}
	if err := req.Do(ctx).Into(list); err != nil {
		return page{}, err
	}
	objects, err := meta.ExtractList(list)
	if err != nil {
		return page{}, err
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return page{}, err
	}
	return page{objects: objects, resourceVersion: lm.GetResourceVersion(), continueToken: lm.GetContinue()}, nil
}

// objectPrinter prints SourceEvents and SourceActions as the NATS path prints records:
// the same columns, or one JSON object per line.
type objectPrinter struct {
	*recordPrinter
}

func newObjectPrinter(out io.Writer, output string, events bool) objectPrinter {
	return objectPrinter{newRecordPrinter(out, output, events)}
}

func (p objectPrinter) print(obj runtime.Object) {
	if p.json {
		line, err := json.Marshal(obj)
		if err == nil {
			fmt.Fprintln(p.out, string(line))
		}
		return
	}
	p.printHeader()
	switch o := obj.(type) {
	case *logsv1alpha1.SourceEvent:
		fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%t\t%t\t%d\t%s\t%s\n", o.CreationTimestamp.Local().Format(time.TimeOnly), o.Name,
			dash(o.Type), dash(short(o.IdempotencyKey, 28)), o.Verified, o.Idempotent, o.Actions, o.Status, dash(short(o.Error, 60)))
	case *logsv1alpha1.SourceAction:
		seq := "-"
		if o.Sequence > 0 {
			seq = strconv.FormatInt(o.Sequence, 10)
		}
		fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.CreationTimestamp.Local().Format(time.TimeOnly), o.EventID,
			dash(o.EventType), dash(o.Mapping), dash(o.Action), dash(o.Subject), seq, o.Status, dash(short(o.Error, 60)))
	}
}
