package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"inlet.dev/inlet/api/v1alpha1"
)

// Where inlet send --cluster posts, and what it shows of it: the token only in the URL
// it posts to, never in what it prints.
func TestSendClusterEndpoint(t *testing.T) {
	se := &v1alpha1.SourceEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "segment-production"}}
	tests := map[string]struct {
		url, statusEndpoint, token string
		wantURL, wantShown, hint   string
	}{
		"status endpoint with a token": {
			statusEndpoint: "https://events.example.com/e/shop/segment-production/{token}", token: "t0k",
			wantURL:   "https://events.example.com/e/shop/segment-production/t0k",
			wantShown: "https://events.example.com/e/shop/segment-production/{token}",
		},
		"--url with a token": {
			url: "http://127.0.0.1:8080/", token: "t0k",
			wantURL:   "http://127.0.0.1:8080/e/shop/segment-production/t0k",
			wantShown: "http://127.0.0.1:8080/e/shop/segment-production/{token}",
		},
		"--url, signed source": {
			url:       "http://10.0.0.7:30080",
			wantURL:   "http://10.0.0.7:30080/e/shop/segment-production",
			wantShown: "http://10.0.0.7:30080/e/shop/segment-production",
		},
		"in-cluster Service address": {
			statusEndpoint: "http://segment-production-ingress.shop.svc:8080/e/shop/segment-production",
			wantURL:        "http://segment-production-ingress.shop.svc:8080/e/shop/segment-production",
			wantShown:      "http://segment-production-ingress.shop.svc:8080/e/shop/segment-production",
			hint:           "kubectl port-forward -n shop svc/segment-production-ingress 8080:8080",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := &sendOptions{url: tc.url, urlGiven: tc.url != ""}
			s := se.DeepCopy()
			s.Status.Endpoint = tc.statusEndpoint
			tg := &target{se: s}
			if err := o.endpoint(tg, tc.token); err != nil {
				t.Fatal(err)
			}
			if tg.url != tc.wantURL || tg.shown != tc.wantShown {
				t.Errorf("url, shown = %q, %q; want %q, %q", tg.url, tg.shown, tc.wantURL, tc.wantShown)
			}
			if (tc.hint == "") != (tg.hint == "") || !strings.Contains(tg.hint, tc.hint) {
				t.Errorf("hint = %q, want one holding %q", tg.hint, tc.hint)
			}
		})
	}
}

// A failed request's error names the endpoint without its token.
func TestSendErrorHidesTheToken(t *testing.T) {
	_, err := http.Post("http://127.0.0.1:1/e/shop/segment-production/s3cr3t-t0k", "application/json", nil)
	if err == nil {
		t.Skip("something answers on 127.0.0.1:1")
	}
	if got := withoutURL(err); strings.Contains(got.Error(), "s3cr3t-t0k") || !errors.Is(err, got) {
		t.Errorf("withoutURL(%v) = %v, want the cause without the URL", err, got)
	}
}
