package sign_test

import (
	"testing"

	"inlet.dev/inlet/ingress/sign"
)

// Twilio's published example (security docs; twilio-php RequestValidatorTest).
func TestTwilio(t *testing.T) {
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	for body, want := range map[string]string{
		"Digits=1234&To=%2B18005551212&From=%2B14158675309&Caller=%2B14158675309&CallSid=CA1234567890ABCDE": "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
		"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234":                                    "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
	} {
		if got, err := sign.Twilio("12345", u, []byte(body)); err != nil || got != want {
			t.Errorf("Twilio(%s) = %s, %v; want %s", body, got, err, want)
		}
	}
	if _, err := sign.Twilio("12345", u, []byte(`{"a":1}`)); err == nil {
		t.Error("a JSON body signs")
	}
}
