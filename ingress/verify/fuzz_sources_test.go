package verify

import (
	"crypto/sha1"
	"crypto/sha256"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func FuzzSlackHeader(f *testing.F) {
	f.Add(slackSig, "1531420618", []byte(slackBody), "other")
	f.Add("v0=", "1531420618", []byte(""), "")
	f.Add("v0="+strings.Repeat("0", 64), "01531420618", []byte("{}"), "x")
	v := must(Slack([]string{slackSecret}, 0))
	now := unix(slackTS)
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte, other string) {
		h := http.Header{"X-Slack-Signature": {sig}, "X-Slack-Request-Timestamp": {ts}}
		err := v.Verify(&Request{Header: h, Body: body}, now)
		if err == nil && !strings.EqualFold(strings.TrimSpace(sig), "v0="+hexMAC(sha256.New, slackSecret, "v0:"+strings.TrimSpace(ts)+":"+string(body))) {
			t.Fatalf("accepted a header without the genuine signature: %q %q", sig, ts)
		}
		_ = Reason(err)
		genuine := http.Header{"X-Slack-Signature": {"v0=" + hexMAC(sha256.New, slackSecret, "v0:1531420618:"+string(body))}, "X-Slack-Request-Timestamp": {"1531420618"}}
		if err := v.Verify(&Request{Header: genuine, Body: body}, now); err != nil {
			t.Fatalf("rejected a genuine signature: %v", err)
		}
		if differentKey(other, slackSecret) {
			forged := http.Header{"X-Slack-Signature": {"v0=" + hexMAC(sha256.New, other, "v0:1531420618:"+string(body))}, "X-Slack-Request-Timestamp": {"1531420618"}}
			if v.Verify(&Request{Header: forged, Body: body}, now) == nil {
				t.Fatal("accepted a signature made with another secret")
			}
		}
	})
}

// twilioOracle computes Twilio's signature independently, with net/url.
func twilioOracle(secret, u string, body []byte) (string, bool) {
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return "", false
	}
	content := u
	for _, k := range slices.Sorted(maps.Keys(params)) {
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		for _, v := range slices.Compact(vs) {
			content += k + v
		}
	}
	return b64MAC(sha1.New, secret, content), true
}

func FuzzTwilio(f *testing.F) {
	f.Add(twilioSig, []byte(twilioForm), "54321")
	f.Add(twilioDupSig, []byte("Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234"), "x")
	f.Add("", []byte("a=%G1&&b"), "")
	v := must(Twilio(twilioURL, []string{twilioToken}))
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	f.Fuzz(func(t *testing.T, sig string, body []byte, other string) {
		h := form.Clone()
		h.Set("X-Twilio-Signature", sig)
		err := v.Verify(&Request{Header: h, Body: body}, unix(0))
		want, parsed := twilioOracle(twilioToken, twilioURL, body)
		if err == nil && parsed && strings.TrimSpace(sig) != want {
			t.Fatalf("accepted a signature that is not the genuine one: %q", sig)
		}
		_ = Reason(err)
		if !parsed || strings.Contains(string(body), ";") {
			return // net/url refuses what Twilio would not send
		}
		h.Set("X-Twilio-Signature", want)
		if err := v.Verify(&Request{Header: h, Body: body}, unix(0)); err != nil {
			t.Fatalf("rejected the genuine signature: %v", err)
		}
		if differentKey(other, twilioToken) {
			forged, _ := twilioOracle(other, twilioURL, body)
			h.Set("X-Twilio-Signature", forged)
			if v.Verify(&Request{Header: h, Body: body}, unix(0)) == nil {
				t.Fatal("accepted a signature made with another auth token")
			}
		}
	})
}
