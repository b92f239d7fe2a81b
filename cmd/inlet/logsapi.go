package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/internal/ingresscmd"
	"inlet.dev/inlet/internal/logsapi"
)

// logsAPIOptions are the flags of the event log API (logs.inlet.dev) the operator serves.
type logsAPIOptions struct {
	bindAddress string
	certFile    string
	keyFile     string
	stream      string
}

func (o *logsAPIOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.bindAddress, "logs-api-bind-address", ":8444",
		"address of the logs.inlet.dev API server (kubectl get sourceevents,sourceactions), which the "+
			"kube-apiserver proxies to through an APIService; 0 turns it off")
	f.StringVar(&o.certFile, "logs-api-tls-cert-file", "",
		"serving certificate of the logs API (tls.crt of a mounted Secret); a self-signed one is made in memory "+
			"when empty or when the file does not exist")
	f.StringVar(&o.keyFile, "logs-api-tls-private-key-file", "", "private key of --logs-api-tls-cert-file")
	f.StringVar(&o.stream, "logs-api-stream", v1alpha1.DefaultLogStream,
		"the log stream the logs API reads: that of SourceEnvironments that set no spec.publish.logStream")
}

func (o *logsAPIOptions) enabled() bool { return o.bindAddress != "" && o.bindAddress != "0" }

// logsAPI runs the logs API server. It is a manager Runnable that every replica runs,
// leader or not: reading the log needs no election.
type logsAPI struct {
	opts     logsAPIOptions
	kube     *rest.Config
	listener net.Listener
	// natsURL tells the NATS server holding the log stream.
	natsURL func(ctx context.Context) string
	creds   string
	log     logr.Logger
	// served, when set, is called once the server listens.
	served func(ctx context.Context, port int) error
}

func (a *logsAPI) NeedLeaderElection() bool { return false }

// Start serves the API until ctx ends. When the API cannot be served (the cluster is
// not configured for aggregation, say), it logs why and returns at ctx's end.
func (a *logsAPI) Start(ctx context.Context) error {
	// The API server's libraries log through klog: into the operator's log.
	klog.SetLogger(a.log)
	url := a.natsURL(ctx)
	opts := []jetstream.Option{jetstream.WithName("inlet-logs-api"), jetstream.WithBackgroundConnect()}
	if a.creds != "" {
		opts = append(opts, jetstream.WithCredentialsFile(a.creds))
	}
	nc, err := jetstream.Connect(ctx, url, opts...)
	if err != nil {
		return fmt.Errorf("logs API: connect to NATS %s: %w", ingresscmd.RedactURL(url), err)
	}
	defer nc.Close()
	ln := a.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", a.opts.bindAddress); err != nil {
			return fmt.Errorf("logs API: listen on %s (--logs-api-bind-address picks another, 0 turns it off): %w",
				a.opts.bindAddress, err)
		}
	}
	certFile, keyFile := a.opts.certFile, a.opts.keyFile
	if _, err := os.Stat(certFile); certFile != "" && errors.Is(err, fs.ErrNotExist) {
		// The optional Secret is not there: serve with a certificate made in memory.
		a.log.Info("no serving certificate at --logs-api-tls-cert-file: using a self-signed one made in memory", "file", certFile)
		certFile, keyFile = "", ""
	}
	server, err := logsapi.New(ctx, logsapi.Options{
		Kube: a.kube, Listener: ln, CertFile: certFile, KeyFile: keyFile,
		Log: &logsapi.Log{JetStream: nc.JetStream(), Stream: a.opts.stream},
	})
	if err != nil {
		_ = ln.Close()
		// The operator's work does not depend on the logs API: say why it is not
		// served, and keep reconciling.
		a.log.Error(err, "the logs API (kubectl get sourceevents) is not served")
		<-ctx.Done()
		return nil
	}
	a.log.Info("logs API serving", "address", ln.Addr().String(), "nats", ingresscmd.RedactURL(url), "stream", a.opts.stream)
	if a.served != nil {
		port := ln.Addr().(*net.TCPAddr).Port
		go func() {
			if err := a.served(ctx, port); err != nil {
				a.log.Error(err, "register the logs API")
			}
		}()
	}
	return server.PrepareRun().RunWithContext(ctx)
}

// configMapNATSURL returns a function that reads the NATS URL the operator's
// SourceEnvironments use by default: NATS_URL of its ConfigMap, else fallback. It is
// read when the logs API starts; a changed URL takes effect at the operator's restart.
func configMapNATSURL(reader client.Reader, configMap types.NamespacedName, fallback string) func(context.Context) string {
	return func(ctx context.Context) string {
		if configMap.Name == "" {
			return fallback
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cm := &corev1.ConfigMap{}
		if err := reader.Get(ctx, configMap, cm); err != nil || cm.Data[controllers.ConfigMapNATSURL] == "" {
			return fallback
		}
		return cm.Data[controllers.ConfigMapNATSURL]
	}
}
