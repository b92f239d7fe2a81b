package metricsauth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeReviews answers TokenReviews (the token "good" and "denied" are users) and
// SubjectAccessReviews (only "good" may get /metrics), counting the calls.
func fakeReviews(calls *int) *fake.Clientset {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		*calls++
		tr := a.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview)
		switch tr.Spec.Token {
		case "good", "denied":
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: tr.Spec.Token}}
		}
		return true, tr, nil
	})
	cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		*calls++
		sar := a.(k8stesting.CreateAction).GetObject().(*authzv1.SubjectAccessReview)
		attrs := sar.Spec.NonResourceAttributes
		sar.Status.Allowed = sar.Spec.User == "good" && attrs != nil && attrs.Path == "/metrics" && attrs.Verb == "get"
		return true, sar, nil
	})
	return cs
}

func TestMetricsAuthorizer(t *testing.T) {
	tests := map[string]struct {
		header string
		path   string
		want   int
	}{
		"no token":            {"", "/metrics", http.StatusUnauthorized},
		"not a bearer token":  {"Basic Zm9vOmJhcg==", "/metrics", http.StatusUnauthorized},
		"unknown token":       {"Bearer forged", "/metrics", http.StatusUnauthorized},
		"user without access": {"Bearer denied", "/metrics", http.StatusForbidden},
		"user with access":    {"Bearer good", "/metrics", http.StatusOK},
		"another path":        {"Bearer good", "/debug", http.StatusForbidden},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			calls := 0
			cs := fakeReviews(&calls)
			a := newAuthorizer(cs.AuthenticationV1().TokenReviews(), cs.AuthorizationV1().SubjectAccessReviews())
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			for range 2 {
				got, err := a.check(t.Context(), req)
				if err != nil || got != tt.want {
					t.Fatalf("check = %d, %v; want %d", got, err, tt.want)
				}
			}
			if calls > 2 {
				t.Errorf("%d reviews for two identical requests; the second should be cached", calls)
			}
		})
	}
}
