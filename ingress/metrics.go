package ingress

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
)

// Labels several metrics share: the SourceEnvironment, and what became of a request.
const (
	labelNamespace         = "namespace"
	labelSourceEnvironment = "source_environment"
	labelResult            = "result"
)

// metrics are the ingress's Prometheus metrics, all prefixed inlet_ingress_.
type metrics struct {
	events               *prometheus.CounterVec
	actions              *prometheus.CounterVec
	requestDuration      *prometheus.HistogramVec
	publishDuration      prometheus.Histogram
	verificationFailures *prometheus.CounterVec
	handshakes           *prometheus.CounterVec
	repeats              *prometheus.CounterVec
	logDropped           prometheus.Counter
	refusedNotLogged     prometheus.Counter
	snapshotProblems     prometheus.Gauge
	snapshotBuilt        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inlet_ingress_requests_total",
			Help: "Requests to event endpoints by SourceEnvironment (empty for a path no SourceEnvironment is served at), " +
				"result (accepted, idempotent, handshake, unauthorized, malformed, too_large, not_found, rate_limited, unavailable) " +
				"and HTTP status.",
		}, []string{labelNamespace, labelSourceEnvironment, labelResult, "code"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inlet_ingress_actions_total",
			Help: "Actions by SourceEnvironment, action kind and status (published, duplicate, failed, unavailable).",
		}, []string{labelNamespace, labelSourceEnvironment, "action", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "inlet_ingress_request_duration_seconds",
			Help:    "Time from receiving an event to answering it, by result.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{labelResult}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "inlet_ingress_publish_duration_seconds",
			Help:    "Time JetStream took to acknowledge a request's actions.",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		verificationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inlet_ingress_verification_failures_total",
			Help: "Requests that failed verification, by reason (missing_signature, mismatch, stale_timestamp, endpoint_token, ...).",
		}, []string{"reason"}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inlet_ingress_handshakes_total",
			Help: "Endpoint handshakes (slack, meta, microsoftGraph, zoom, okta, cel) by SourceEnvironment and result " +
				"(answered, refused).",
		}, []string{labelNamespace, labelSourceEnvironment, "type", labelResult}),
		repeats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inlet_ingress_repeats_total",
			Help: "Events answered as repeats of one whose every action was stored, by SourceEnvironment: found among the " +
				"events this instance settled within their idempotency window, they were answered without evaluating " +
				"the mappings or publishing.",
		}, []string{labelNamespace, labelSourceEnvironment}),
		logDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inlet_ingress_log_records_dropped_total",
			Help: "Event and action log records that could not be written.",
		}),
		refusedNotLogged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "inlet_ingress_refused_requests_not_logged_total",
			Help: "Refused requests (401, 400, 413, 404) not logged because their SourceEnvironment's budget of refused records, " +
				"or the one budget shared by unknown endpoints, was spent.",
		}),
		snapshotProblems: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "inlet_ingress_config_problems",
			Help: "Resources left out of the served configuration because they do not compile or refer to something missing.",
		}),
		snapshotBuilt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "inlet_ingress_config_loaded_timestamp_seconds",
			Help: "When the served configuration was last swapped in.",
		}),
	}
	reg.MustRegister(m.events, m.actions, m.requestDuration, m.publishDuration, m.verificationFailures, m.handshakes,
		m.repeats, m.logDropped, m.refusedNotLogged, m.snapshotProblems, m.snapshotBuilt)
	return m
}

// unknownEndpoint labels the requests for a path no configured SourceEnvironment
// serves: empty namespace and name.
var unknownEndpoint = types.NamespacedName{}

func (m *metrics) observeRequest(key types.NamespacedName, result string, code int, d time.Duration) {
	m.events.WithLabelValues(key.Namespace, key.Name, result, strconv.Itoa(code)).Inc()
	m.requestDuration.WithLabelValues(result).Observe(d.Seconds())
}
