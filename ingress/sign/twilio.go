package sign

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // Twilio signs with HMAC-SHA1.
	"encoding/base64"
	"errors"
	"maps"
	"net/url"
	"slices"
)

// Twilio returns the X-Twilio-Signature of a form body posted to publicURL: the base64
// HMAC-SHA1, keyed with the auth token, of the URL followed by the form's parameters
// sorted by name, each name then its value (every distinct value of a repeated name,
// sorted). Twilio signs a JSON body through a bodySHA256 query parameter instead, which
// a sender of its own would have to add to the URL: that is refused here.
func Twilio(authToken, publicURL string, body []byte) (string, error) {
	if t := bytes.TrimSpace(body); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return "", errors.New("twilio signs a JSON body with a bodySHA256 query parameter; send a form (name=value&...) instead")
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return "", err
	}
	content := []byte(publicURL)
	for _, name := range slices.Sorted(maps.Keys(params)) {
		vs := slices.Clone(params[name])
		slices.Sort(vs)
		for _, v := range slices.Compact(vs) {
			content = append(content, name...)
			content = append(content, v...)
		}
	}
	return base64.StdEncoding.EncodeToString(mac(sha1.New, []byte(authToken), content)), nil
}
