package ingress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"inlet.dev/inlet/ingress"
)

// An instance about to stop tells every sender to close its connection, so that no
// sender reuses a keep-alive connection that the shutdown would close under its next
// request; before that, connections are kept alive.
func TestCloseKeepAlivesTellsSendersToReconnect(t *testing.T) {
	s := ingress.NewServer(ingress.Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func() *http.Response {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// resp.Close is the client's reading of "Connection: close".
	if resp := get(); resp.Close {
		t.Fatal("a serving instance closes connections")
	}
	s.CloseKeepAlives()
	if resp := get(); !resp.Close {
		t.Error("after CloseKeepAlives the answer keeps the connection alive")
	}
}
