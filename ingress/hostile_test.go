package ingress_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// metricsText returns what the server's /metrics handler serves.
func (h *harness) metricsText() string {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.server.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// Requests for paths no SourceEnvironment is served at add no metric series: their
// labels are the same, empty, whatever the path.
func TestUnknownPathsAddNoMetricSeries(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "['x']")))
	for i := range 200 {
		path := fmt.Sprintf("/e/ns-%d/name-%d", i, i)
		if i%2 == 1 {
			path += "/tok"
		}
		if a := h.post(h.http.URL, path, http.Header{}, []byte(`{}`)); a.Status != http.StatusNotFound {
			t.Fatalf("POST %s = %d, want 404", path, a.Status)
		}
	}
	body := h.metricsText()
	if strings.Contains(body, "ns-1") || strings.Contains(body, "name-1") {
		t.Errorf("a label names an unknown path:\n%s", body)
	}
	want := `inlet_ingress_requests_total{code="404",namespace="",result="not_found",source_environment=""} 200`
	if !strings.Contains(body, want) {
		t.Errorf("/metrics does not count the 404s as %s:\n%s", want, body)
	}
}
