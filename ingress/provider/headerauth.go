package provider

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/ingress/verify"
)

// authorizationHeader carries the credentials of a Source with headerAuth, and of the
// senders whose scheme is a bearer secret.
const authorizationHeader = "Authorization"

// The header token of the sources that sign nothing (spec.headerAuth), and the token
// schemes an http source shares with it.

// defaultTokenHeader carries the token of headerAuth scheme header when it names none.
const defaultTokenHeader = "X-Webhook-Secret"

// headerAuth builds the verifier of a Source's header token.
func headerAuth(h v1alpha1.HeaderAuth, secrets []string) (verify.Verifier, error) {
	switch h.Scheme {
	case v1alpha1.HeaderAuthBearer:
		return verify.Bearer(secrets)
	case v1alpha1.HeaderAuthBasic:
		creds, err := basicCredentials(secrets)
		if err != nil {
			return nil, err
		}
		return verify.Basic(creds)
	case v1alpha1.HeaderAuthHeader:
		return verify.HeaderToken(cmp.Or(h.Header, defaultTokenHeader), secrets)
	}
	return nil, fmt.Errorf("headerAuth: unknown scheme %q", h.Scheme)
}

// headerAuthHeaders are the headers a header token is read from.
func headerAuthHeaders(h *v1alpha1.HeaderAuth) []string {
	if h == nil {
		return nil
	}
	switch h.Scheme {
	case v1alpha1.HeaderAuthBearer, v1alpha1.HeaderAuthBasic:
		return []string{authorizationHeader}
	case v1alpha1.HeaderAuthHeader:
		return []string{cmp.Or(h.Header, defaultTokenHeader)}
	}
	return nil
}

// signHeaderToken sets the header token of a scheme.
func signHeaderToken(h http.Header, scheme v1alpha1.HeaderAuthScheme, header, secret string) {
	switch scheme {
	case v1alpha1.HeaderAuthBearer:
		h.Set(authorizationHeader, "Bearer "+secret)
	case v1alpha1.HeaderAuthBasic:
		h.Set(authorizationHeader, "Basic "+base64.StdEncoding.EncodeToString([]byte(secret)))
	case v1alpha1.HeaderAuthHeader:
		h.Set(cmp.Or(header, defaultTokenHeader), secret)
	}
}

// basicCredentials splits "user:password" secrets.
func basicCredentials(secrets []string) ([]verify.Credential, error) {
	creds := make([]verify.Credential, 0, len(secrets))
	for i, s := range secrets {
		user, password, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("signingSecretRefs[%d]: basic auth secrets are written user:password", i)
		}
		creds = append(creds, verify.Credential{Username: user, Password: password})
	}
	return creds, nil
}
