package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"inlet.dev/inlet/api/v1alpha1"
	"inlet.dev/inlet/controllers"
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
			a := &metricsAuthorizer{tokens: cs.AuthenticationV1().TokenReviews(), access: cs.AuthorizationV1().SubjectAccessReviews(), cache: map[string]decision{}}
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

func TestStreamFlags(t *testing.T) {
	ok := streamFlags{replicas: 1, storage: "File", logMaxBytes: "1Gi"}
	tests := map[string]struct {
		flags   func(f *streamFlags)
		want    controllers.StreamDefaults
		wantErr string
	}{
		"defaults": {flags: func(*streamFlags) {}, want: controllers.StreamDefaults{Replicas: 1, Storage: v1alpha1.StreamStorageFile, LogMaxBytes: 1 << 30}},
		"cluster": {
			flags: func(f *streamFlags) {
				f.replicas, f.storage, f.placementCluster, f.placementTags, f.logMaxBytes = 3, "memory", "east", []string{"ssd"}, "512Mi"
			},
			want: controllers.StreamDefaults{Replicas: 3, Storage: v1alpha1.StreamStorageMemory,
				Placement: &v1alpha1.StreamPlacement{Cluster: "east", Tags: []string{"ssd"}}, LogMaxBytes: 512 << 20},
		},
		"no replicas":     {flags: func(f *streamFlags) { f.replicas = 0 }, wantErr: "--stream-replicas"},
		"too many":        {flags: func(f *streamFlags) { f.replicas = 7 }, wantErr: "--stream-replicas"},
		"unknown storage": {flags: func(f *streamFlags) { f.storage = "disk" }, wantErr: "--stream-storage"},
		"bad size":        {flags: func(f *streamFlags) { f.logMaxBytes = "lots" }, wantErr: "--log-stream-max-bytes"},
		"zero size":       {flags: func(f *streamFlags) { f.logMaxBytes = "0" }, wantErr: "--log-stream-max-bytes"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f := ok
			tt.flags(&f)
			got, err := f.defaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("defaults() error = %v, want one about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("defaults() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
