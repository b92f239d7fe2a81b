package ingress_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/jetstream/natstest"
	"inlet.dev/inlet/ingress/provider"
	"inlet.dev/inlet/ingress/sign"
)

// sourceCases are one realistic event per source type, the event type inlet should give
// it, and the user the mapping's recipients expression (event.user_id) should find.
var sourceCases = map[string]struct {
	spec      v1alpha1.SourceSpec
	secret    string
	body      string
	eventType string
	user      string
}{
	"stripe": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeStripe}, "whsec_test_secret",
		`{"id":"evt_1","object":"event","type":"customer.subscription.created","data":{"object":{"id":"sub_1","customer":"cus_1"}}}`,
		"customer.subscription.created", "cus_1"},
	"clerk": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeClerk}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		`{"type":"user.created","object":"event","data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC"}}`,
		"user.created", "user_29w83sxmDNGwOuEthce5gg56FcC"},
	"workos": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeWorkOS}, "workos_secret",
		`{"id":"event_01","event":"dsync.user.created","data":{"id":"directory_user_1","user_id":"user_01"}}`,
		"dsync.user.created", "user_01"},
	"supabase": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSupabase, HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthBearer}}, "sb_token",
		`{"type":"INSERT","table":"users","schema":"auth","record":{"id":"u_supa"},"old_record":null}`,
		"auth.users:INSERT", "u_supa"},
	"posthog": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypePostHog}, "",
		`{"type":"track","event":"$pageview","messageId":"m1","distinct_id":"u_ph","properties":{"path":"/"}}`,
		"$pageview", "u_ph"},
	"segment": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSegment}, "abc123",
		`{"type":"track","event":"Signed Up","userId":"u_seg","messageId":"m_seg","properties":{"plan":"pro"}}`,
		"Signed Up", "u_seg"},
	"rudderstack": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeRudderStack}, "",
		`{"type":"track","event":"Order Completed","userId":"u_rs","messageId":"m_rs","properties":{}}`,
		"Order Completed", "u_rs"},
	"jitsu": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeJitsu}, "",
		`{"type":"track","event":"Trial Started","userId":"u_j","messageId":"m_j"}`,
		"Trial Started", "u_j"},
	"freshpaint": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeFreshpaint, HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthHeader}}, "fp_secret",
		`{"type":"identify","userId":"u_fp","messageId":"m_fp","traits":{"email":"a@b.c"}}`,
		"identify", "u_fp"},
	"hightouch": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHightouch, HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthBearer}}, "ht_token",
		`{"event":"churn_risk","user_id":"u_ht","score":0.9}`,
		"churn_risk", "u_ht"},
	"census": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeCensus, HeaderAuth: &v1alpha1.HeaderAuth{Scheme: v1alpha1.HeaderAuthBasic}}, "census:pw",
		`{"user_id":"u_census","plan":"pro"}`,
		"record", "u_census"},
	"polytomic": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypePolytomic}, "",
		`{"type":"account_synced","userId":"u_poly"}`,
		"account_synced", "u_poly"},
	"slack": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSlack}, "8f742231b10e8888abcd99yyyzzz85a5",
		`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U061F7AUR","text":"hi"}}`,
		"app_mention", "U061F7AUR"},
	"http": {v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification:   v1alpha1.Verification{Type: v1alpha1.VerificationGitHub},
		EventType:      "headers['x-github-event'] + '.' + body.action",
		IdempotencyKey: "headers['x-github-delivery']",
		UserID:         "string(int(body.sender.id))",
	}}, "It's a Secret to Everybody",
		`{"action":"opened","sender":{"id":42}}`,
		"issues.opened", "42"},
}

func TestEverySourceTypePublishesItsActions(t *testing.T) {
	var all []config.Inputs
	for name, tc := range sourceCases {
		all = append(all, fixture(name, tc.spec, tc.secret, trigger(tc.eventType, "[event.user_id]")))
	}
	h := newHarness(t, merge(all...))
	for name, tc := range sourceCases {
		t.Run(name, func(t *testing.T) {
			header, path := h.sign(name+"-test", []byte(tc.body))
			if name == "http" {
				header.Set("X-GitHub-Event", "issues")
				header.Set("X-GitHub-Delivery", "d-1")
			}
			a := h.post(h.http.URL, path, header, []byte(tc.body))
			if a.Status != http.StatusOK || a.Actions != 1 {
				t.Fatalf("answer = %+v, want 200 with 1 action", a)
			}
			got := h.actions(jetstream.ActionSubject("production", "triggerWorkflow"))
			var mine []string
			for _, m := range got {
				if m.Source.SourceEnvironment == name+"-test" {
					mine = append(mine, fmt.Sprint(m.Params["recipients"]))
					if m.Event.Type != tc.eventType || m.Params["workflow"] != "w" || m.Environment != "production" {
						t.Errorf("message = %+v", m)
					}
				}
			}
			if want := []string{"[" + tc.user + "]"}; !slices.Equal(mine, want) {
				t.Errorf("recipients = %v, want %v", mine, want)
			}
		})
	}
}

// A wrong signature never gets in: each negative case is 401 and publishes nothing.
func TestVerificationFailuresAre401(t *testing.T) {
	stripe := sourceCases["stripe"]
	clerk := sourceCases["clerk"]
	segment := sourceCases["segment"]
	h := newHarness(t, merge(
		fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "['x']")),
		fixture("clerk", clerk.spec, clerk.secret, trigger(clerk.eventType, "['x']")),
		fixture("segment", segment.spec, segment.secret, trigger(segment.eventType, "['x']")),
	))
	body := []byte(stripe.body)
	now := time.Now()
	tests := map[string]struct {
		path   string
		header http.Header
		body   []byte
	}{
		"stripe tampered body": {"/e/default/stripe-test", http.Header{"Stripe-Signature": {sign.Stripe("whsec_test_secret", now, body)}}, []byte(strings.Replace(string(body), "cus_1", "cus_2", 1))},
		"stripe wrong secret":  {"/e/default/stripe-test", http.Header{"Stripe-Signature": {sign.Stripe("whsec_other", now, body)}}, body},
		"stripe stale":         {"/e/default/stripe-test", http.Header{"Stripe-Signature": {sign.Stripe("whsec_test_secret", now.Add(-6*time.Minute), body)}}, body},
		"stripe from future":   {"/e/default/stripe-test", http.Header{"Stripe-Signature": {sign.Stripe("whsec_test_secret", now.Add(6*time.Minute), body)}}, body},
		"stripe no header":     {"/e/default/stripe-test", http.Header{}, body},
		"clerk missing svix-id": {"/e/default/clerk-test", func() http.Header {
			h, _ := provider.Sign(&clerk.spec, clerk.secret, now, []byte(clerk.body))
			h.Del("svix-id")
			return h
		}(), []byte(clerk.body)},
		"segment without token":   {"/e/default/segment-test", http.Header{}, []byte(segment.body)},
		"segment wrong token":     {"/e/default/segment-test/tok_wrong_wrong_wrong_wrong_wrong", http.Header{}, []byte(segment.body)},
		"segment bad X-Signature": {"/e/default/segment-test/" + testToken, http.Header{"X-Signature": {strings.Repeat("0", 40)}}, []byte(segment.body)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := h.post(h.http.URL, tc.path, tc.header, tc.body)
			if a.Status != http.StatusUnauthorized {
				t.Errorf("status = %d (%+v), want 401", a.Status, a)
			}
			if strings.Contains(a.Error, "whsec") || strings.Contains(a.Error, testToken) {
				t.Errorf("the answer leaks a secret: %q", a.Error)
			}
		})
	}
	if got := h.actions(jetstream.ActionStreamSubject); len(got) != 0 {
		t.Errorf("%d actions published for rejected requests", len(got))
	}
}

func TestBadRequests(t *testing.T) {
	stripe := sourceCases["stripe"]
	in := fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "['x']"))
	in.SourceEnvironments[0].Spec.Ingress.MaxBodySize = ptrQuantity("1Ki")
	h := newHarness(t, in)
	tests := map[string]struct {
		body   string
		method string
		path   string
		status int
		error  string
	}{
		"not JSON":         {"{nope", http.MethodPost, "", http.StatusBadRequest, "JSON"},
		"no event type":    {`{"id":"evt_1"}`, http.MethodPost, "", http.StatusBadRequest, "type"},
		"too large":        {`{"type":"x","pad":"` + strings.Repeat("a", 2048) + `"}`, http.MethodPost, "", http.StatusRequestEntityTooLarge, "larger than 1024 bytes"},
		"unknown endpoint": {`{}`, http.MethodPost, "/e/default/nope", http.StatusNotFound, "no SourceEnvironment"},
		"GET":              {``, http.MethodGet, "", http.StatusMethodNotAllowed, "POST"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/e/default/stripe-test"
			}
			header, _ := h.sign("stripe-test", []byte(tc.body))
			req, _ := http.NewRequest(tc.method, h.http.URL+path, strings.NewReader(tc.body))
			req.Header = header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := new(strings.Builder)
			_, _ = fmt.Fprint(buf, readAll(resp))
			if resp.StatusCode != tc.status || !strings.Contains(buf.String(), tc.error) {
				t.Errorf("got %d %s, want %d mentioning %q", resp.StatusCode, buf, tc.status, tc.error)
			}
		})
	}
}

// No event answered 2xx is acted on twice: replays, concurrent deliveries and two
// ingress instances store each action once.
func TestDuplicatesAreStoredOnce(t *testing.T) {
	stripe := sourceCases["stripe"]
	mapping := v1alpha1.EventMappingSpec{EventType: stripe.eventType, Actions: []v1alpha1.Action{
		{TriggerWorkflow: &v1alpha1.TriggerWorkflowAction{Workflow: "welcome", Recipients: "[body.data.object.customer]"}},
		{IdentifyUser: &v1alpha1.IdentifyUserAction{ID: "body.data.object.customer"}},
	}}
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret, mapping))
	second := h.newServer(h.connect()) // another ingress instance, its own NATS connection
	secondHTTP := httptestServer(t, second.Handler())

	event := func(id string) []byte {
		return []byte(strings.Replace(stripe.body, `"evt_1"`, `"`+id+`"`, 1))
	}
	first := h.send("stripe-test", event("evt_seq"))
	again := h.send("stripe-test", event("evt_seq"))
	if first.Status != 200 || first.Actions != 2 || first.Idempotent {
		t.Errorf("first delivery = %+v", first)
	}
	if again.Status != 200 || !again.Idempotent || again.Duplicates != 2 {
		t.Errorf("replay = %+v, want idempotent with 2 duplicates", again)
	}
	if rec := h.eventLog("stripe-test", again.EventIDs[0]); !rec.Idempotent || rec.IdempotencyKey != "evt_seq" {
		t.Errorf("replay's event log record = %+v, want idempotent with key evt_seq", rec)
	}

	// 16 concurrent deliveries of each of 8 events, split over the two instances.
	var wg sync.WaitGroup
	for i := range 8 {
		for j := range 16 {
			wg.Go(func() {
				base := h.http.URL
				if j%2 == 1 {
					base = secondHTTP
				}
				if a := h.sendTo(base, "stripe-test", event(fmt.Sprintf("evt_c%d", i))); a.Status != 200 {
					t.Errorf("concurrent delivery: %+v", a)
				}
			})
		}
	}
	wg.Wait()

	counts := map[string]int{}
	for _, m := range h.actions(jetstream.ActionStreamSubject) {
		counts[m.Event.IdempotencyKey+"/"+m.Action]++
	}
	if len(counts) != 2*9 {
		t.Errorf("stored actions for %d (event, action) pairs, want %d", len(counts), 2*9)
	}
	for k, n := range counts {
		if n != 1 {
			t.Errorf("%s stored %d times", k, n)
		}
	}
	// identifyUser is stored before triggerWorkflow for each event.
	var order []string
	for _, m := range h.actions(jetstream.ActionStreamSubject) {
		if m.Event.IdempotencyKey == "evt_seq" {
			order = append(order, m.Action)
		}
	}
	if !slices.Equal(order, []string{"identifyUser", "triggerWorkflow"}) {
		t.Errorf("stored order = %v", order)
	}
}

// A JetStream outage gives 503 with Retry-After; the sender's retry after recovery
// completes with no duplicate.
func TestOutageIs503AndRetryCompletes(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "[body.data.object.customer]")))
	body := []byte(stripe.body)
	if a := h.send("stripe-test", body); a.Status != 200 {
		t.Fatalf("before the outage: %+v", a)
	}
	restart := natstest.Outage(t, h.nats)
	outage := h.send("stripe-test", []byte(strings.Replace(stripe.body, "evt_1", "evt_2", 1)))
	if outage.Status != http.StatusServiceUnavailable || outage.RetryAfter != "3" {
		t.Errorf("during the outage: %+v, want 503 with Retry-After 3", outage)
	}
	h.nats = restart()
	waitFor(t, "NATS reconnected", h.client.Connected)
	retry := h.send("stripe-test", []byte(strings.Replace(stripe.body, "evt_1", "evt_2", 1)))
	replay := h.send("stripe-test", body)
	if retry.Status != 200 || retry.Actions != 1 || retry.Idempotent {
		t.Errorf("retry after recovery: %+v", retry)
	}
	if !replay.Idempotent {
		t.Errorf("replay of the event stored before the outage: %+v, want idempotent", replay)
	}
	if got := h.actions(jetstream.ActionStreamSubject); len(got) != 2 {
		t.Errorf("stored %d actions, want 2 (one per event)", len(got))
	}
}

func TestTriggerWithMoreThan1000RecipientsIsRefused(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret,
		trigger(stripe.eventType, "lists.range(int(body.n)).map(i, 'user-' + string(i))"),
		v1alpha1.EventMappingSpec{EventType: stripe.eventType, Actions: []v1alpha1.Action{{DeleteTenant: &v1alpha1.DeleteTenantAction{ID: "'t1'"}}}},
	))
	body := func(n int) []byte {
		return []byte(fmt.Sprintf(`{"id":"evt_%d","type":%q,"n":%d}`, n, stripe.eventType, n))
	}
	ok := h.send("stripe-test", body(1000))
	tooMany := h.send("stripe-test", body(1001))
	if ok.Status != 200 || ok.Actions != 2 || ok.Failed != 0 {
		t.Errorf("1000 recipients: %+v, want both actions", ok)
	}
	if tooMany.Status != 200 || tooMany.Actions != 1 || tooMany.Failed != 1 {
		t.Errorf("1001 recipients: %+v, want the trigger refused and the other action published", tooMany)
	}
	triggers := h.actions(jetstream.ActionSubject("production", "triggerWorkflow"))
	if len(triggers) != 1 || len(triggers[0].Params["recipients"].([]any)) != 1000 {
		t.Errorf("stored triggers = %d, want only the one with 1000 recipients", len(triggers))
	}
}

func TestBatchesAndIdentifyUsers(t *testing.T) {
	seg := sourceCases["segment"]
	in := fixture("segment", seg.spec, "", trigger("Signed Up", "[body.userId]"))
	in.SourceEnvironments[0].Spec.IdentifyUsers = true
	h := newHarness(t, in)
	batch := `[{"type":"identify","userId":"u1","messageId":"m1","traits":{"name":"Ada","email":"ada@example.com","plan":"pro"}},
	           {"type":"track","event":"Signed Up","userId":"u1","messageId":"m2"}]`
	a := h.send("segment-test", []byte(batch))
	if a.Status != 200 || a.Events != 2 || a.Actions != 2 {
		t.Fatalf("batch: %+v, want 2 events and 2 actions", a)
	}
	ids := h.actions(jetstream.ActionSubject("production", "identifyUser"))
	if len(ids) != 1 || ids[0].Params["id"] != "u1" {
		t.Fatalf("identify actions = %+v", ids)
	}
	props := ids[0].Params["properties"].(map[string]any)
	if props["name"] != "Ada" || props["email"] != "ada@example.com" || props["plan"] != "pro" {
		t.Errorf("identify properties = %v", props)
	}
}

// The event log holds each event with its headers, secrets removed.
func TestEventLogRedactsSecrets(t *testing.T) {
	sb := sourceCases["supabase"]
	h := newHarness(t, fixture("supabase", sb.spec, sb.secret, trigger(sb.eventType, "[body.record.id]")))
	a := h.send("supabase-test", []byte(sb.body))
	if a.Status != 200 {
		t.Fatalf("send: %+v", a)
	}
	rec := h.eventLog("supabase-test", a.EventIDs[0])
	if rec.Headers["authorization"] != "[redacted]" || rec.Type != sb.eventType || !rec.Verified || rec.Actions != 1 {
		t.Errorf("event record = %+v", rec)
	}
	for _, m := range h.messages(v1alpha1.DefaultLogStream, jetstream.LogStreamSubject) {
		if strings.Contains(string(m.Data), sb.secret) || strings.Contains(string(m.Data), testToken) {
			t.Errorf("log record on %s contains a secret", m.Subject)
		}
	}
}

// An edited mapping is live as soon as the new snapshot is swapped in.
func TestSnapshotSwap(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "['before']")))
	h.send("stripe-test", []byte(stripe.body))
	h.in.EventMappings[0].Spec.Actions[0].TriggerWorkflow.Recipients = "['after']"
	h.server.SetSnapshot(config.Build(h.in))
	h.send("stripe-test", []byte(strings.Replace(stripe.body, "evt_1", "evt_2", 1)))
	var got []string
	for _, m := range h.actions(jetstream.ActionStreamSubject) {
		got = append(got, fmt.Sprint(m.Params["recipients"]))
	}
	if !slices.Equal(got, []string{"[before]", "[after]"}) {
		t.Errorf("recipients = %v", got)
	}
}

// A batch whose idempotency key comes from a header (reverse-ETL's Idempotency-Key)
// publishes every record, and a retry of the batch publishes none again.
func TestBatchWithHeaderKey(t *testing.T) {
	ht := sourceCases["hightouch"]
	h := newHarness(t, fixture("hightouch", ht.spec, ht.secret, trigger("record", "[body.user_id]")))
	body := []byte("{\"user_id\":\"a\"}\n{\"user_id\":\"b\"}\n{\"user_id\":\"c\"}\n")
	header, path := h.sign("hightouch-test", body)
	header.Set("Idempotency-Key", "sync-run-7")
	header.Set("Content-Type", "application/x-ndjson")
	first := h.post(h.http.URL, path, header, body)
	retry := h.post(h.http.URL, path, header, body)
	if first.Status != 200 || first.Events != 3 || first.Actions != 3 || first.Duplicates != 0 {
		t.Errorf("first delivery = %+v, want 3 events, 3 new actions", first)
	}
	if !retry.Idempotent || retry.Duplicates != 3 {
		t.Errorf("retry = %+v, want all 3 duplicates", retry)
	}
	if got := h.actions(jetstream.ActionStreamSubject); len(got) != 3 {
		t.Errorf("stored %d actions, want 3", len(got))
	}
}

// PostHog's $identify becomes an identifyUser for the same user the event names.
func TestPostHogIdentifyUsesTheEventsUser(t *testing.T) {
	ph := sourceCases["posthog"]
	in := fixture("posthog", ph.spec, "", trigger("$pageview", "[event.user_id]"))
	in.SourceEnvironments[0].Spec.IdentifyUsers = true
	h := newHarness(t, in)
	a := h.send("posthog-test", []byte(`{"event":"$identify","messageId":"m9","distinct_id":"d-1","userId":"u-other","properties":{"$set":{"email":"d@example.com"}}}`))
	if a.Status != 200 || a.Actions != 1 {
		t.Fatalf("identify: %+v", a)
	}
	ids := h.actions(jetstream.ActionSubject("production", "identifyUser"))
	if len(ids) != 1 || ids[0].Params["id"] != ids[0].Event.UserID || ids[0].Event.UserID != "d-1" {
		t.Errorf("identifyUser id %v for an event about %q", ids[0].Params["id"], ids[0].Event.UserID)
	}
}

// /metrics is served by its own handler, on its own port, and counts what the event
// port answered; the event port itself does not serve it.
func TestMetricsAreServedApartFromEvents(t *testing.T) {
	stripe := sourceCases["stripe"]
	h := newHarness(t, fixture("stripe", stripe.spec, stripe.secret, trigger(stripe.eventType, "[body.data.object.customer]")))
	if a := h.send("stripe-test", []byte(stripe.body)); a.Status != http.StatusOK {
		t.Fatalf("event: %+v", a)
	}
	h.post(h.http.URL, "/e/default/stripe-test", http.Header{}, []byte(stripe.body)) // unsigned: 401

	if resp, err := http.Get(h.http.URL + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the event port = %v %v, want 404", statusOf(resp), err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, err := http.Get(h.http.URL + path); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s on the event port = %v %v, want 200", path, statusOf(resp), err)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.server.ServeMetrics(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(resp)
	for _, want := range []string{
		`inlet_ingress_requests_total{code="200",namespace="default",result="accepted",source_environment="stripe-test"} 1`,
		`inlet_ingress_requests_total{code="401",namespace="default",result="unauthorized",source_environment="stripe-test"} 1`,
		`inlet_ingress_actions_total{action="triggerWorkflow",namespace="default",source_environment="stripe-test",status="published"} 1`,
	} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /metrics on the metrics port = %d, does not hold %s:\n%s", resp.StatusCode, want, body)
		}
	}
	if resp, err := http.Post("http://"+ln.Addr().String()+"/e/default/stripe-test", "application/json", strings.NewReader(stripe.body)); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST an event to the metrics port = %v %v, want 404", statusOf(resp), err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("ServeMetrics after its context ended: %v", err)
	}
}

func statusOf(resp *http.Response) string {
	if resp == nil {
		return "no answer"
	}
	defer resp.Body.Close()
	return resp.Status
}
