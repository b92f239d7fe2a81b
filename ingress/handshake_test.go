package ingress_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/config"
	"inlet.dev/inlet/ingress/jetstream"
	"inlet.dev/inlet/ingress/provider"
)

// handshakeAnswer is what a sender sees of an answer to its handshake.
type handshakeAnswer struct {
	status int
	header http.Header
	body   string
}

func (h *harness) request(method, path string, header http.Header, body []byte) handshakeAnswer {
	h.t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return handshakeAnswer{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// storedNothing checks that nothing of a SourceEnvironment reached NATS: no action and
// no event log record.
func (h *harness) storedNothing(sourceEnvironment string) {
	h.t.Helper()
	for _, a := range h.actions(jetstream.ActionFilter("production")) {
		if a.Source.SourceEnvironment == sourceEnvironment {
			h.t.Errorf("an action was published for %s: %+v", sourceEnvironment, a)
		}
	}
	time.Sleep(100 * time.Millisecond) // the event log is written in the background
	if msgs := h.messages(v1alpha1.DefaultLogStream, jetstream.EventLogSubjectPrefix+"."+ns+"."+sourceEnvironment+".*"); len(msgs) > 0 {
		h.t.Errorf("the event log holds %d records for %s, want none", len(msgs), sourceEnvironment)
	}
}

// withVariable adds a SourceEnvironment variable read from a Secret.
func withVariable(in config.Inputs, name, value string) config.Inputs {
	secret := in.SourceEnvironments[0].Name + "-" + strings.ToLower(name)
	in.Secrets = append(in.Secrets, corev1.Secret{ObjectMeta: meta(secret), Data: map[string][]byte{"value": []byte(value)}})
	in.SourceEnvironments[0].Spec.Variables = append(in.SourceEnvironments[0].Spec.Variables, v1alpha1.Variable{
		Name: name, SecretKeyRef: &v1alpha1.SecretKeyReference{Name: secret, Key: "value"},
	})
	return in
}

// A WhatsApp (Meta) app's callback URL check: a GET with the verify token entered in
// Meta's dashboard gets the challenge back, a wrong token gets 401 and nothing echoed,
// and the endpoint still takes signed events.
func TestMetaVerificationRequest(t *testing.T) {
	const appSecret, verifyToken = "meta-app-secret", "my-verify-token-8f2c"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationGitHub}, // X-Hub-Signature-256 with the app secret
		EventType:    "body.object + '.' + body.entry[0].changes[0].field",
		Handshake: &v1alpha1.Handshake{Type: v1alpha1.HandshakeMeta,
			Meta: &v1alpha1.MetaHandshake{VerifyTokenVariable: "metaVerifyToken"}},
	}}
	h := newHarness(t, withVariable(fixture("whatsapp", spec, appSecret, trigger("whatsapp_business_account.messages", "['u']")),
		"metaVerifyToken", verifyToken))
	path := "/e/" + ns + "/whatsapp-test"
	query := func(token string) string {
		return "?" + url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}, "hub.challenge": {"1158201444"}}.Encode()
	}

	a := h.request(http.MethodGet, path+query(verifyToken), nil, nil)
	if a.status != http.StatusOK || a.body != "1158201444" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("right verify token: %d %q (%s), want 200 with the challenge as text/plain", a.status, a.body, a.header.Get("Content-Type"))
	}
	if a.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", a.header.Get("X-Content-Type-Options"))
	}
	h.storedNothing("whatsapp-test")

	for name, q := range map[string]string{
		"wrong token":   query("not-the-token"),
		"no token":      "?hub.mode=subscribe&hub.challenge=1158201444",
		"token's start": query(verifyToken[:5]),
	} {
		a := h.request(http.MethodGet, path+q, nil, nil)
		if a.status != http.StatusUnauthorized || strings.Contains(a.body, "1158201444") {
			t.Errorf("%s: %d %q, want 401 that echoes nothing", name, a.status, a.body)
		}
	}
	if a := h.request(http.MethodGet, path, nil, nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET without hub.mode: %d, want 405", a.status)
	}

	event := []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages"}]}]}`)
	if ans := h.send("whatsapp-test", event); ans.Status != http.StatusOK || ans.Actions != 1 {
		t.Fatalf("signed event after the handshake: %+v, want 200 with 1 action", ans)
	}
}

// zoomSecret and the token and answer are an independent vector (Elastic Beats' tests
// of its http_endpoint input), checked against `openssl dgst -sha256 -hmac`; the token
// is the one in Zoom's own example.
const (
	zoomSecret         = "secretValueTest"
	zoomPlainToken     = "qgg8vlvZRS6UYooatFL8Aw"
	zoomEncryptedToken = "70c1f2e2e6ca2d39297490d1f9142c7d701415ea8e6151f6562a08fa657a40ff"
)

// zoomSpec is an http Source for Zoom: events verified in CEL (Zoom's "v0:{ts}:{body}"
// signature), and its endpoint validation answered.
func zoomSpec() v1alpha1.SourceSpec {
	return v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationCEL, CEL: &v1alpha1.CELVerification{
			Expression: `secureCompare(headers['x-zm-signature'], 'v0=' + hex.encode(hmac.sha256(vars.signingSecret,` +
				` b'v0:' + bytes(headers['x-zm-request-timestamp']) + b':' + rawBody)))`,
		}},
		EventType:      "body.event",
		IdempotencyKey: "body.event + ':' + string(body.event_ts)",
		Handshake:      &v1alpha1.Handshake{Type: v1alpha1.HandshakeZoom},
	}}
}

func zoomHeaders(secret string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-zm-request-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("x-zm-signature", provider.ZoomSignature(secret, ts, body))
	return h
}

// Zoom's endpoint validation is answered with the encryptedToken Zoom computes, only
// when Zoom's signature checks out.
func TestZoomEndpointValidation(t *testing.T) {
	h := newHarness(t, fixture("zoom", zoomSpec(), zoomSecret, trigger("meeting.started", "[body.payload.object.host_id]")))
	path := "/e/" + ns + "/zoom-test"
	body := []byte(`{"payload":{"plainToken":"` + zoomPlainToken + `"},"event_ts":1654503849680,"event":"endpoint.url_validation"}`)

	a := h.request(http.MethodPost, path, zoomHeaders(zoomSecret, time.Now(), body), body)
	var got map[string]string
	if err := json.Unmarshal([]byte(a.body), &got); a.status != http.StatusOK || err != nil {
		t.Fatalf("validation: %d %q, want 200 with JSON", a.status, a.body)
	}
	if got["plainToken"] != zoomPlainToken || got["encryptedToken"] != zoomEncryptedToken || len(got) != 2 {
		t.Errorf("answer = %v, want plainToken %s and encryptedToken %s", got, zoomPlainToken, zoomEncryptedToken)
	}
	h.storedNothing("zoom-test")

	for name, header := range map[string]http.Header{
		"wrong secret":   zoomHeaders("not-the-secret", time.Now(), body),
		"stale":          zoomHeaders(zoomSecret, time.Now().Add(-10*time.Minute), body),
		"unsigned":       {"Content-Type": {"application/json"}},
		"other body sig": zoomHeaders(zoomSecret, time.Now(), []byte(`{}`)),
	} {
		a := h.request(http.MethodPost, path, header, body)
		if a.status != http.StatusUnauthorized || strings.Contains(a.body, "encryptedToken") {
			t.Errorf("%s: %d %q, want 401 without an encryptedToken", name, a.status, a.body)
		}
	}

	event := []byte(`{"event":"meeting.started","event_ts":1654503849681,"payload":{"object":{"host_id":"h_1"}}}`)
	a = h.request(http.MethodPost, path, zoomHeaders(zoomSecret, time.Now(), event), event)
	if a.status != http.StatusOK || !strings.Contains(a.body, `"actions":1`) {
		t.Fatalf("signed event: %d %s, want 200 with 1 action", a.status, a.body)
	}
}

// Microsoft Graph's subscription validation is echoed as text/plain, HTML-safe, on the
// endpoint with its token only.
func TestMicrosoftGraphValidation(t *testing.T) {
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationNone}, // the endpoint token
		EventType:    "body.value[0].changeType",
		Handshake:    &v1alpha1.Handshake{Type: v1alpha1.HandshakeMicrosoftGraph},
	}}
	h := newHarness(t, fixture("graph", spec, ""))
	path := "/e/" + ns + "/graph-test/" + testToken
	token := "Validation: Testing client application reachability for subscription Request-Id: 3b3f9821-ce3f-4d5c-9d1f-1ab1b4ae5b18"
	text := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}

	a := h.request(http.MethodPost, path+"?"+url.Values{"validationToken": {token}}.Encode(), text, nil)
	if a.status != http.StatusOK || a.body != token || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("validation: %d %q (%s), want 200 echoing the token as text/plain", a.status, a.body, a.header.Get("Content-Type"))
	}
	h.storedNothing("graph-test")

	a = h.request(http.MethodPost, path+"?validationToken="+url.QueryEscape(`<script>alert(1)</script>`), text, nil)
	if a.status != http.StatusOK || strings.Contains(a.body, "<") || a.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("markup in the token: %d %q, want it escaped, with nosniff", a.status, a.body)
	}
	if a := h.request(http.MethodPost, "/e/"+ns+"/graph-test/wrong-token-0123456789abcdef?validationToken=x", text, nil); a.status != http.StatusUnauthorized {
		t.Errorf("wrong endpoint token: %d, want 401", a.status)
	}
	if a := h.request(http.MethodPost, path+"?validationToken=", text, nil); a.status != http.StatusBadRequest {
		t.Errorf("empty token: %d, want 400", a.status)
	}
}

// Okta's one-time verification is answered only with the hook's authorization secret.
func TestOktaVerificationChallenge(t *testing.T) {
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationHeaderToken,
			HeaderToken: &v1alpha1.HeaderTokenVerification{Header: "Authorization"}},
		EventType: "body.data.events[0].eventType",
		Handshake: &v1alpha1.Handshake{Type: v1alpha1.HandshakeOkta},
	}}
	h := newHarness(t, fixture("okta", spec, "my-shared-secret"))
	path := "/e/" + ns + "/okta-test/" + testToken
	const challenge = "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg" // Okta's example

	a := h.request(http.MethodGet, path, http.Header{
		"X-Okta-Verification-Challenge": {challenge}, "Authorization": {"my-shared-secret"}, "Accept": {"application/json"},
	}, nil)
	if a.status != http.StatusOK || a.body != `{"verification":"`+challenge+`"}` {
		t.Fatalf("verification: %d %q, want 200 {\"verification\": ...}", a.status, a.body)
	}
	h.storedNothing("okta-test")

	for name, header := range map[string]http.Header{
		"wrong secret": {"X-Okta-Verification-Challenge": {challenge}, "Authorization": {"guess"}},
		"no secret":    {"X-Okta-Verification-Challenge": {challenge}},
	} {
		if a := h.request(http.MethodGet, path, header, nil); a.status != http.StatusUnauthorized || strings.Contains(a.body, challenge) {
			t.Errorf("%s: %d %q, want 401 that echoes nothing", name, a.status, a.body)
		}
	}
}

// A handshake written in CEL: Twitter's (X's) CRC check, whose answer proves the consumer
// secret, for a sender whose GET carries no signature.
func TestCELHandshake(t *testing.T) {
	const consumerSecret = "x-consumer-secret"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationHMAC, HMAC: &v1alpha1.HMACVerification{
			Header: "X-Twitter-Webhooks-Signature", Prefix: "sha256=", Encoding: v1alpha1.EncodingBase64,
			Algorithm: v1alpha1.HMACSHA256, SignedContent: v1alpha1.SignedBody,
		}},
		EventType: "'x.event'",
		Handshake: &v1alpha1.Handshake{Type: v1alpha1.HandshakeCEL, CEL: &v1alpha1.CELHandshake{
			Match:        "method == 'GET' && 'crc_token' in query",
			Verification: v1alpha1.HandshakeVerifyNone,
			Body:         "{'response_token': 'sha256=' + base64.encode(hmac.sha256(vars.consumerSecret, query.crc_token))}",
			Headers:      map[string]v1alpha1.Expression{"X-Handshake": "'crc'"},
		}},
	}}
	h := newHarness(t, withVariable(fixture("x", spec, consumerSecret), "consumerSecret", consumerSecret))
	path := "/e/" + ns + "/x-test"

	a := h.request(http.MethodGet, path+"?crc_token=abc123", nil, nil)
	mac := hmac.New(sha256.New, []byte(consumerSecret))
	mac.Write([]byte("abc123"))
	want := `{"response_token":"sha256=` + base64.StdEncoding.EncodeToString(mac.Sum(nil)) + `"}`
	if a.status != http.StatusOK || a.body != want || a.header.Get("Content-Type") != "application/json" || a.header.Get("X-Handshake") != "crc" {
		t.Fatalf("CRC: %d %q %v, want 200 %s", a.status, a.body, a.header, want)
	}
	h.storedNothing("x-test")
	if a := h.request(http.MethodGet, path+"?other=1", nil, nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET the match refuses: %d, want 405", a.status)
	}
	if a := h.request(http.MethodPut, path+"?crc_token=abc123", nil, nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d, want 405", a.status)
	}
	if ans := h.send("x-test", []byte(`{"for_user_id":"1"}`)); ans.Status != http.StatusOK {
		t.Errorf("signed event: %+v, want 200", ans)
	}
}

// Handshakes are rate limited as events are, and counted in a metric by type and result.
func TestHandshakesAreRateLimitedAndCounted(t *testing.T) {
	in := withVariable(fixture("meta", v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeHTTP, HTTP: &v1alpha1.HTTPSource{
		Verification: v1alpha1.Verification{Type: v1alpha1.VerificationGitHub},
		Handshake: &v1alpha1.Handshake{Type: v1alpha1.HandshakeMeta,
			Meta: &v1alpha1.MetaHandshake{VerifyTokenVariable: "verifyToken"}},
	}}, "app-secret"), "verifyToken", "vt")
	burst := int32(2)
	in.SourceEnvironments[0].Spec.Ingress.RateLimit = &v1alpha1.RateLimitSpec{RequestsPerSecond: 1, Burst: &burst}
	h := newHarness(t, in)
	path := "/e/" + ns + "/meta-test?hub.mode=subscribe&hub.challenge=42&hub.verify_token="

	if a := h.request(http.MethodGet, path+"vt", nil, nil); a.status != http.StatusOK {
		t.Fatalf("first: %d, want 200", a.status)
	}
	if a := h.request(http.MethodGet, path+"wrong", nil, nil); a.status != http.StatusUnauthorized {
		t.Fatalf("second: %d, want 401", a.status)
	}
	if a := h.request(http.MethodGet, path+"vt", nil, nil); a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("past the burst: %d, want 429 with Retry-After", a.status)
	}

	metrics := httptestServer(t, h.server.MetricsHandler())
	resp, err := http.Get(metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text := readAll(resp)
	for _, want := range []string{
		`inlet_ingress_handshakes_total{namespace="default",result="answered",source_environment="meta-test",type="meta"} 1`,
		`inlet_ingress_handshakes_total{namespace="default",result="refused",source_environment="meta-test",type="meta"} 1`,
		`inlet_ingress_requests_total{code="200",namespace="default",result="handshake",source_environment="meta-test"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A Slack app's Request URL check (url_verification, Slack's own example) succeeds only
// with the app's signing secret, creates no event, and leaves events to the data path.
func TestSlackURLVerification(t *testing.T) {
	const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	spec := v1alpha1.SourceSpec{Type: v1alpha1.SourceTypeSlack}
	h := newHarness(t, fixture("slack", spec, signingSecret, trigger("app_mention", "[event.user_id]")))
	body := []byte(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	signed := func(secret string, at time.Time) http.Header {
		header, err := provider.Sign(&spec, secret, at, body)
		if err != nil {
			t.Fatal(err)
		}
		return header
	}
	path := "/e/" + ns + "/slack-test"

	a := h.request(http.MethodPost, path, signed(signingSecret, time.Now()), body)
	if a.status != http.StatusOK || a.body != `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}` {
		t.Fatalf("URL check with the signing secret: %d %q, want 200 with the challenge", a.status, a.body)
	}
	h.storedNothing("slack-test")

	for name, header := range map[string]http.Header{
		"another app's secret": signed("0000000000000000000000000000000a", time.Now()),
		"replayed an hour on":  signed(signingSecret, time.Now().Add(-time.Hour)),
		"unsigned":             {"Content-Type": {"application/json"}},
	} {
		a := h.request(http.MethodPost, path, header, body)
		if a.status != http.StatusUnauthorized || strings.Contains(a.body, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
			t.Errorf("%s: %d %q, want 401 without the challenge", name, a.status, a.body)
		}
	}
	if a := h.request(http.MethodGet, path, nil, nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405: Slack's handshake is a POST", a.status)
	}

	event := []byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","text":"url_verification"}}`)
	if ans := h.send("slack-test", event); ans.Status != http.StatusOK || ans.Actions != 1 {
		t.Errorf("an event after the check: %+v, want 200 with 1 action", ans)
	}
}
