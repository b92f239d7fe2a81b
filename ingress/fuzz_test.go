package ingress_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-logr/logr"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
)

// FuzzServeEvent sends arbitrary bodies through the whole data path past verification
// (an http source that checks only the endpoint token): decoding, typing, CEL mappings,
// encoding. Whatever the body, the answer is 200 or a 4xx, never a panic or a 5xx.
func FuzzServeEvent(f *testing.F) {
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification:   v1alpha1.Verification{Type: v1alpha1.VerificationNone},
		EventType:      "string(body.type)",
		IdempotencyKey: "body.?id.orValue('')",
		UserID:         "body.?user.?id.orValue('')",
	}}
	mapping := v1alpha1.EventMappingSpec{EventType: "order.paid", When: "body.?total.orValue(0) > 10", Actions: []v1alpha1.Action{
		{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "w", Recipients: "[body.user.id]", Data: `{"total": body.total, "items": body.?items.orValue([])}`}},
		{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.user.id", Properties: "body.?user.?traits.orValue({})"}},
	}}
	in := fixture("fuzz", spec, "", mapping)
	srv := ingress.NewServer(ingress.Options{Publisher: discardPublisher{}, Logger: logr.Discard()})
	snap := config.Build(in)
	if len(snap.Problems) > 0 {
		f.Fatal(snap.Problems)
	}
	srv.SetSnapshot(snap)
	handler := srv.Handler()
	for _, seed := range []string{
		`{"type":"order.paid","id":"o1","total":20,"user":{"id":"u1","traits":{"email":"a@b.c"}}}`,
		`{"type":"order.paid","total":5,"user":{"id":7}}`,
		`[{"type":"order.paid","total":11,"user":{"id":"u"}},{"type":"x"}]`,
		"{\"type\":\"order.paid\"}\n{\"type\":\"order.paid\",\"total\":1e308,\"user\":{\"id\":[]}}",
		`{"type":null}`, `{"type":"order.paid","user":{"id":"u"},"total":"NaN"}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte("{\"type\":\"order.paid\"}\n{\"type\":1}"), "application/x-ndjson")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "/e/default/fuzz-test/"+testToken, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
