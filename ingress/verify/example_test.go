package verify_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"inlet.dev/inlet/ingress/verify"
)

// A handler verifies the raw body before parsing it and answers every
// failure with 401, recording only the machine reason.
func Example() {
	v, err := verify.Stripe([]string{"whsec_test_secret"}, 0)
	if err != nil {
		log.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		r := &verify.Request{Header: req.Header, Query: req.URL.Query(), Body: body}
		if err := v.Verify(r, time.Unix(1700000000, 0)); err != nil { // time.Now() in production
			fmt.Println("rejected:", verify.Reason(err))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Println("verified")
	})

	body := `{"id":"evt_test_webhook","object":"event","type":"customer.created"}`
	for _, sig := range []string{
		"t=1700000000,v1=8bf06157161fb2abf0ea74bbdecb0380b17813d21157ecfb459a2de2b8d1b3a7",
		"t=1700000000,v1=0000000000000000000000000000000000000000000000000000000000000000",
		"t=1699990000,v1=8bf06157161fb2abf0ea74bbdecb0380b17813d21157ecfb459a2de2b8d1b3a7",
		"",
	} {
		req := httptest.NewRequest(http.MethodPost, "/hooks/stripe", strings.NewReader(body))
		if sig != "" {
			req.Header.Set("Stripe-Signature", sig)
		}
		handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	// Output:
	// verified
	// rejected: mismatch
	// rejected: stale_timestamp
	// rejected: missing_signature
}

// An endpoint for a sender that signs nothing: the unguessable endpoint token
// in the query plus a header token, both required.
func ExampleAll() {
	endpoint, err := verify.QueryToken("token", []string{"k3J9x0Qm2Lr8Vt5Y"})
	if err != nil {
		log.Fatal(err)
	}
	header, err := verify.HeaderToken("X-Webhook-Secret", []string{"s8Fh2Kd9Wq1Zp4Nb"})
	if err != nil {
		log.Fatal(err)
	}
	v := verify.All(endpoint, header)

	req := httptest.NewRequest(http.MethodPost, "/hooks/supabase?token=k3J9x0Qm2Lr8Vt5Y", nil)
	r := &verify.Request{Header: req.Header, Query: req.URL.Query()}
	fmt.Println(verify.Reason(v.Verify(r, time.Now())))
	req.Header.Set("X-Webhook-Secret", "s8Fh2Kd9Wq1Zp4Nb")
	fmt.Println(verify.Reason(v.Verify(r, time.Now())))
	// Output:
	// missing_signature
	// ok
}

// A custom sender that signs "{timestamp}.{body}" with HMAC-SHA512, base64,
// and sends the timestamp in milliseconds.
func ExampleHMAC() {
	v, err := verify.HMAC(verify.HMACConfig{
		Header:          "X-Acme-Signature",
		Algorithm:       verify.AlgorithmSHA512,
		Encoding:        verify.EncodingBase64,
		SignedContent:   verify.SignedContentTimestampBody,
		TimestampHeader: "X-Acme-Timestamp",
		TimestampUnit:   verify.TimestampUnitMilliseconds,
		Tolerance:       2 * time.Minute,
	}, []string{"current-secret", "previous-secret"})
	fmt.Println(v != nil, err)

	_, err = verify.HMAC(verify.HMACConfig{Header: "X-Acme-Signature", TimestampHeader: "X-Acme-Timestamp"}, []string{"s"})
	fmt.Println(verify.Reason(err))
	// Output:
	// true <nil>
	// invalid_config
}
