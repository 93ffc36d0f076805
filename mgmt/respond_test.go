package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/store"
)

// downStore refuses every change, as a store whose disk or etcd is gone.
type downStore struct{}

func (downStore) Set(context.Context, string, *actions.Rule, store.Cond) (uint64, error) {
	return 0, fmt.Errorf("%w: etcd did not answer", store.ErrUnavailable)
}
func (downStore) Delete(context.Context, string, store.Cond) (bool, uint64, error) {
	return false, 0, fmt.Errorf("%w: etcd did not answer", store.ErrUnavailable)
}
func (downStore) Replace(context.Context, *hostmap.Builder) (uint64, error) {
	return 0, fmt.Errorf("%w: etcd did not answer", store.ErrUnavailable)
}

func TestStoreUnavailableIs503(t *testing.T) {
	s := NewServer(hostmap.New(1), downStore{}, ServerOptions{})
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPut, "/hostname/ep.io/", `["empty",{"code":200},false]`},
		{http.MethodDelete, "/hostname/ep.io/", ""},
		{http.MethodPut, "/hostname/", `{"ep.io":["empty",{"code":200},false]}`},
	} {
		t.Run(c.method+c.path, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "http://localhost"+c.path, strings.NewReader(c.body))
			w := httptest.NewRecorder()
			s.serveHTTP(w, req)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code, "body %s", w.Body)
			assert.Contains(t, w.Body.String(), `"store_unavailable"`)
		})
	}
}
