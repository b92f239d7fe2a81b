package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/sign"
	"inlet.dev/inlet/ingress/wire"
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

// redactionCase is one source type or verification scheme, with the headers an
// authentic sender of it sets; every value in secrets must never be stored.
type redactionCase struct {
	spec   v1alpha1.SourceSpec
	secret string
	body   string
	// header adds the headers the case's scheme needs beyond what provider.Sign sets.
	header func(h http.Header, secret string, body []byte)
}

func redactionCases() map[string]redactionCase {
	cases := map[string]redactionCase{}
	for name, tc := range sourceCases {
		c := redactionCase{spec: tc.spec, secret: tc.secret, body: tc.body}
		if name == "http" {
			c.header = func(h http.Header, _ string, _ []byte) {
				h.Set("X-GitHub-Event", "issues")
				h.Set("X-GitHub-Delivery", "d-1")
			}
		}
		cases[name] = c
	}
	body := `{"type":"order.paid","id":"o_1","user":"u_1"}`
	httpSource := func(v v1alpha1.Verification) v1alpha1.SourceSpec {
		return v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{Verification: v, UserID: "body.user"}}
	}
	cases["supabase-header"] = redactionCase{spec: v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSupabase,
		HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthHeader, Header: "X-Supabase-Key"}},
		secret: "supabase-key-7d1e0c", body: sourceCases["supabase"].body}
	cases["shopify-hmac"] = redactionCase{spec: httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationHMAC,
		HMAC: &v1alpha1.HMACVerification{Header: "X-Shopify-Hmac-Sha256", Algorithm: v1alpha1.HMACSHA256, Encoding: v1alpha1.EncodingBase64}}),
		secret: "shpss_0a1b2c3d4e5f", body: body}
	cases["hmac-timestamped"] = redactionCase{spec: httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationHMAC,
		HMAC: &v1alpha1.HMACVerification{Header: "X-Request-Mac", Algorithm: v1alpha1.HMACSHA512, Encoding: v1alpha1.EncodingHex,
			Prefix: "v1=", SignedContent: v1alpha1.SignedIDTimestampBody, TimestampHeader: "X-Request-Time", IDHeader: "X-Request-Id"}}),
		secret: "mac-secret-99f1", body: body}
	cases["standard-webhooks"] = redactionCase{spec: httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationStandardWebhooks}),
		secret: "whsec_c3RhbmRhcmQtd2ViaG9va3Mtc2VjcmV0", body: body}
	cases["http-basic"] = redactionCase{spec: httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationBasic}),
		secret: "basic-user:basic-pass-5e2a", body: body}
	cases["http-bearer"] = redactionCase{spec: httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationBearer}),
		secret: "bearer-token-31c9", body: body}
	cases["shared-key"] = redactionCase{spec: httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationHeaderToken,
		HeaderToken: &v1alpha1.HeaderTokenVerification{Header: "X-Shared-Key"}}),
		secret: "shared-key-8b4d", body: body}
	cases["cel"] = redactionCase{spec: httpSource(v1alpha1.Verification{Type: v1alpha1.VerificationCEL,
		CEL: &v1alpha1.CELVerification{Expression: `hex.encode(hmac.sha256(vars.signingSecret, rawBody)) == headers['x-body-mac']`}}),
		secret: "cel-secret-44aa", body: body,
		header: func(h http.Header, secret string, body []byte) {
			sig, _ := sign.HMAC(v1alpha1.HMACSHA256, v1alpha1.EncodingHex, secret, body)
			h.Set("X-Body-Mac", sig)
		}}
	return cases
}

// Nothing a SourceEnvironment's verification reads, and no configured secret, reaches
// the event log or `inlet events`, for every source type and verification scheme:
// whatever the header's name says, and wherever a secret value appears in a header.
func TestEventLogRedactsWhatVerificationReads(t *testing.T) {
	const secretVar = "var-secret-6f0e2b"
	var all []config.Inputs
	cases := redactionCases()
	for name, tc := range cases {
		in := fixture(name, tc.spec, tc.secret)
		in.Secrets = append(in.Secrets, corev1.Secret{ObjectMeta: meta(name + "-vars"), Data: map[string][]byte{"v": []byte(secretVar)}})
		in.SourceEnvironments[0].Spec.Variables = []v1alpha1.Variable{{Name: "apiKey", SecretKeyRef: &v1alpha1.SecretKeyReference{Name: name + "-vars", Key: "v"}}}
		all = append(all, in)
	}
	h := newHarness(t, merge(all...))
	// used collects every secret, signature and token sent.
	used := map[string]string{"endpoint token": testToken, "secret variable": secretVar}
	for name, tc := range cases {
		body := []byte(tc.body)
		var header http.Header
		path := "/e/" + ns + "/" + name + "-test"
		if name == "cel" { // signed by tc.header: inlet send does not know CEL schemes
			header = http.Header{"Content-Type": {"application/json"}}
		} else {
			header, path = h.sign(name+"-test", body)
		}
		if tc.header != nil {
			tc.header(header, tc.secret, body)
		}
		// A sender (or a proxy) echoing secrets into headers of its own.
		header.Set("X-Debug-Forwarded", "key="+secretVar)
		header.Set("Referer", h.http.URL+path)
		header.Set("X-Echo", tc.secret)
		if tc.secret != "" {
			used[name+" secret"] = tc.secret
		}
		for k, v := range header {
			switch strings.ToLower(k) {
			case "content-type", "x-github-event", "x-github-delivery", "x-debug-forwarded", "referer", "x-echo",
				"svix-id", "svix-timestamp", "webhook-id", "webhook-timestamp", "x-request-time", "x-request-id",
				"x-slack-request-timestamp":
				continue
			}
			used[name+" "+k] = strings.TrimPrefix(strings.TrimPrefix(v[0], "Bearer "), "Basic ")
		}
		a := h.post(h.http.URL, path, header, body)
		if a.Status != http.StatusOK {
			t.Fatalf("%s: %+v", name, a)
		}
		// The same headers with another body: refused (401, or 400 where nothing is
		// signed), and logged with its headers too.
		h.post(h.http.URL, path, header, []byte(`{"tampered":true}`))
		rec := h.eventLog(name+"-test", a.EventIDs[0])
		for k, v := range rec.Headers {
			if strings.Contains(k, "signature") || strings.Contains(k, "mac") || k == "authorization" || k == "x-shared-key" || k == "x-supabase-key" {
				if v != "[redacted]" {
					t.Errorf("%s: header %s = %q, want [redacted]", name, k, v)
				}
			}
		}
	}
	var stored strings.Builder
	waitFor(t, "the refused requests' records", func() bool {
		stored.Reset()
		n := 0
		for _, m := range h.messages(v1alpha1.DefaultLogStream, jetstream.LogStreamSubject) {
			stored.Write(m.Data)
			stored.WriteByte('\n')
			n++
		}
		return n >= 2*len(cases)
	})
	out := stored.String()
	for what, v := range used {
		if len(v) >= 6 && strings.Contains(out, v) {
			t.Errorf("the event log holds the %s %q", what, v)
		}
	}
	if !strings.Contains(out, "[redacted]") {
		t.Error("no header was redacted at all")
	}
}

// eventRecords decodes the event log records of one SourceEnvironment.
func (h *harness) eventRecords(sourceEnvironment string) []wire.EventRecord {
	h.t.Helper()
	var out []wire.EventRecord
	for _, m := range h.messages(v1alpha1.DefaultLogStream, jetstream.EventLogFilter(ns, sourceEnvironment)) {
		var rec wire.EventRecord
		if err := json.Unmarshal(m.Data, &rec); err != nil {
			h.t.Fatalf("event record: %v", err)
		}
		out = append(out, rec)
	}
	return out
}

// hugeHeaders are 40 KB of headers, as an anonymous sender may send.
func hugeHeaders() http.Header {
	h := http.Header{}
	for i := range 40 {
		h.Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("f", 1000))
	}
	return h
}

// Refused requests are logged without their payload, with their headers capped, and
// within a budget per SourceEnvironment: anonymous traffic cannot fill the log stream.
func TestRefusedRequestsAreLoggedWithinBounds(t *testing.T) {
	stripe := sourceCases["stripe"]
	seg := sourceCases["segment"]
	in := merge(fixture("stripe", stripe.spec, stripe.secret), fixture("segment", seg.spec, seg.secret))
	in.SourceEnvironments[0].Spec.Ingress.MaxBodySize = ptrQuantity("1Ki")
	h := newHarness(t, in)
	const marker = "payload-marker-3c1f"
	body := []byte(`{"type":"x","note":"` + marker + `"}`)
	start := time.Now()
	for i := range 60 {
		h.post(h.http.URL, "/e/default/stripe-test", hugeHeaders(), body) // 401
		if i < 5 {
			h.post(h.http.URL, "/e/default/stripe-test", hugeHeaders(), []byte(`{"type":"`+strings.Repeat("x", 2000)+`"}`)) // 413
			h.post(h.http.URL, "/e/default/segment-test/tok_wrong_wrong_wrong_wrong_wrong", hugeHeaders(), body)            // 401
		}
	}
	elapsed := time.Since(start)
	budget := ingress.DefaultRefusedLogLimit.Burst + int(elapsed.Seconds()*ingress.DefaultRefusedLogLimit.PerSecond) + 1
	var recs []wire.EventRecord
	waitFor(t, "the refused requests' records", func() bool {
		recs = h.eventRecords("stripe-test")
		return len(recs) >= ingress.DefaultRefusedLogLimit.Burst
	})
	time.Sleep(100 * time.Millisecond)
	recs = h.eventRecords("stripe-test")
	if len(recs) > budget {
		t.Errorf("%d records of refused requests, want at most %d", len(recs), budget)
	}
	statuses := map[string]int{}
	for _, rec := range recs {
		statuses[rec.Status]++
		data, _ := json.Marshal(rec)
		if len(data) > 6<<10 || len(rec.Payload) > 0 || strings.Contains(string(data), marker) || !rec.HeadersTruncated {
			t.Errorf("a refused request's record is %d bytes, payload %q, headersTruncated %v", len(data), rec.Payload, rec.HeadersTruncated)
		}
	}
	if statuses["unauthorized"] == 0 || statuses["too_large"] == 0 {
		t.Errorf("records by status: %v, want 401s and 413s", statuses)
	}
	if recs := h.eventRecords("segment-test"); len(recs) != 5 || recs[0].Status != "unauthorized" || !strings.Contains(recs[0].Error, "endpoint_token") {
		t.Errorf("a wrong endpoint token's records: %+v", recs)
	}
	if m := h.metricsText(); !strings.Contains(m, "inlet_ingress_refused_requests_not_logged_total") || strings.Contains(m, "inlet_ingress_refused_requests_not_logged_total 0\n") {
		t.Errorf("/metrics does not count the refused requests left out of the log")
	}
}

// A request that passed verification and could not be read as events came from the
// sender: its record keeps the body as a JSON string of its bytes, so that one can see
// what the sender sent; it is answered 400. A source that sends credentials in its
// payloads (Slack) keeps none of a body it could not read, as it cannot redact it.
func TestVerifiedMalformedBodyIsKept(t *testing.T) {
	stripe, slack := sourceCases["stripe"], sourceCases["slack"]
	h := newHarness(t, merge(fixture("stripe", stripe.spec, stripe.secret), fixture("slack", slack.spec, slack.secret)))
	for _, body := range []string{`{"id":"evt_cut","type":"customer.created","data":`, "[1,2]", "{\"id\":\"evt_\xff\"}"} {
		if a := h.send("stripe-test", []byte(body)); a.Status != http.StatusBadRequest {
			t.Fatalf("%q: answer %+v, want 400", body, a)
		}
	}
	var recs []wire.EventRecord
	waitFor(t, "the malformed requests' records", func() bool {
		recs = h.eventRecords("stripe-test")
		return len(recs) == 3
	})
	got := map[string]bool{}
	for _, rec := range recs {
		var stored string
		if err := json.Unmarshal(rec.Payload, &stored); err != nil || rec.Status != wire.EventMalformed || !rec.Verified || rec.Error == "" {
			t.Errorf("record %+v: payload %s (%v), want a verified malformed record with its body as a JSON string", rec, rec.Payload, err)
		}
		got[stored] = true
	}
	for _, want := range []string{`{"id":"evt_cut","type":"customer.created","data":`, "[1,2]", "{\"id\":\"evt_\uFFFD\"}"} {
		if !got[want] {
			t.Errorf("no record keeps %q; kept %v", want, got)
		}
	}

	if a := h.send("slack-test", []byte(`{"token":"xoxb-secret","type":`)); a.Status != http.StatusBadRequest {
		t.Fatalf("slack: answer %+v, want 400", a)
	}
	waitFor(t, "the Slack record", func() bool { recs = h.eventRecords("slack-test"); return len(recs) == 1 })
	if len(recs[0].Payload) != 0 || strings.Contains(fmt.Sprint(recs[0]), "xoxb-secret") {
		t.Errorf("a Slack body that could not be read is stored: %+v", recs[0])
	}
}

// An action larger than NATS's max payload can never be stored: the answer is 200 with
// the action marked failed, not 503 (the sender would retry for days for nothing).
func TestPermanentPublishFaultIsNotAnswered503(t *testing.T) {
	stripe := sourceCases["stripe"]
	m := trigger("big", "['u1']")
	m.Actions[0].TriggerWorkflow.Data = `{"blob": body.blob}`
	in := fixture("stripe", stripe.spec, stripe.secret, m)
	in.SourceEnvironments[0].Spec.Ingress.MaxBodySize = ptrQuantity("2Mi")
	h := newHarness(t, in)
	body := []byte(`{"id":"evt_big","type":"big","blob":"` + strings.Repeat("b", 1100*1024) + `"}`)
	a := h.send("stripe-test", body)
	if a.Status != http.StatusOK || a.RetryAfter != "" || a.Failed != 1 || a.Actions != 0 {
		t.Fatalf("answer = %+v, want 200 with the action failed", a)
	}
	rec := h.eventLog("stripe-test", a.EventIDs[0])
	if len(rec.ActionLog) != 1 || rec.ActionLog[0].Status != "failed" || !strings.Contains(rec.ActionLog[0].Error, "retry cannot fix") {
		t.Errorf("action log = %+v", rec.ActionLog)
	}
	if !rec.PayloadOmitted || rec.Size != len(body) {
		t.Errorf("record: payloadOmitted %v, size %d", rec.PayloadOmitted, rec.Size)
	}
}

// An event just under the body limit is accepted and gets its event log record, with
// the payload left out (it would not fit in one NATS message) and a flag saying so.
func TestNearLimitEventGetsARecord(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret, trigger("near.limit", "['u1']")))
	prefix := `{"id":"evt_near","type":"near.limit","pad":"`
	body := []byte(prefix + strings.Repeat("p", 1048000-len(prefix)-2) + `"}`)
	if len(body) != 1048000 {
		t.Fatalf("body is %d bytes", len(body))
	}
	a := h.send("stripe-test", body)
	if a.Status != http.StatusOK || a.Actions != 1 {
		t.Fatalf("answer = %+v", a)
	}
	rec := h.eventLog("stripe-test", a.EventIDs[0])
	if !rec.PayloadOmitted || rec.Size != len(body) || rec.Type != "near.limit" || len(rec.ActionLog) != 1 || rec.ActionLog[0].Status != "published" {
		t.Errorf("record = %+v", rec)
	}
	// A small event keeps its payload.
	small := h.send("stripe-test", []byte(stripe.body))
	if rec := h.eventLog("stripe-test", small.EventIDs[0]); rec.PayloadOmitted || len(rec.Payload) == 0 {
		t.Errorf("a small event's record: payloadOmitted %v, payload %q", rec.PayloadOmitted, rec.Payload)
	}
}

// spec.ingress.rateLimit answers 429 with Retry-After past the burst.
func TestRateLimitAnswers429(t *testing.T) {
	stripe := sourceCases["stripe"]
	in := fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "['u1']"))
	burst := int32(3)
	in.SourceEnvironments[0].Spec.Ingress.RateLimit = &v1alpha1.RateLimitSpec{RequestsPerSecond: 1, Burst: &burst}
	h := newHarness(t, in)
	codes := map[int]int{}
	retryAfter := ""
	start := time.Now()
	for range 10 {
		a := h.send("stripe-test", []byte(stripe.body))
		codes[a.Status]++
		if a.Status == http.StatusTooManyRequests {
			retryAfter = a.RetryAfter
		}
	}
	// The burst, then one a second.
	allowed := int(burst) + int(time.Since(start).Seconds()) + 1
	if codes[http.StatusOK] < int(burst) || codes[http.StatusOK] > allowed || codes[http.StatusOK]+codes[http.StatusTooManyRequests] != 10 {
		t.Errorf("answers = %v, want %d to %d 200 and the rest 429", codes, burst, allowed)
	}
	if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 {
		t.Errorf("Retry-After = %q, want whole seconds", retryAfter)
	}
	if m := h.metricsText(); !strings.Contains(m, `result="rate_limited"`) {
		t.Error("/metrics does not count the 429s")
	}
}

// 10,000 hostile requests (random paths, huge headers, bad signatures, oversized
// bodies, a flood past a rate limit) against a real server and NATS: /metrics, the log
// stream and the heap stay within their bounds.
func TestHostileTrafficStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 10,000 requests")
	}
	stripe := sourceCases["stripe"]
	ph := sourceCases["posthog"]
	in := merge(fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "['u1']")),
		fixture("posthog", ph.spec, ""))
	in.SourceEnvironments[0].Spec.Ingress.MaxBodySize = ptrQuantity("64Ki")
	in.SourceEnvironments[1].Spec.Ingress.RateLimit = &v1alpha1.RateLimitSpec{RequestsPerSecond: 50}
	h := newHarness(t, in)
	ctx := context.Background()
	logBytes := func() uint64 {
		s, err := h.client.JetStream().Stream(ctx, v1alpha1.DefaultLogStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Bytes
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// Warm up: one good event, so every series of the configured resources exists.
	if a := h.send("stripe-test", []byte(stripe.body)); a.Status != http.StatusOK {
		t.Fatalf("warm-up: %+v", a)
	}
	metricsBefore, logBefore, heapBefore := len(h.metricsText()), logBytes(), heap()

	const total, workers = 10000, 8
	big := hugeHeaders()
	oversized := bytes.Repeat([]byte("o"), 100<<10)
	codes := make([]map[int]int, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		codes[w] = map[int]int{}
		wg.Go(func() {
			client := &http.Client{}
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := w; i < total; i += workers {
				var req *http.Request
				switch i % 5 {
				case 0: // a random path
					req, _ = http.NewRequest(http.MethodPost, fmt.Sprintf("%s/e/ns-%x/se-%x/%x", h.http.URL, rng.Uint64(), rng.Uint64(), rng.Uint64()), strings.NewReader(`{}`))
				case 1: // huge headers, no signature
					req, _ = http.NewRequest(http.MethodPost, h.http.URL+"/e/default/stripe-test", strings.NewReader(stripe.body))
					maps.Copy(req.Header, big)
				case 2: // a bad signature
					req, _ = http.NewRequest(http.MethodPost, h.http.URL+"/e/default/stripe-test", strings.NewReader(stripe.body))
					req.Header.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%064x", time.Now().Unix(), rng.Uint64()))
				case 3: // past the body limit
					req, _ = http.NewRequest(http.MethodPost, h.http.URL+"/e/default/stripe-test", bytes.NewReader(oversized))
				case 4: // a flood with wrong tokens past the rate limit
					req, _ = http.NewRequest(http.MethodPost, fmt.Sprintf("%s/e/default/posthog-test/tok_%032x", h.http.URL, rng.Uint64()), strings.NewReader(ph.body))
					maps.Copy(req.Header, big)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[w][resp.StatusCode]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := map[int]int{}
	for _, c := range codes {
		for k, n := range c {
			all[k] += n
		}
	}
	t.Logf("%d requests in %s: %v", total, elapsed.Round(time.Millisecond), all)
	if all[http.StatusOK] != 0 || all[http.StatusNotFound] != total/5 || all[http.StatusTooManyRequests] == 0 {
		t.Errorf("answers = %v", all)
	}

	closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h.server.Close(closeCtx) // write what the log writer holds
	time.Sleep(200 * time.Millisecond)

	metricsAfter := len(h.metricsText())
	// The counters of the new results and codes, a few hundred bytes each.
	if grew := metricsAfter - metricsBefore; grew > 8<<10 {
		t.Errorf("/metrics grew by %d bytes to %d, want at most 8 KiB", grew, metricsAfter)
	}
	// Two SourceEnvironments' budgets of refused records, each at most ~6 KB.
	l := ingress.DefaultRefusedLogLimit
	records := 2 * (l.Burst + int(elapsed.Seconds()*l.PerSecond) + 1)
	if grew := logBytes() - logBefore; grew > uint64(records*6<<10) {
		t.Errorf("the log stream grew by %d bytes, want at most %d (%d records)", grew, records*6<<10, records)
	}
	if grew := int64(heap()) - int64(heapBefore); grew > 32<<20 {
		t.Errorf("the heap grew by %d MiB", grew>>20)
	}
}
