// Package metricsauth guards the operator's metrics endpoint as controller-runtime's
// filters.WithAuthenticationAndAuthorization does, without bringing
// k8s.io/apiserver's authentication stack (gRPC, OpenTelemetry) into the binary: a
// request is served only when the API server authenticates its bearer token
// (TokenReview) and authorizes its user for the request's verb on its path
// (SubjectAccessReview). Decisions are cached for a short while.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Cache lifetimes of metrics authorization decisions, as controller-runtime's filter.
const (
	metricsAllowTTL = time.Minute
	metricsDenyTTL  = 30 * time.Second
	// metricsCacheSize bounds the decisions kept; the cache starts over past it.
	metricsCacheSize = 1024
)

// Filter is the operator's metrics server filter, a metricsserver.FilterProvider: it
// answers 401 to a request without a bearer token the API server authenticates, 403
// to one whose user may not use the request's verb on its path, and 500 when the API
// server cannot be asked. The operator needs create on tokenreviews and
// subjectaccessreviews; a scraper needs get on the /metrics non-resource URL.
func Filter(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	a := newAuthorizer(authn.TokenReviews(), authz.SubjectAccessReviews())
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			code, err := a.check(r.Context(), r)
			if err != nil {
				log.Error(err, "authorize metrics request")
			}
			if code != http.StatusOK {
				http.Error(w, http.StatusText(code), code)
				return
			}
			next.ServeHTTP(w, r)
		}), nil
	}, nil
}

// authorizer answers whether a request may read the metrics, caching the API
// server's decisions.
type authorizer struct {
	tokens authnclient.TokenReviewInterface
	access authzclient.SubjectAccessReviewInterface

	mu    sync.Mutex
	cache map[string]decision
}

func newAuthorizer(tokens authnclient.TokenReviewInterface, access authzclient.SubjectAccessReviewInterface) *authorizer {
	return &authorizer{tokens: tokens, access: access, cache: map[string]decision{}}
}

// decision is a cached answer: the HTTP status to give, until when.
type decision struct {
	code    int
	expires time.Time
}

// check returns 200 for an authorized request, 401 or 403 otherwise, and 500 with the
// error when the API server could not be asked.
func (a *authorizer) check(ctx context.Context, r *http.Request) (int, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return http.StatusUnauthorized, nil
	}
	verb := strings.ToLower(r.Method)
	sum := sha256.Sum256([]byte(token))
	key := hex.EncodeToString(sum[:]) + " " + verb + " " + r.URL.Path
	now := time.Now()
	a.mu.Lock()
	d, found := a.cache[key]
	a.mu.Unlock()
	if found && now.Before(d.expires) {
		return d.code, nil
	}
	code, err := a.review(ctx, strings.TrimSpace(token), verb, r.URL.Path)
	if err != nil {
		return http.StatusInternalServerError, err
	}
	ttl := metricsDenyTTL
	if code == http.StatusOK {
		ttl = metricsAllowTTL
	}
	a.mu.Lock()
	if len(a.cache) >= metricsCacheSize {
		clear(a.cache)
	}
	a.cache[key] = decision{code: code, expires: now.Add(ttl)}
	a.mu.Unlock()
	return code, nil
}

// review asks the API server who the token's user is and whether they may verb path.
func (a *authorizer) review(ctx context.Context, token, verb, path string) (int, error) {
	tr, err := a.tokens.Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	if !tr.Status.Authenticated {
		return http.StatusUnauthorized, nil
	}
	u := tr.Status.User
	extra := make(map[string]authzv1.ExtraValue, len(u.Extra))
	for k, v := range u.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := a.access.Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	if !sar.Status.Allowed {
		return http.StatusForbidden, nil
	}
	return http.StatusOK, nil
}
