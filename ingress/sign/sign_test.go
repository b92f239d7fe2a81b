package sign_test

import (
	"testing"
	"time"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/sign"
)

// The signers reproduce the providers' published vectors (providers.md section 11).
func TestVectors(t *testing.T) {
	stripeBody := []byte(`{"id":"evt_test_webhook","object":"event","type":"customer.created"}`)
	if got, want := sign.Stripe("whsec_test_secret", time.Unix(1700000000, 0), stripeBody),
		"t=1700000000,v1=8bf06157161fb2abf0ea74bbdecb0380b17813d21157ecfb459a2de2b8d1b3a7"; got != want {
		t.Errorf("Stripe = %s, want %s", got, want)
	}
	svix, err := sign.Svix("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil || svix != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Errorf("Svix = %s, %v", svix, err)
	}
	ed, err := sign.Ed25519("whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil || ed != "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==" {
		t.Errorf("Ed25519 = %s, %v", ed, err)
	}
	if got := sign.WorkOS("secret", time.UnixMilli(1700000000000), []byte(`{"id":"event_01","event":"dsync.user.created","data":{}}`)); got != "t=1700000000000, v1=cf42c6f14592cc9c6a540b0b7f41d06d9bd181c90f25d4b0c81363d631b04b4b" {
		t.Errorf("WorkOS = %s", got)
	}
	seg, _ := sign.HMAC(v1alpha1.HMACSHA1, v1alpha1.EncodingHex, "abc123", []byte(`{"type":"track","event":"user.created","userId":"user-1","messageId":"some-id-from-source","properties":{"id":"user-1"}}`))
	if seg != "4c255099fe3bf3073eca732f8d4ff161091690b7" {
		t.Errorf("Segment = %s", seg)
	}
}
